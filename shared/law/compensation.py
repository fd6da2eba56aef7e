"""The state's calculated compensation to the municipality (Act 681/2023 §61 with §59 and
§2(3)–(5); Government Decree 872/2024 §1(1)), and the old law's claims due by the end of 2026
(§102(1) as amended by Act 1100/2024). Pure: facts and dates come in, figures go out; the
amounts, periods and grounds are data with their citations (``compensation.toml``).

One module per job, each with the readings of the law it implements (a choice where the texts
leave room) at its top; their names are importable from here:

- ``compensation_rules``: the data, read by rule id;
- ``compensation_periods``: whom, from when and how long — each person's period, or the facts
  missing for it;
- ``compensation_amounts``: where and how much — the days in the municipality per calendar year,
  priced by age band, and the rounding;
- ``compensation_days``: spans of days and calendar years, as both count them.

This module has what the report states besides the figures: whether the municipality meets
the conditions of §59(1), and the old law's deadline.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from shared import i18n
from shared.law.compensation_amounts import (
    PersonYear,
    Priced,
    Residency,
    Totals,
    adult_year,
    cents,
    person_year,
    residency,
    totals,
)
from shared.law.compensation_days import DAY, EVER, Span, calendar_year, days_in_year, years_after
from shared.law.compensation_periods import (
    Decision,
    Ground,
    Missing,
    Period,
    Person,
    Residence,
    Unknown,
    decide,
    length_rule,
    own_ground,
    period_end,
    permit_ground,
    start_of,
)
from shared.law.compensation_rules import CompensationLaw, compensation_law
from shared.law.rulebook import Rule

__all__ = [
    "DAY",
    "EVER",
    "CompensationLaw",
    "Conditions",
    "Decision",
    "Ground",
    "Missing",
    "Notice",
    "OldLawDeadline",
    "Param",
    "Period",
    "Person",
    "PersonYear",
    "Priced",
    "Residence",
    "Residency",
    "Span",
    "Totals",
    "Unknown",
    "adult_year",
    "calendar_year",
    "cents",
    "compensation_law",
    "condition_warnings",
    "days_in_year",
    "decide",
    "length_rule",
    "old_law_deadline",
    "own_ground",
    "period_end",
    "permit_ground",
    "person_year",
    "residency",
    "start_of",
    "totals",
    "unmet_conditions",
    "years_after",
]


# --- the municipality's conditions (§59(1)) ---


@dataclass(frozen=True)
class Conditions:
    integration_programme_from: date | None
    integration_programme_until: date | None
    ely_agreement: str | None


@dataclass(frozen=True)
class Notice:
    """A text the report states, as a message of the catalogues (``shared.i18n``): its code,
    which is also the message's id, and the parameters its texts fill in. A parameter may be
    a notice itself (a family member's ground names the ground of the person it derives from),
    rendered in the same language."""

    code: str
    params: Mapping[str, Param] = field(default_factory=dict)

    def text(self, language: str = i18n.DEFAULT_LANGUAGE) -> str:
        shown = {
            name: value.text(language) if isinstance(value, Notice) else _shown(value, language)
            for name, value in self.params.items()
        }
        return i18n.text(self.code, language, **shown)

    def values(self) -> dict[str, str | int]:
        """The parameters as JSON gives them, the same in every language: a day in ISO 8601,
        an amount with a point, a notice by its code and its own parameters under
        ``<name>.<parameter>``."""
        found: dict[str, str | int] = {}
        for name, value in self.params.items():
            if isinstance(value, Notice):
                found[name] = value.code
                found.update({f"{name}.{inner}": v for inner, v in value.values().items()})
            else:
                found[name] = _shown(value, "en")
        return found


Param = str | int | date | Decimal | Notice


def _shown(value: str | int | date | Decimal, language: str) -> str | int:
    """A day and an amount as the language writes them (31.1.2025 and 123,45 in Finnish and
    Swedish); English keeps ISO 8601 and the point, as the report's data do."""
    finnish_style = language in ("fi", "sv")
    if isinstance(value, date):
        return f"{value.day}.{value.month}.{value.year}" if finnish_style else value.isoformat()
    if isinstance(value, Decimal):
        return str(value).replace(".", ",") if finnish_style else str(value)
    return value


def unmet_conditions(year: int, conditions: Conditions) -> list[Notice]:
    """What §59(1) asks that the settings do not show for the whole of ``year``."""
    notices = []
    whole = calendar_year(year)
    start = conditions.integration_programme_from or date.min
    until = conditions.integration_programme_until
    if until is None:
        notices.append(Notice("compensation.warning.integration_programme_unstated"))
    elif start > whole.first or until < whole.last:
        notices.append(
            Notice(
                "compensation.warning.integration_programme_partial",
                {
                    "programme_from": conditions.integration_programme_from or "…",
                    "programme_until": until,
                    "year": year,
                },
            )
        )
    if not conditions.ely_agreement:
        notices.append(Notice("compensation.warning.ely_agreement_unstated"))
    return notices


def condition_warnings(
    year: int, conditions: Conditions, language: str = i18n.DEFAULT_LANGUAGE
) -> list[str]:
    """``unmet_conditions`` as texts in ``language``."""
    return [notice.text(language) for notice in unmet_conditions(year, conditions)]


# --- the old law's claims (1386/2010 §50; 681/2023 §102(1) as amended by 1100/2024) ---


@dataclass(frozen=True)
class OldLawDeadline:
    claims_by: date
    rule: Rule
    other_claims: Rule
    assessment_rule: Rule
    organised_before: date


def old_law_deadline(law: CompensationLaw | None = None) -> OldLawDeadline:
    law = law or compensation_law()
    rule = law.rule("old_law.claim_deadline")
    assessment = law.rule("old_law.assessment_compensation")
    return OldLawDeadline(
        claims_by=rule.value("claims_by"),
        rule=rule,
        other_claims=law.rule("old_law.other_claims_deadline"),
        assessment_rule=assessment,
        organised_before=assessment.value("organised_before"),
    )
