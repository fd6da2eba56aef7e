"""Intake's value objects; the non-personal ones are public (shared/contracts/intake.py).

``PersonalDetails`` is the only place personal data lives: the store
seals it with the client's own key (crypto-shredding); everything else stays readable for
statistics after an erasure."""

from __future__ import annotations

from datetime import date

from shared.contracts.clients import (
    ClientFacts,
    Contact,
    Eligibility,
    PermitType,
    PersonalDetails,
    ResidencePermit,
    Sex,
)


def age_group(birth_date: date | None, on: date) -> str | None:
    """A statistic that survives erasure (compensation differs under 7)."""
    if birth_date is None:
        return None
    years = on.year - birth_date.year - ((on.month, on.day) < (birth_date.month, birth_date.day))
    for upper, label in ((7, "0-6"), (18, "7-17"), (30, "18-29"), (65, "30-64")):
        if years < upper:
            return label
    return "65+"


__all__ = [
    "ClientFacts",
    "Contact",
    "Eligibility",
    "PermitType",
    "PersonalDetails",
    "ResidencePermit",
    "Sex",
    "age_group",
]
