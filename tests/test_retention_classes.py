"""Retention classes as data: the defaults, a town's file over them, the statute's own words
for a period a statute gives, and the due day counted as statutory periods are (150/1930)."""

from __future__ import annotations

from datetime import date, timedelta
from itertools import pairwise
from pathlib import Path
from uuid import uuid4

import pytest
from pydantic import ValidationError

from shared.retention import (
    Clock,
    EndsIn,
    Hold,
    Period,
    SourceKind,
    UnknownRetentionClassError,
    expiry,
    is_due,
    load_classes,
    retention_classes,
)
from shared.retention.clocks import ClockState
from shared.retention.schedule import period_end, written_before
from shared.settings import Settings
from tests.test_law_texts import text_of, where

REQUIRED = {
    "client_identity",
    "assessment_findings",
    "plan_contents",
    "letters",
    "access_log",
    "dead_letters",
}
# Finnish numbers of the retention phrases (the rules' reader knows the genitive forms).
NUMBER_WORDS = {"yksi": 1, "kaksi": 2, "kolme": 3, "neljä": 4, "viisi": 5, "kymmenen": 10}


def test_every_kind_of_record_has_a_class_with_its_clock_source_and_end() -> None:
    classes = load_classes()
    assert classes.keys() >= REQUIRED
    for cls in classes.values():
        assert isinstance(cls.clock, Clock) and isinstance(cls.ends_in, EndsIn)
        assert cls.citation and cls.period != Period()


def test_a_municipal_decision_says_so_and_never_cites_a_statute() -> None:
    for cls in load_classes().values():
        if cls.kind is SourceKind.MUNICIPAL_DECISION:
            assert cls.law is None and cls.quote is None
            assert cls.citation.startswith("municipal decision: ")
            assert "information management plan" in cls.citation
            assert "Act 906/2019" in cls.citation


def test_a_statute_s_period_is_the_statute_s_own_words_in_its_cited_subsection() -> None:
    statutes = [c for c in load_classes().values() if c.kind is SourceKind.STATUTE]
    assert statutes
    for cls in statutes:
        assert cls.law and cls.section and cls.quote
        section, subsection = cls.section.strip("§").rstrip(")").split("(")
        assert (section, subsection) in where(text_of(cls.law), cls.quote), cls.name
        words = cls.quote.split()
        years = [NUMBER_WORDS[w] for w, nxt in pairwise(words) if nxt == "vuotta"]
        assert years == [cls.years] and not (cls.months or cls.days), cls.name
    national = load_classes()["national_data_store"]
    assert national.citation.startswith("Act 681/2023 §77(1)")
    assert not national.enforced_here  # the national store is not Kotoutus's to delete


def test_a_town_s_file_replaces_the_fields_it_names(tmp_path: Path) -> None:
    town = tmp_path / "kemijarvi-retention.toml"
    town.write_text(
        "[classes.letters]\nyears = 0\nmonths = 6\n"
        'source = "Kemijärvi information management plan 2026, section 4.2"\n',
        "utf-8",
    )
    classes = retention_classes(Settings(retention_file=town))
    assert classes["letters"].period == Period(months=6)
    assert "Kemijärvi information management plan 2026" in classes["letters"].citation
    assert classes["client_identity"].years == 10  # untouched: the default

    # A statute's class decided by the town drops the statute's citation.
    town.write_text(
        '[classes.national_data_store]\nkind = "municipal_decision"\nsource = "own plan"\n'
    )
    assert load_classes(town)["national_data_store"].citation == "municipal decision: own plan"

    town.write_text("[classes.leters]\nyears = 1\n")
    with pytest.raises(UnknownRetentionClassError):
        load_classes(town)
    town.write_text('[classes.letters]\nlaw = "681/2023"\n')
    with pytest.raises(ValidationError, match="cites no law"):
        load_classes(town)


def test_a_record_goes_the_day_after_its_period_and_holds_stop_the_clock() -> None:
    ten = Period(years=10)
    closed = date(2014, 3, 10)
    plain = expiry(ten, closed)
    assert plain is not None and (plain.kept_until, plain.goes_on) == (
        date(2024, 3, 10),
        date(2024, 3, 11),
    )
    assert not is_due(plain, date(2024, 3, 10)) and is_due(plain, date(2024, 3, 11))
    # 29 February: a year period ends on the month's last day (150/1930 §3).
    leap = expiry(Period(years=1), date(2024, 2, 29))
    assert leap is not None and leap.kept_until == date(2025, 2, 28)

    assert expiry(ten, closed, [Hold("dispute", date(2020, 1, 1))]) is None
    held = expiry(ten, closed, [Hold("dispute", date(2020, 1, 1), date(2020, 1, 31))])
    assert held is not None and (held.held_days, held.goes_on) == (30, date(2024, 4, 10))
    # Overlapping holds stop the clock once; one lifted before the clock started, not at all.
    both = expiry(
        ten,
        closed,
        [
            Hold("audit", date(2020, 1, 1), date(2020, 1, 31)),
            Hold("dispute", date(2020, 1, 21), date(2020, 2, 10)),
            Hold("early", date(2013, 1, 1), date(2014, 1, 1)),
        ],
    )
    assert both is not None and both.held_days == 40
    # Placed after the period ran out (not yet deleted): it goes once the hold is lifted.
    late = expiry(ten, closed, [Hold("audit", date(2024, 5, 1), date(2024, 6, 1))])
    assert late is not None and late.goes_on == date(2024, 6, 1)


@pytest.mark.parametrize(
    "period",
    [Period(months=1), Period(years=1), Period(years=5), Period(months=6, days=10)],
    ids=str,
)
def test_the_rows_purged_on_a_day_are_exactly_those_whose_period_ended_before(
    period: Period,
) -> None:
    # The row purges (access log, dead letters) count back from today; a client's clock counts
    # forward from its start. Over month ends and leap days the two must agree on every day.
    first = date(2023, 1, 1)
    for offset in range(0, 1500, 3):
        today = first + timedelta(days=offset)
        cutoff = written_before(period, today)
        for start in (cutoff - timedelta(days=1), cutoff):
            assert (start < cutoff) == (period_end(start, period) < today), (today, start)


def test_a_hold_id_placed_again_after_it_was_lifted_is_another_hold() -> None:
    client = uuid4()
    state = ClockState()
    state.start(client, "letters", date(2025, 1, 1))
    state.hold(client, "audit", "first audit", date(2026, 1, 1))
    state.lift(client, "audit", date(2026, 1, 31))  # 30 days
    state.hold(client, "audit", "second audit", date(2026, 3, 1))
    state.lift(client, "audit", date(2026, 3, 31))  # 30 more
    classes = {"letters": load_classes()["letters"]}
    [item] = state.report(classes, date(2027, 1, 1))
    assert item.goes_on == date(2027, 1, 2) + timedelta(days=60)
