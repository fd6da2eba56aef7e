"""Value objects every service's events carry: who acted, for which organisation, and when."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field


class ActorKind(StrEnum):
    USER = "user"
    SYSTEM = "system"
    INTEGRATION = "integration"


class Actor(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str = Field(min_length=1, max_length=200, examples=["caseworker:anna.virtanen"])
    kind: ActorKind


class Provenance(BaseModel):
    """Who did it, for which organisation, and when it happened in the world (business time).

    The record time is the event store's own timestamp and travels beside it."""

    model_config = ConfigDict(frozen=True)

    actor: Actor
    organisation: str = Field(min_length=1, max_length=200, examples=["municipality:320"])
    occurred_at: AwareDatetime
    source: str | None = Field(
        default=None,
        max_length=300,
        description="Where the record came from, when it was imported (system and record id).",
    )

    @classmethod
    def system(cls, service: str, organisation: str, occurred_at: datetime) -> Provenance:
        return cls(
            actor=Actor(id=f"system:{service}", kind=ActorKind.SYSTEM),
            organisation=organisation,
            occurred_at=occurred_at,
        )


class OrganisationKind(StrEnum):
    MUNICIPALITY = "municipality"
    TE_OFFICE = "te_office"
    EMPLOYMENT_AUTHORITY = "employment_authority"
