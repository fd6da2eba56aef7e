"""The law as data: which rule is in force on a date, and statutory periods counted by 150/1930."""

from __future__ import annotations

from datetime import date

import pytest

from shared.law import NoRuleInForceError, Rule, RuleBook, rulebook
from shared.law.deadlines import deadline, is_working_day

BOOK = rulebook()

# rule, start of the period → nominal last day, due day (rolled to a working day), law used
DEADLINES = [
    # Months end on the same day number, or on the month's last day (§3).
    ("assessment.start_deadline", "2024-12-31", "2025-02-28", "2025-02-28", "1386/2010"),
    ("assessment.start_deadline", "2023-12-31", "2024-02-29", "2024-02-29", "1386/2010"),
    ("assessment.start_deadline", "2024-08-31", "2024-10-31", "2024-10-31", "1386/2010"),
    ("assessment.start_deadline", "2024-01-15", "2024-03-15", "2024-03-15", "1386/2010"),
    # A last day on a weekend or holiday rolls to the next working day (§5).
    ("assessment.start_deadline", "2024-04-30", "2024-06-30", "2024-07-01", "1386/2010"),
    ("assessment.start_deadline", "2024-10-24", "2024-12-24", "2024-12-27", "1386/2010"),
    ("assessment.start_deadline", "2024-04-21", "2024-06-21", "2024-06-24", "1386/2010"),
    ("assessment.start_deadline", "2024-10-06", "2024-12-06", "2024-12-09", "1386/2010"),
    ("assessment.start_deadline", "2024-03-01", "2024-05-01", "2024-05-02", "1386/2010"),
    # The law of the start date decides, on both sides of 1 Jan 2025.
    # Without delay (681/2023 §14(2)): the day itself, rolled past New Year's Day.
    ("assessment.start_deadline", "2025-01-01", "2025-01-01", "2025-01-02", "681/2023"),
    # Weeks end on the same weekday.
    ("plan.preparation_deadline", "2024-12-20", "2025-01-03", "2025-01-03", "1386/2010"),
    ("plan.preparation_deadline", "2024-12-31", "2025-01-14", "2025-01-14", "1386/2010"),
    # Without delay under 681/2023; a holiday still rolls.
    ("plan.preparation_deadline", "2025-01-01", "2025-01-01", "2025-01-02", "681/2023"),
    ("plan.preparation_deadline", "2025-01-24", "2025-01-24", "2025-01-24", "681/2023"),
]


@pytest.mark.parametrize(("rule_id", "start", "nominal", "due", "law"), DEADLINES)
def test_deadline_edge_cases(rule_id: str, start: str, nominal: str, due: str, law: str) -> None:
    result = deadline(BOOK, rule_id, date.fromisoformat(start))
    assert result.nominal == date.fromisoformat(nominal)
    assert result.due == date.fromisoformat(due)
    assert result.rule.law == law
    assert result.rule.id == rule_id
    if nominal != due:
        assert result.rolled_by is not None and result.rolled_by.law == "150/1930"
    else:
        assert result.rolled_by is None


def test_midsummer_and_christmas_eves_are_not_working_days() -> None:
    assert not is_working_day(date(2025, 6, 20))
    assert not is_working_day(date(2025, 12, 24))
    assert is_working_day(date(2025, 12, 31))


def test_the_rule_tables_hold_these_values() -> None:
    # Changing a value of law is a data change in rules.toml, and this table changes with it.
    values = {
        (rule.id, rule.law): dict(rule.values())
        for rule_id in ("assessment.start_deadline", "plan.preparation_deadline")
        for rule in BOOK.versions(rule_id)
    }
    assert values == {
        ("assessment.start_deadline", "1386/2010"): {"months": 2},
        ("assessment.start_deadline", "681/2023"): {"without_delay": True},
        ("plan.preparation_deadline", "1386/2010"): {"weeks": 2},
        ("plan.preparation_deadline", "681/2023"): {"without_delay": True},
    }
    # The statute says "without delay" (681/2023 §14(2) as amended by 1100/2024): confirmed.
    assert BOOK.in_force("assessment.start_deadline", date(2025, 1, 1)).confirmed


@pytest.mark.parametrize(
    ("day", "jobseeker", "other"),
    [
        ("2024-12-31", "te_office", "municipality"),
        ("2025-01-01", "employment_authority", "municipality"),
    ],
)
def test_responsibility_follows_the_law_of_the_day(day: str, jobseeker: str, other: str) -> None:
    rule = BOOK.in_force("responsibility.assessment", date.fromisoformat(day))
    assert rule.value("jobseeker") == jobseeker
    assert rule.value("other") == other


def test_no_rule_before_the_first_law_version() -> None:
    with pytest.raises(NoRuleInForceError, match="2010-01-01"):
        BOOK.in_force("assessment.start_deadline", date(2010, 1, 1))


def test_overlapping_versions_of_a_rule_are_refused() -> None:
    common = {"id": "x", "section": "§1", "citation": "c", "confirmed": True, "quote": "q"}
    first = Rule(law="a", valid_from=date(2020, 1, 1), valid_until=date(2024, 12, 31), **common)
    second = Rule(law="b", valid_from=date(2024, 6, 1), **common)
    with pytest.raises(ValueError, match="both in force on 2024-06-01"):
        RuleBook([first, second])
