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

from dataclasses import dataclass
from datetime import date

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
    "OldLawDeadline",
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
    "years_after",
]


# --- the municipality's conditions (§59(1)) ---


@dataclass(frozen=True)
class Conditions:
    integration_programme_from: date | None
    integration_programme_until: date | None
    ely_agreement: str | None


def condition_warnings(year: int, conditions: Conditions) -> list[str]:
    """What §59(1) asks that the settings do not show for the whole of ``year``."""
    warnings = []
    whole = calendar_year(year)
    start = conditions.integration_programme_from or date.min
    until = conditions.integration_programme_until
    if until is None:
        warnings.append(
            "The municipality's integration programme is not stated (setting "
            "KOTOUTUS_INTEGRATION_PROGRAMME_UNTIL): compensation requires one "
            "(Act 681/2023 §59(1) as amended by Act 1100/2024)."
        )
    elif start > whole.first or until < whole.last:
        warnings.append(
            f"The integration programme as stated ({_day(conditions.integration_programme_from)}"
            f"–{until.isoformat()}) does not cover the whole of {year}: compensation requires "
            "one (Act 681/2023 §59(1) as amended by Act 1100/2024)."
        )
    if not conditions.ely_agreement:
        warnings.append(
            "No agreement with the ELY centre is stated (setting KOTOUTUS_ELY_AGREEMENT): "
            "compensation requires the agreement of §42 (Act 681/2023 §59(1))."
        )
    return warnings


def _day(day: date | None) -> str:
    return day.isoformat() if day else "…"


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
