"""When a retained record goes: its period counted from the day its clock started, stopped by
legal holds. Pure: the days come in as arguments, nothing reads a clock.

The period is counted as the project counts statutory periods (Act 150/1930): the starting day
is not counted (§2), and a period of years or months ends on the same day number, or on the
month's last day where it has none (§3). The record is kept through that last day and goes on
the next. It is not moved to a working day (§5 moves the last day for *doing* something; the
end of a retention period asks nothing of anyone).

A legal hold stops the clock: while one is in force nothing goes, and once lifted the period
runs on, longer by the days the hold lasted while the clock was running. A hold placed after
the period had already run out (the job had not yet deleted the record) only delays the
deletion until it is lifted."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from dateutil.relativedelta import relativedelta

from shared.retention.classes import Period


@dataclass(frozen=True)
class Hold:
    reason: str
    placed_on: date
    lifted_on: date | None = None


@dataclass(frozen=True)
class Expiry:
    kept_until: date  # the period's last day, holds included
    goes_on: date  # the first day the record may go
    held_days: int


def period_end(starts_on: date, period: Period) -> date:
    """The period's last day (150/1930 §2 and §3)."""
    end: date = starts_on + relativedelta(
        years=period.years, months=period.months, days=period.days
    )
    return end


def expiry(period: Period, starts_on: date, holds: Sequence[Hold] = ()) -> Expiry | None:
    """When a record whose clock started on ``starts_on`` goes; None while a hold is in force."""
    if any(hold.lifted_on is None for hold in holds):
        return None
    kept_until = period_end(starts_on, period)
    held = 0
    stopped_until = starts_on  # holds that overlap stop the clock once
    for hold in sorted(holds, key=lambda h: h.placed_on):
        assert hold.lifted_on is not None
        stopped_from = max(hold.placed_on, stopped_until)
        if hold.lifted_on <= stopped_from:
            continue  # lifted before the clock started, or within an earlier hold
        stopped_until = hold.lifted_on
        if stopped_from > kept_until:
            # The period had run out already: the record goes once the hold is lifted.
            kept_until = max(kept_until, hold.lifted_on - timedelta(days=1))
            continue
        days = (hold.lifted_on - stopped_from).days
        held += days
        kept_until += timedelta(days=days)
    return Expiry(kept_until=kept_until, goes_on=kept_until + timedelta(days=1), held_days=held)


def is_due(found: Expiry | None, today: date) -> bool:
    return found is not None and today >= found.goes_on


def written_before(period: Period, today: date) -> date:
    """Records whose clock started before this day have run out by ``today``: the first day
    whose period ends on or after ``today`` (``period_end`` is monotone in its start, so the
    rows before it are exactly those whose period ended before today). Counted with
    ``period_end`` itself, not with the period subtracted: at a month's end the two differ
    (28 Feb + 1 month is 28 Mar, but 29 Mar − 1 month is 28 Feb and 31 Mar − 1 month too)."""
    cutoff: date = today - relativedelta(years=period.years, months=period.months, days=period.days)
    while period_end(cutoff - timedelta(days=1), period) >= today:
        cutoff -= timedelta(days=1)
    while period_end(cutoff, period) < today:
        cutoff += timedelta(days=1)
    return cutoff
