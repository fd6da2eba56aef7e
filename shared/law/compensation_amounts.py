"""The state's compensation for a person's period, per calendar year: the days the person
lived in the municipality, priced by age band at the amounts of Government Decree 872/2024
§1(1), to the cent, and the totals of the persons' years. Pure: a period and its person come
in, days and euros go out (the period: ``compensation_periods``).

How the law is read here (each reading a choice where the texts leave room):

- **Where.** The municipality is compensated for the days the person's home municipality is
  its own: the dated home-municipality registrations (``home_municipality`` with
  ``home_municipality_since``, in the order they were recorded) give the days; a person who
  moved in is counted from the move, one who moved away until the day before. Where no
  registration is dated, the latest ``home_municipality`` decides (none stated: taken to be
  ours, and said so). A person who died is counted to the day of death inclusive (the
  ``effective_on`` of the change that recorded the death). The end of the client relationship
  does not end the compensation.
- **How much.** Per calendar year, day by day: amount × days in the band ÷ days of that year
  (365 or 366). Under 7 until the day before the 7th birthday, the "7 vuotta täyttäneestä"
  amount from it (a birthday on 29 February falls on 28 February in other years). The 7 741 €
  adult supplement accrues day by day over the first year of the period in which the person is
  18 or over — from the period's start for someone 18 at the start, from the 18th birthday for
  someone turning 18 inside it — to the day before the same date a year on, and only inside
  the period. A year that straddles two calendar years is prorated by each year's own length,
  so it can come to a few cents more or less than 7 741 €. Days on which no amount of the
  decree is in force (before 2025) are counted but not priced. For a period begun before 2025
  the adult year is still the period's first (part of it under the old law); only its days
  from 2025 are priced here. The amounts are §1(1)'s, for a municipality outside Åland (§1(2)
  has Åland's, not in the data); §4's amounts for costs from before 2025 claimed under §70 are
  not applied.
- **Rounding.** Each component and each person's year to the cent, half up, from the exact
  sum (so a person's total can differ by a cent from the sum of its rounded components);
  totals are sums of the persons' rounded years.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from fractions import Fraction
from math import floor

from shared.law.compensation_days import (
    DAY,
    EVER,
    Span,
    calendar_year,
    clipped,
    days_in_year,
    total_days,
    years_after,
)
from shared.law.compensation_periods import Period, Person
from shared.law.compensation_rules import CompensationLaw, compensation_law
from shared.law.rulebook import Rule

# --- where: the days the person lived in the municipality ---


@dataclass(frozen=True)
class Residency:
    spans: tuple[Span, ...]
    assumed: bool  # no home municipality stated: taken to be ours


def residency(person: Person, municipality: str) -> Residency:
    """The days the person's home municipality was ``municipality``, to the day of death."""
    by_day: dict[date, str | None] = {}
    for registration in person.residence:  # a later record of the same day wins
        by_day.pop(registration.since, None)
        by_day[registration.since] = registration.municipality
    dated = sorted(by_day.items())
    while dated and dated[0][1] is None:  # no municipality before any: nothing said
        dated.pop(0)
    if not dated:
        stated = person.facts.home_municipality
        spans = (EVER,) if stated in (None, municipality) else ()
        return Residency(_until_death(spans, person.died_on), assumed=stated is None)
    spans_list = []
    for index, (since, where) in enumerate(dated):
        if where != municipality:
            continue
        last = dated[index + 1][0] - DAY if index + 1 < len(dated) else date.max
        spans_list.append(Span(since, last))
    return Residency(_until_death(tuple(spans_list), person.died_on), assumed=False)


def _until_death(spans: tuple[Span, ...], died_on: date | None) -> tuple[Span, ...]:
    if died_on is None:
        return spans
    return tuple(clipped(spans, Span(date.min, died_on)))


# --- how much ---


@dataclass(frozen=True)
class Priced:
    days: int
    euros: Fraction
    unpriced_days: int
    rules: tuple[Rule, ...]


