"""Days as the compensation counts them: spans with both ends counted, calendar years, and
the same day some years on (Act 150/1930 §3)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from dateutil.relativedelta import relativedelta

DAY = timedelta(days=1)


@dataclass(frozen=True, order=True)
class Span:
    """Days from ``first`` to ``last``, both counted."""

    first: date
    last: date

    @property
    def days(self) -> int:
        return max(0, (self.last - self.first).days + 1)

    def clip(self, other: Span) -> Span | None:
        first, last = max(self.first, other.first), min(self.last, other.last)
        return Span(first, last) if first <= last else None


EVER = Span(date.min, date.max)


def calendar_year(year: int) -> Span:
    return Span(date(year, 1, 1), date(year, 12, 31))


def days_in_year(year: int) -> int:
    return calendar_year(year).days


def years_after(day: date, years: int) -> date:
    """The same day ``years`` on; 29 February goes to 28 February (Act 150/1930 §3)."""
    moved: date = day + relativedelta(years=years)
    return moved


def clipped(spans: Iterable[Span], window: Span) -> list[Span]:
    return [part for span in spans if (part := span.clip(window)) is not None]


def total_days(spans: Iterable[Span]) -> int:
    return sum(span.days for span in spans)
