"""Loads the rule tables and answers "which rule was in force on this date?"."""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping
from datetime import date
from enum import StrEnum
from functools import cache
from importlib import resources
from typing import Any

from pydantic import BaseModel, ConfigDict, model_validator


class RuleKind(StrEnum):
    STATUTE = "statute"
    # A municipality's own service target (e.g. from its integration programme): shown and
    # reminded of like a deadline, never presented or cited as law.
    MUNICIPAL_TARGET = "municipal_target"
    # A municipality's own practice (e.g. the waiver its programme describes): not law either.
    MUNICIPAL_PRACTICE = "municipal_practice"


class RuleRef(BaseModel):
    """What an event records about the rule that decided it."""

    model_config = ConfigDict(frozen=True)

    id: str
    law: str
    section: str
    valid_from: date
    confirmed: bool
    citation: str
    # Defaults: events stored before these were recorded read as they were.
    kind: RuleKind = RuleKind.STATUTE
    amended_by: str | None = None
    quote: str | None = None


class Rule(BaseModel):
    model_config = ConfigDict(frozen=True, extra="allow")

    id: str
    law: str
    section: str
    valid_from: date
    valid_until: date | None = None
    citation: str
    confirmed: bool
    quote: str
    amended_by: str | None = None
    kind: RuleKind = RuleKind.STATUTE
    municipality: str | None = None  # a municipal target's municipality (its code)

    @model_validator(mode="after")
    def _period_is_ordered(self) -> Rule:
        if self.valid_until is not None and self.valid_until < self.valid_from:
            raise ValueError(f"rule {self.id} ({self.law}) ends before it starts")
        return self

    def in_force_on(self, day: date) -> bool:
        return self.valid_from <= day and (self.valid_until is None or day <= self.valid_until)

    def value(self, key: str) -> Any:
        """A rule-specific value such as ``months`` or ``jobseeker``."""
        extra = self.model_extra or {}
        if key not in extra:
            raise KeyError(f"rule {self.id} ({self.law}) has no value {key!r}")
        return extra[key]

    def values(self) -> Mapping[str, Any]:
        return dict(self.model_extra or {})

    @property
    def ref(self) -> RuleRef:
        return RuleRef(
            id=self.id,
            law=self.law,
            section=self.section,
            valid_from=self.valid_from,
            confirmed=self.confirmed,
            citation=self.citation,
            kind=self.kind,
            amended_by=self.amended_by,
            quote=self.quote,
        )

    @property
    def without_delay(self) -> bool:
        """The law says "without delay" (viipymättä): a duty with no day count."""
        return bool((self.model_extra or {}).get("without_delay"))


class NoRuleInForceError(LookupError):
    def __init__(self, rule_id: str, day: date) -> None:
        super().__init__(f"no rule {rule_id!r} is in force on {day.isoformat()}")
        self.rule_id = rule_id
        self.day = day


class RuleBook:
    def __init__(self, rules: Iterable[Rule]) -> None:
        self._rules: dict[str, list[Rule]] = {}
        for rule in rules:
            versions = self._rules.setdefault(rule.id, [])
            for other in versions:
                if _overlap(rule, other):
                    raise ValueError(
                        f"rule {rule.id}: {rule.law} and {other.law} are both in force on "
                        f"{max(rule.valid_from, other.valid_from).isoformat()}"
                    )
            versions.append(rule)

    def in_force(self, rule_id: str, day: date) -> Rule:
        for rule in self._rules.get(rule_id, ()):
            if rule.in_force_on(day):
                return rule
        raise NoRuleInForceError(rule_id, day)

    def versions(self, rule_id: str) -> list[Rule]:
        return sorted(self._rules.get(rule_id, ()), key=lambda r: r.valid_from)

    def all(self) -> list[Rule]:
        """Every rule, each version, ordered by id and start."""
        return sorted(
            (r for rs in self._rules.values() for r in rs), key=lambda r: (r.id, r.valid_from)
        )

    @classmethod
    def from_toml(cls, text: str) -> RuleBook:
        return cls(Rule.model_validate(raw) for raw in tomllib.loads(text)["rule"])


def _overlap(a: Rule, b: Rule) -> bool:
    a_end = a.valid_until or date.max
    b_end = b.valid_until or date.max
    return a.valid_from <= b_end and b.valid_from <= a_end


class Targets:
    """Municipalities' own service targets (``targets.toml``), by id, municipality and day."""

    def __init__(self, targets: Iterable[Rule]) -> None:
        self._books: dict[str, RuleBook] = {}
        grouped: dict[str, list[Rule]] = {}
        for target in targets:
            if target.kind is RuleKind.STATUTE or not target.municipality:
                raise ValueError(f"target {target.id} must name its municipality")
            grouped.setdefault(target.municipality, []).append(target)
        self._books = {code: RuleBook(rules) for code, rules in grouped.items()}

    def in_force(self, target_id: str, municipality: str, day: date) -> Rule | None:
        book = self._books.get(municipality)
        if book is None:
            return None
        try:
            return book.in_force(target_id, day)
        except NoRuleInForceError:
            return None

    def all(self) -> list[Rule]:
        return [r for code in sorted(self._books) for r in self._books[code].all()]

    @classmethod
    def from_toml(cls, text: str) -> Targets:
        raw = tomllib.loads(text).get("target", [])
        return cls(Rule.model_validate({"kind": RuleKind.MUNICIPAL_TARGET} | t) for t in raw)


@cache
def rulebook() -> RuleBook:
    """The rule tables shipped with the code (``rules.toml`` beside this module)."""
    text = resources.files("shared.law").joinpath("rules.toml").read_text(encoding="utf-8")
    return RuleBook.from_toml(text)


@cache
def municipal_targets() -> Targets:
    """The municipalities' service targets shipped with the code (``targets.toml``)."""
    text = resources.files("shared.law").joinpath("targets.toml").read_text(encoding="utf-8")
    return Targets.from_toml(text)
