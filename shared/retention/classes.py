"""Retention classes as data: the defaults shipped in ``retention.toml`` beside this module,
with a town's own decisions laid over them from one file (``KOTOUTUS_RETENTION_FILE``).

A town's file names classes of the defaults and any of their fields; a class it does not know
is refused (a misspelt name would otherwise leave the default silently in force)."""

from __future__ import annotations

import tomllib
from enum import StrEnum
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.settings import Settings


class Clock(StrEnum):
    """The event that starts a class's period."""

    CLIENT_CLOSED = "client_closed"
    PLAN_ENDED = "plan_ended"
    LETTER_SENT = "letter_sent"
    ROW_WRITTEN = "row_written"


class EndsIn(StrEnum):
    DELETION = "deletion"
    ARCHIVING = "archiving"


class SourceKind(StrEnum):
    STATUTE = "statute"
    MUNICIPAL_DECISION = "municipal_decision"


class Period(BaseModel):
    model_config = ConfigDict(frozen=True)

    years: int = Field(default=0, ge=0, le=200)
    months: int = Field(default=0, ge=0, le=2400)
    days: int = Field(default=0, ge=0, le=100_000)

    def __str__(self) -> str:
        parts = [(self.years, "year"), (self.months, "month"), (self.days, "day")]
        return " ".join(f"{n} {unit}{'' if n == 1 else 's'}" for n, unit in parts if n) or "0 days"


class RetentionClass(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    title: str
    records: str
    owner: str = Field(description="The service that holds the records and runs the clock.")
    clock: Clock
    years: int = Field(default=0, ge=0, le=200)
    months: int = Field(default=0, ge=0, le=2400)
    days: int = Field(default=0, ge=0, le=100_000)
    ends_in: EndsIn
    kind: SourceKind
    source: str | None = None
    law: str | None = None
    section: str | None = None
    quote: str | None = None
    note: str | None = None
    enforced_here: bool = True

    @model_validator(mode="after")
    def _cited(self) -> RetentionClass:
        if self.kind is SourceKind.STATUTE:
            if not (self.law and self.section and self.quote):
                raise ValueError(f"{self.name}: a statute's period needs law, section and quote")
        elif self.law or self.quote:
            # A town's own decision is never dressed up as a statute's.
            raise ValueError(f"{self.name}: a municipal decision cites no law or quote")
        elif not self.source:
            raise ValueError(f"{self.name}: say where the municipality decided it (source)")
        if not (self.years or self.months or self.days):
            raise ValueError(f"{self.name}: a retention period of nothing")
        return self

    @property
    def period(self) -> Period:
        return Period(years=self.years, months=self.months, days=self.days)

    @property
    def citation(self) -> str:
        """The period's legal source, as reports and events name it."""
        if self.kind is SourceKind.STATUTE:
            return f"Act {self.law} {self.section}: “{self.quote}”"
        return f"municipal decision: {self.source}"

    @property
    def rule(self) -> str:
        """A short name of the rule that ended a record, for the event that records it."""
        return f"retention.{self.name}: {self.period} from {self.clock.value} ({self.citation})"


class UnknownRetentionClassError(ValueError):
    pass


def _defaults() -> dict[str, dict[str, Any]]:
    text = resources.files("shared.retention").joinpath("retention.toml").read_text("utf-8")
    classes: dict[str, dict[str, Any]] = tomllib.loads(text)["classes"]
    return classes


def load_classes(override: Path | None = None) -> dict[str, RetentionClass]:
    """The classes in force: the defaults, each field a town's file names replaced by its own."""
    raw = _defaults()
    if override is not None:
        town: dict[str, dict[str, Any]] = tomllib.loads(override.read_text("utf-8")).get(
            "classes", {}
        )
        for name, fields in town.items():
            if name not in raw:
                raise UnknownRetentionClassError(f"{override}: no retention class {name!r}")
            merged = {**raw[name], **fields}
            if fields.get("kind") == SourceKind.MUNICIPAL_DECISION.value:
                # A town that decides a statute's class itself drops the statute's citation.
                for cited in ("law", "section", "quote"):
                    if cited not in fields:
                        merged.pop(cited, None)
            raw[name] = merged
    return {name: RetentionClass(name=name, **fields) for name, fields in raw.items()}


def classes_owned_by(classes: dict[str, RetentionClass], owner: str) -> list[RetentionClass]:
    return [cls for cls in classes.values() if cls.owner == owner]


def retention_classes(settings: Settings) -> dict[str, RetentionClass]:
    """The classes in force for a deployment (its town's file laid over the defaults)."""
    return load_classes(settings.retention_file)
