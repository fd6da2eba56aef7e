"""Kept for importers: a client's value objects live in ``shared/contracts/intake.py``, beside
the events intake publishes. Import them from there."""

from shared.contracts.intake import (
    ClientFacts,
    Contact,
    Eligibility,
    PermitType,
    PersonalDetails,
    ResidencePermit,
    Sex,
)

__all__ = [
    "ClientFacts",
    "Contact",
    "Eligibility",
    "PermitType",
    "PersonalDetails",
    "ResidencePermit",
    "Sex",
]
