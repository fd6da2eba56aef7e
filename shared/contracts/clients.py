"""A client as contracts describe it: ``PersonalDetails`` (personal data: sealed at rest in
intake, never in a public event) and ``ClientFacts`` (what decides scope and responsibility;
not personal, readable after an erasure for statistics)."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, EmailStr, Field, model_validator

from shared.identity import (
    IdentifierKind,
    IdentityCode,
    OtherIdentifier,
    birth_date_of,
    validate_identity_code,
)
from shared.languages import CountryCode, LanguageCode


class PermitType(StrEnum):
    A = "A"
    B = "B"
    P = "P"
    P_EU = "P-EU"
    TEMPORARY_PROTECTION = "temporary_protection"
    RIGHT_OF_RESIDENCE = "right_of_residence"


class ResidencePermit(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    type: PermitType
    ground_section: str | None = Field(
        default=None, pattern=r"^\d{1,3}[a-z]?$", description="Aliens Act section, e.g. 90."
    )
    ground_subsection: int | None = Field(
        default=None,
        ge=1,
        le=9,
        description="Its subsection where the law names one (52a(2), 54(5): 681/2023 §2(3)(4)).",
    )
    first_permit_on: date


class ClientFacts(BaseModel):
    """What decides scope and responsibility; not personal, kept for statistics."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    citizenship: tuple[CountryCode, ...] = ()
    mother_tongue: LanguageCode | None = None
    service_languages: tuple[LanguageCode, ...] = ()
    interpreter_language: LanguageCode | None = None
    needs_interpreter: bool = False
    residence_permit: ResidencePermit | None = None
    home_municipality: str | None = Field(default=None, pattern=r"^\d{3}$")
    home_municipality_since: date | None = None
    first_home_municipality_on: date | None = Field(
        default=None,
        description=(
            "When the person's first home municipality in Finland was registered (681/2023 "
            "§59(2)); when absent the current one's start stands in for it, marked assumed."
        ),
    )
    home_municipality_act_unmet: bool = Field(
        default=False,
        description=(
            "Had no permit on arrival and does not meet the Home Municipality Act 201/1994 §4 "
            "(681/2023 §59(3)): compensation counts from the first permit."
        ),
    )
    family_members: tuple[str, ...] = Field(default=(), description="Client ids of family.")
    family_tie_to: UUID | None = Field(
        default=None,
        description=(
            "The client of 681/2023 §2(3) this person is a family member or other relative of, "
            "the tie existing before that person came to Finland (§2(4))."
        ),
    )
    born_in_finland_to: UUID | None = Field(
        default=None,
        description="The parent of §2(3) or §2(4), for a child born in Finland (§2(5), §61(4)).",
    )
    registered_jobseeker: bool = False
    unemployed: bool = Field(
        default=False,
        description=(
            "An unemployed jobseeker (työtön työnhakija, Act 681/2023 §5(7)): from 2025 the "
            "assessment group of §14(1)(1), not every registered jobseeker."
        ),
    )
    non_temporary_social_assistance: bool = False
    child_home_care_allowance: bool = False
    unaccompanied_minor: bool = False
    trafficking_victim: bool = False
    international_protection: bool = False
    quota_refugee: bool = False
    finnish_citizen: bool = False
    deceased: bool = False

    @model_validator(mode="after")
    def _interpreter(self) -> ClientFacts:
        if self.needs_interpreter and not self.interpreter_language:
            raise ValueError("needs_interpreter requires interpreter_language")
        return self


class Eligibility(BaseModel):
    model_config = ConfigDict(frozen=True)

    in_scope: bool
    group: str | None
    reasons: tuple[str, ...]


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
        known = self.model_dump(exclude_none=True)
        changes = newer.model_dump(exclude_unset=True, exclude_none=True)
        if "contact" in changes and "contact" in known:
            # A new address keeps the known phone and email, and so on.
            changes["contact"] = {**known["contact"], **changes["contact"]}
        return type(self).model_validate({**known, **changes})

    @model_validator(mode="before")
    @classmethod
    def _birth_date_from_code(cls, data: Any) -> Any:
        """An identity code carries the birth date: no one need type it again."""
        if isinstance(data, dict) and data.get("identity_code") and not data.get("birth_date"):
            try:
                code = validate_identity_code(str(data["identity_code"]))
            except ValueError:
                return data  # the field's own check says what is wrong
            return {**data, "birth_date": birth_date_of(code)}
        return data

    @model_validator(mode="after")
    def _code_agrees_with_birth_date(self) -> PersonalDetails:
        if (
            self.identity_code
            and self.birth_date
            and birth_date_of(self.identity_code) != self.birth_date
        ):
            raise ValueError("the identity code and the birth date name different days")
        return self
