"""The compensation's law as data: the entries of ``compensation.toml`` (beside this module),
each with its citation and verbatim phrase, read by id."""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from functools import cache
from importlib import resources

from shared.law.rulebook import Rule, RuleBook


class CompensationLaw:
    """The entries of ``compensation.toml`` by id (each has one version today)."""

    def __init__(self, rules: Iterable[Rule]) -> None:
        self.book = RuleBook(rules)

    def rule(self, rule_id: str) -> Rule:
        versions = self.book.versions(rule_id)
        if not versions:
            raise KeyError(f"no compensation rule {rule_id!r}")
        return versions[-1]

    def versions(self, rule_id: str) -> list[Rule]:
        return self.book.versions(rule_id)

    def all(self) -> list[Rule]:
        return [rule for versions in self.book._rules.values() for rule in versions]

    @classmethod
    def from_toml(cls, text: str) -> CompensationLaw:
        return cls(Rule.model_validate(raw) for raw in tomllib.loads(text)["rule"])


@cache
def compensation_law() -> CompensationLaw:
    """The compensation data shipped with the code (``compensation.toml`` beside this module)."""
    text = resources.files("shared.law").joinpath("compensation.toml").read_text("utf-8")
    return CompensationLaw.from_toml(text)