def _priced(spans: Sequence[Span], rule_id: str, year_days: int, law: CompensationLaw) -> Priced:
    """The days of ``spans`` at the amount of ``rule_id`` in force on each day."""
    days = total_days(spans)
    euros = Fraction(0)
    priced = 0
    used: list[Rule] = []
    for rule in law.versions(rule_id):
        valid = Span(rule.valid_from, rule.valid_until or date.max)
        covered = total_days(clipped(spans, valid))
        if covered:
            euros += Fraction(int(rule.value("euros"))) * covered / year_days
            priced += covered
            used.append(rule)
    return Priced(days, euros, days - priced, tuple(used))


def cents(amount: Fraction) -> Decimal:
    """To the cent, half up (exactly: no binary floating point on the way)."""
    hundredths = floor(amount * 100 + Fraction(1, 2))
    return Decimal(hundredths).scaleb(-2).quantize(Decimal("0.01"))


@dataclass(frozen=True)
class PersonYear:
    period: Period
    year: int
    counted: tuple[Span, ...]  # the days of the year compensated for
    residence_assumed: bool
    days_in_year: int
    under_7: Priced
    from_7: Priced
    adult_supplement: Priced
    adult_year: Span | None  # the first year paid as an adult, within the period

    @property
    def exact(self) -> Fraction:
        return self.under_7.euros + self.from_7.euros + self.adult_supplement.euros

    @property
    def euros(self) -> Decimal:
        return cents(self.exact)

    @property
    def days(self) -> int:
        return total_days(self.counted)

    @property
    def unpriced_days(self) -> int:
        return self.under_7.unpriced_days + self.from_7.unpriced_days

    @property
    def rules(self) -> tuple[Rule, ...]:
        found = {
            rule.id: rule
            for rule in (
                *self.period.rules,
                *self.under_7.rules,
                *self.from_7.rules,
                *self.adult_supplement.rules,
            )
        }
        return tuple(found.values())


def adult_year(period: Period, birth_date: date, law: CompensationLaw) -> Span | None:
    """The first year of the period in which the person is 18 or over, within the period."""
    rule = law.rule("compensation.amount.adult_first_year")
    of_age = years_after(birth_date, int(rule.value("from_age")))
    first = max(period.starts_on, of_age)
    return Span(first, years_after(first, 1) - DAY).clip(period.span)


def person_year(
    period: Period,
    person: Person,
    year: int,
    municipality: str,
    law: CompensationLaw | None = None,
) -> PersonYear | None:
    """The person's compensation for calendar ``year``, or None when no day of it counts."""
    law = law or compensation_law()
    if person.birth_date is None:
        return None
    window = period.span.clip(calendar_year(year))
    if window is None:
        return None
    lives = residency(person, municipality)
    counted = tuple(clipped(lives.spans, window))
    if not counted:
        return None
    seven = years_after(
        person.birth_date, int(law.rule("compensation.amount.from_7").value("from_age"))
    )
    year_days = days_in_year(year)
    young = clipped(counted, Span(date.min, seven - DAY))
    older = clipped(counted, Span(seven, date.max))
    adult = adult_year(period, person.birth_date, law)
    supplement = clipped(counted, adult) if adult is not None else []
    return PersonYear(
        period=period,
        year=year,
        counted=counted,
        residence_assumed=lives.assumed,
        days_in_year=year_days,
        under_7=_priced(young, "compensation.amount.under_7", year_days, law),
        from_7=_priced(older, "compensation.amount.from_7", year_days, law),
        adult_supplement=_priced(
            supplement, "compensation.amount.adult_first_year", year_days, law
        ),
        adult_year=adult,
    )


@dataclass(frozen=True)
class Totals:
    persons: int = 0
    days: int = 0
    euros: Decimal = Decimal("0.00")
    by_ground: dict[str, Decimal] = field(default_factory=dict)


def totals(years: Iterable[PersonYear]) -> Totals:
    """Sums of the persons' rounded years."""
    persons = 0
    days = 0
    euros = Decimal("0.00")
    by_ground: dict[str, Decimal] = {}
    for found in years:
        persons += 1
        days += found.days
        euros += found.euros
        kind = found.period.ground.kind
        by_ground[kind] = by_ground.get(kind, Decimal("0.00")) + found.euros
    return Totals(persons, days, euros, dict(sorted(by_ground.items())))
