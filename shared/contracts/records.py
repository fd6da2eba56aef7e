"""What the national integration data store asks of every record (Decree 874/2024), whoever
makes it: who made it and how to reach them, and where its information came from. Codes, not
prose: a record's text about a person stays out of events (as with the assessment's findings),
so the events can travel and the read side can export them.

What a record holds of one service lives beside that service's events: the assessment's further
measures in ``assessment.py``, the content of a plan's review in ``plans.py``. Both import this
module, so it imports neither: their names are still found here for importers, looked up when
asked for (PEP 562), but import them from their own modules."""

from __future__ import annotations

from enum import StrEnum
from importlib import import_module
from typing import TYPE_CHECKING, Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.errors import InvalidValueError

if TYPE_CHECKING:
    from shared.contracts.assessment import FurtherMeasure
    from shared.contracts.plans import (
        GoalProgress,
        Hindrance,
        Outcome,
        Participation,
        ParticipationStatus,
        PlanChanges,
        Progress,
        Results,
        ReviewContent,
    )

__all__ = [
    "FurtherMeasure",
    "GoalProgress",
    "Hindrance",
    "InformationSource",
    "Maker",
    "Outcome",
    "Participation",
    "ParticipationStatus",
    "PlanChanges",
    "Progress",
    "Results",
    "ReviewContent",
]

_ELSEWHERE = {
    "FurtherMeasure": "shared.contracts.assessment",
    **dict.fromkeys(
        (
            "GoalProgress",
            "Hindrance",
            "Outcome",
            "Participation",
            "ParticipationStatus",
            "PlanChanges",
            "Progress",
            "Results",
            "ReviewContent",
        ),
        "shared.contracts.plans",
    ),
}


class InformationSource(StrEnum):
    """Where a record's information came from (874/2024 §1(1), §2(1), §3(2): "tieto siitä,
    mistä ... tiedot on saatu"; 681/2023 §73(1): data not from the person marks its source)."""

    CLIENT = "client"
    DVV = "dvv"  # the population register (Digital and Population Data Services Agency)
    MIGRI = "migri"
    KELA = "kela"
    EMPLOYMENT_AUTHORITY = "employment_authority"
    TE_OFFICE = "te_office"  # records imported from the TE office of before 2025
    WELLBEING_SERVICES_COUNTY = "wellbeing_services_county"
    RECEPTION_CENTRE = "reception_centre"
    PREVIOUS_MUNICIPALITY = "previous_municipality"
    EDUCATION_PROVIDER = "education_provider"
    SERVICE_PROVIDER = "service_provider"
    OTHER_AUTHORITY = "other_authority"


# One part of an address: no @, no white space, no control character. The controls are named
# because `\s` differs between the regex engines that read our patterns: Python's and Rust's
# (pydantic) count U+0085 and Python's U+001C-U+001F as space, ECMA's (the OpenAPI and
# AsyncAPI readers) neither but U+FEFF; named, every engine refuses the same characters.
_ADDRESS_PART = r"[^@\s\x00-\x1f\x7f-\x9f\ufeff]+"
# A mailbox: local part @ domain (a host name without a dot, such as localhost, allowed).
MAILBOX_PATTERN = rf"^{_ADDRESS_PART}@{_ADDRESS_PART}$"
# A person's email address as people write it: one @, no spaces, a dot in the domain.
EMAIL_PATTERN = rf"^{_ADDRESS_PART}@{_ADDRESS_PART}\.{_ADDRESS_PART}$"

# (Not EmailStr: its validator refuses addresses the schema's `format: email` allows, and a
# contact address is checked by mail, not by us.)
EmailAddress = Annotated[
    str,
    Field(max_length=254, pattern=EMAIL_PATTERN, examples=["maria@example.fi"]),
]


class Maker(BaseModel):
    """One who made the record, with the contact details the decree asks for ("laatijoiden
    yhteystiedot"). Staff's work contacts, not the client's data: they stay when a client is
    erased, as the actor of every event does."""

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        # An email or a phone (``_reachable``), in the schema too.
        json_schema_extra={
            "anyOf": [
                {"required": [name], "properties": {name: {"type": "string"}}}
                for name in ("email", "phone")
            ]
        },
    )

    name: str = Field(min_length=1, max_length=200, examples=["Maria Korhonen"])
    title: str | None = Field(default=None, min_length=1, max_length=200)
    organisation: str = Field(
        min_length=1, max_length=200, examples=["municipality:320"], description="Organisation id."
    )
    email: EmailAddress | None = None
    phone: str | None = Field(default=None, pattern=r"^\+?[0-9 ()-]{5,20}$")

    @model_validator(mode="after")
    def _reachable(self) -> Maker:
        if not (self.email or self.phone):
            raise InvalidValueError("maker_contact_required")
        return self


def __getattr__(name: str) -> object:
    module = _ELSEWHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(module), name)
