"""What other services may know about a client: the facts that decide scope and responsibility.
Nothing here is personal data; it stays readable after an erasure, for statistics."""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, model_validator

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
    family_members: tuple[str, ...] = Field(default=(), description="Client ids of family.")
    registered_jobseeker: bool = False
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
