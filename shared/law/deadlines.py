"""Statutory time limits counted under Act 150/1930, rules chosen by the business date.

Pure functions: the business date comes in as an argument, nothing reads a clock.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import cache

import holidays
from dateutil.relativedelta import relativedelta
from pydantic import BaseModel, ConfigDict

from shared.law.rulebook import Rule, RuleBook, RuleKind, RuleRef, Targets


class Deadline(BaseModel):
    """A due date as the law sets it (``nominal``) and as a caseworker must meet it (``due``)."""

    model_config = ConfigDict(frozen=True)

    starts_on: date
    nominal: date
    due: date
    rule: RuleRef
    rolled_by: RuleRef | None = None
    # When ``rule`` is a municipality's own service target: the statute it serves (which
    # says "without delay" and sets no day count).
    serves: RuleRef | None = None

    @property
    def legal_basis(self) -> tuple[RuleRef, ...]:
        """The rules that set this deadline, for the event that records it: the statute first,
        then a municipality's target (never cited as law) and the roll-forward rule."""
        rules = (self.serves, self.rule, self.rolled_by)
        return tuple(rule for rule in rules if rule is not None)

    @property
    def is_target(self) -> bool:
        return self.rule.kind is RuleKind.MUNICIPAL_TARGET


def add_period(start: date, rule: Rule) -> date:
    """The period's last day: the starting day is not counted (150/1930 §2); a year or month
    period ends on the same day number, or the month's last day where there is none (§3)."""
    values = rule.values()
    end: date = start + relativedelta(
        years=int(values.get("years", 0)),
        months=int(values.get("months", 0)),
        weeks=int(values.get("weeks", 0)),
        days=int(values.get("days", 0)),
    )
    return end


@cache
def _finnish_holidays(year: int) -> frozenset[date]:
    # Midsummer Eve and Christmas Eve are in the library's FI calendar, as 150/1930 §5 wants.
    return frozenset(holidays.country_holidays("FI", years=year))


def is_working_day(day: date) -> bool:
    return day.weekday() < 5 and day not in _finnish_holidays(day.year)


def next_working_day(day: date) -> date:
    while not is_working_day(day):
        day += timedelta(days=1)
    return day


def deadline(book: RuleBook, rule_id: str, starts_on: date) -> Deadline:
    """The deadline of ``rule_id`` for a period starting on ``starts_on`` by the law of that day."""
    return _deadline_of(book, book.in_force(rule_id, starts_on), starts_on)


def deadline_or_target(
    book: RuleBook,
    rule_id: str,
    starts_on: date,
    *,
    targets: Targets,
    target_id: str,
    municipality: str,
) -> Deadline:
    """As ``deadline``; where the law of that day says "without delay", the municipality's own
    service target (if it has one) gives the day, citing the statute it serves. Without a
    target, "without delay" is due on the day the period starts."""
    rule = book.in_force(rule_id, starts_on)
    if not rule.without_delay:
        return _deadline_of(book, rule, starts_on)
    target = targets.in_force(target_id, municipality, starts_on)
    if target is None:
        return _deadline_of(book, rule, starts_on)
    return _deadline_of(book, target, starts_on).model_copy(update={"serves": rule.ref})


def _deadline_of(book: RuleBook, rule: Rule, starts_on: date) -> Deadline:
    nominal = add_period(starts_on, rule)
    due = next_working_day(nominal)
    rolled_by = book.in_force("deadline.roll_forward", nominal).ref if due != nominal else None
    return Deadline(
        starts_on=starts_on, nominal=nominal, due=due, rule=rule.ref, rolled_by=rolled_by
    )
