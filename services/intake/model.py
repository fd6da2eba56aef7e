"""Intake's value objects; the non-personal ones are public (shared/contracts/clients.py).

``PersonalDetails`` is the only place personal data lives: the store
seals it with the client's own key (crypto-shredding); everything else stays readable for
statistics after an erasure."""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, EmailStr, Field, model_validator

from shared.contracts.clients import ClientFacts, Eligibility, PermitType, ResidencePermit
from shared.identity import IdentifierKind, IdentityCode, OtherIdentifier


class Sex(StrEnum):
    FEMALE = "female"
    MALE = "male"
    OTHER = "other"


class Contact(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    phone: str | None = Field(default=None, pattern=r"^\+?[0-9 ()-]{5,20}$")
    email: EmailStr | None = None
    address: str | None = Field(default=None, max_length=300)


class PersonalDetails(BaseModel):
    """Who the person is. Sealed at rest with a key per client."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    given_names: str | None = Field(default=None, min_length=1, max_length=200)
    family_name: str | None = Field(default=None, min_length=1, max_length=200)
    birth_date: date | None = None
    sex: Sex | None = None
    identity_code: IdentityCode | None = None
    migri_customer_number: OtherIdentifier | None = None
    foreign_id: OtherIdentifier | None = None
    unhcr_number: OtherIdentifier | None = None
    contact: Contact | None = None

    def identifiers(self) -> dict[IdentifierKind, str]:
        values = {kind: getattr(self, kind.value) for kind in IdentifierKind}
        return {kind: value for kind, value in values.items() if value}

    def merged(self, newer: PersonalDetails) -> PersonalDetails:
        """These details with every field that ``newer`` sets replaced."""
        return self.model_copy(update=newer.model_dump(exclude_unset=True, exclude_none=True))

    @model_validator(mode="after")
    def _code_agrees_with_birth_date(self) -> PersonalDetails:
        if (
            self.identity_code
            and self.birth_date
            and _code_birth_date(self.identity_code) != (self.birth_date)
        ):
            raise ValueError("the identity code and the birth date name different days")
        return self


def _code_birth_date(code: str) -> date:
    century = {"+": 1800, "-": 1900, "A": 2000}
    century.update(dict.fromkeys("YXWVU", 1900))
    century.update(dict.fromkeys("BCDEF", 2000))
    return date(century[code[6]] + int(code[4:6]), int(code[2:4]), int(code[0:2]))


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
