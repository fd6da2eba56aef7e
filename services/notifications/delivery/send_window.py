"""When a message may go out. Pure: the instant comes in as an argument.

Staff get mail on working days within working hours, so a reminder neither lands on a
weekend nor wakes anyone; clients get messages any day but not at night. Working days are the
statutory ones of ``shared.law.deadlines``: Monday to Friday, not a Finnish public holiday, and
not Midsummer Eve or Christmas Eve (both in the ``holidays`` library's FI calendar).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time, timedelta

from pydantic import BaseModel, ConfigDict, model_validator

from shared.clock import HELSINKI
from shared.law.deadlines import is_working_day


class SendHours(BaseModel):
    """A daily window in Helsinki time, start included, end excluded."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    start: time
    end: time

    @model_validator(mode="after")
    def _ordered(self) -> SendHours:
        if not self.start < self.end:
            raise ValueError("send hours must start before they end, within one day")
        return self


STAFF_HOURS = SendHours(start=time(8), end=time(16))
CLIENT_HOURS = SendHours(start=time(8), end=time(20))


def _helsinki(at: datetime) -> datetime:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("an aware datetime is required (naive times are ambiguous)")
    return at.astimezone(HELSINKI)


def _opening(day: date, hours: SendHours) -> datetime:
    # Finnish clock changes happen at 03:00/04:00, never inside a send window.
    return datetime.combine(day, hours.start, tzinfo=HELSINKI)


def earliest_send(at: datetime, hours: SendHours, *, working_days_only: bool) -> datetime:
    """The earliest instant ≥ ``at`` inside ``hours`` (on a working day if asked), in Helsinki
    time. An instant already inside the window is returned unchanged (as Helsinki time)."""
    local = _helsinki(at)
    day = local.date()
    if hours.start <= local.time() < hours.end and (not working_days_only or is_working_day(day)):
        return local
    if local.time() >= hours.end:
        day += timedelta(days=1)
    while working_days_only and not is_working_day(day):
        day += timedelta(days=1)
    return max(local, _opening(day, hours))


def earliest_staff_send(at: datetime, hours: SendHours = STAFF_HOURS) -> datetime:
    return earliest_send(at, hours, working_days_only=True)


def earliest_client_send(at: datetime, hours: SendHours = CLIENT_HOURS) -> datetime:
    return earliest_send(at, hours, working_days_only=False)


DEFAULT_OFFSETS: tuple[int, ...] = (14, 3, 0)


def previous_working_day(day: date) -> date:
    while not is_working_day(day):
        day -= timedelta(days=1)
    return day


def reminder_days(
    due: date, as_of: date, offsets: Iterable[int] = DEFAULT_OFFSETS
) -> tuple[date, ...]:
    """The days to remind on of a deadline ``due``: one per offset (days before the due day),
    earliest first, none twice.

    Decision: an offset that lands on a weekend or holiday moves to the *previous* working day,
    so a reminder never comes later than promised ("three days before" must still leave three
    days to act). Decision: a reminder day before ``as_of`` is skipped rather than sent late —
    a deadline learnt of late gets only the reminders still ahead of it (the due day's own
    reminder is always ahead while the deadline is not past, because due days are working
    days).
    """
    days: set[date] = set()
    for offset in offsets:
        if offset < 0:
            raise ValueError("offsets are days before the due day, zero or more")
        day = previous_working_day(due - timedelta(days=offset))
        if day >= as_of:
            days.add(day)
    return tuple(sorted(days))
