"""The state's calculated compensation to the municipality (Act 681/2023 §61 with §59 and
§2(3)–(5); Government Decree 872/2024 §1(1)), and the old law's claims due by the end of 2026
(§102(1) as amended by Act 1100/2024). Pure: facts and dates come in, figures go out; the
amounts, periods and grounds are data with their citations (``compensation.toml``).

How the law is read here (each reading a choice where the texts leave room):

- **Whom.** §2(3): the facts ``international_protection`` or ``quota_refugee``, or a residence
  permit whose ground is Aliens Act §51, §52, §89 or §93, §52a with subsection 2, §54 with
  subsection 5, or §110 once a first home municipality is registered (the Home Municipality
  Act §4 condition, read as "has one"). A permit without its ground section (other than
  temporary protection or a right of residence, which §2(3) does not name), a §52a/§54 permit
  without its subsection, and a person with no permit and no such fact are listed as missing
  facts, not guessed. §2(4): ``family_tie_to`` names a client of §2(3) (staff vouch for the
  tie predating that person's arrival); a quota refugee's family member has the family
  member's period even when they have a §2(3) ground of their own. §2(5):
  ``born_in_finland_to`` names a parent client of §2(3) or §2(4).
- **From when** (§59(2)–(3) as amended by 1100/2024): ``first_home_municipality_on``; absent
  that, ``home_municipality_since`` stands in for it and the period is marked
  ``start_assumed``. With ``home_municipality_act_unmet`` and a permit other than §110: the
  first permit's day (§59(3)). Nothing usable, or no birth date: missing facts.
- **How long.** A period is [start, start + N years − 1 day], both days counted (a 29 February
  start ends on the 27th of February N years on: 150/1930 §3 puts "start + N years" on the
  28th). Begun before 1 Jan 2025: N = 3, 4 for a quota refugee (§102(6) as amended by
  322/2024; it names the quota refugee only, so their family members get 3). Otherwise N = 2,
  3 for a quota refugee and their §2(4) family member (§61(3) as amended by 322/2024). A child
  of §2(5) is compensated from its own start to the end of its parent's period (§61(4)), and
  not at all if that has ended.
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

import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction
from functools import cache
from importlib import resources
from math import floor
from uuid import UUID

from dateutil.relativedelta import relativedelta

from shared.contracts.clients import ClientFacts, PermitType, ResidencePermit
from shared.law.rulebook import Rule, RuleBook

DAY = timedelta(days=1)

# --- the law as data ---


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


# --- days ---


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


def _clipped(spans: Iterable[Span], window: Span) -> list[Span]:
    return [clipped for span in spans if (clipped := span.clip(window)) is not None]


def _total_days(spans: Iterable[Span]) -> int:
    return sum(span.days for span in spans)


# --- the person ---


@dataclass(frozen=True)
class Residence:
    """A dated home-municipality registration: ``municipality`` from ``since`` (None: none in
    Finland, e.g. moved abroad)."""

    since: date
    municipality: str | None


@dataclass(frozen=True)
class Person:
    client_id: UUID
    facts: ClientFacts
    birth_date: date | None
    residence: tuple[Residence, ...] = ()  # in the order they were recorded
    died_on: date | None = None


@dataclass(frozen=True)
class Ground:
    """Why the person is one the act compensates for."""

    kind: str  # international_protection, quota_refugee, permit, family_member, child
    description: str
    rule: Rule
    quota_refugee: bool = False  # the person is one (§61(3), §102(6))
    anchor: UUID | None = None  # the §2(3) person of a family member; a child's parent

    @property
    def section(self) -> str:
        return {"family_member": "§2(4)", "child": "§2(5)"}.get(self.kind, "§2(3)")


@dataclass(frozen=True)
class Missing:
    """What staff must record before the person can be decided on."""

    client_id: UUID
    facts: tuple[str, ...]


@dataclass(frozen=True)
class Period:
    client_id: UUID
    ground: Ground
    starts_on: date
    ends_on: date
    start_assumed: bool
    start_rule: Rule
    length_rule: Rule
    years: int | None  # None: a child's, which ends with its parent's (§61(4))

    @property
    def span(self) -> Span:
        return Span(self.starts_on, self.ends_on)

    @property
    def rules(self) -> tuple[Rule, ...]:
        return (self.ground.rule, self.start_rule, self.length_rule)


Decision = Period | Missing


@dataclass(frozen=True)
class Unknown:
    """Whether the person is covered cannot be told without these facts."""

    facts: tuple[str, ...]


# --- whom ---

_OWN = (
    "compensation.coverage.protection_permit",
    "compensation.coverage.humanitarian_admission",
)


def _ground_key(section: str, subsection: int | None) -> str:
    return f"{section}({subsection})" if subsection is not None else section


def permit_ground(
    permit: ResidencePermit, facts: ClientFacts, law: CompensationLaw
) -> Ground | Unknown | None:
    """§2(3)(2)–(5) by the permit's ground; a ground that cannot be read is missing."""
    section = permit.ground_section
    description = f"residence permit, Aliens Act §{section}"
    if section is None:
        if permit.type in (PermitType.TEMPORARY_PROTECTION, PermitType.RIGHT_OF_RESIDENCE):
            return None  # temporary protection (§109) and EU rights are not of §2(3)
        return Unknown(("residence_permit.ground_section",))
    for rule_id in _OWN:
        rule = law.rule(rule_id)
        if section in rule.value("ground_sections"):
            return Ground("permit", description, rule)
    continuous = law.rule("compensation.coverage.continuous_permit")
    grounds = set(continuous.value("grounds"))
    if any(ground.startswith(f"{section}(") for ground in grounds):
        if permit.ground_subsection is None:
            return Unknown(("residence_permit.ground_subsection",))
        key = _ground_key(section, permit.ground_subsection)
        if key in grounds:
            return Ground("permit", f"residence permit, Aliens Act §{key}", continuous)
        return None
    section_110 = law.rule("compensation.coverage.section_110")
    if section in section_110.value("ground_sections"):
        if facts.first_home_municipality_on or facts.home_municipality_since:
            return Ground("permit", description, section_110)
        return Unknown(("first_home_municipality_on",))
    return None


def own_ground(facts: ClientFacts, law: CompensationLaw) -> Ground | Unknown | None:
    """Whether the person is of §2(3) by their own facts (Unknown: cannot be told)."""
    if facts.quota_refugee:
        rule = law.rule("compensation.coverage.quota_refugee")
        return Ground("quota_refugee", "quota refugee (Aliens Act §90)", rule, quota_refugee=True)
    if facts.international_protection:
        rule = law.rule("compensation.coverage.international_protection")
        return Ground("international_protection", "international protection", rule)
    if facts.residence_permit is not None:
        return permit_ground(facts.residence_permit, facts, law)
    if facts.finnish_citizen:
        return None
    return Unknown(("residence_permit",))


# --- from when, how long ---


def start_of(
    facts: ClientFacts, ground: Ground, law: CompensationLaw
) -> tuple[date, bool, Rule] | None:
    """The time of §59(2)–(3): (day, assumed, rule), or None when no fact gives it."""
    permit = facts.residence_permit
    section_110 = permit is not None and permit.ground_section in law.rule(
        "compensation.start.section_110"
    ).value("ground_sections")
    if facts.home_municipality_act_unmet and permit is not None and not section_110:
        return permit.first_permit_on, False, law.rule("compensation.start.first_permit")
    rule = law.rule(
        "compensation.start.section_110"
        if section_110 and ground.kind == "permit"
        else "compensation.start.first_home_municipality"
    )
    if facts.first_home_municipality_on is not None:
        return facts.first_home_municipality_on, False, rule
    if facts.home_municipality_since is not None:
        return facts.home_municipality_since, True, rule
    return None


def length_rule(
    starts_on: date, quota_refugee: bool, family_of_quota: bool, law: CompensationLaw
) -> Rule:
    transition = law.rule("compensation.period.begun_before_2025")
    if starts_on < transition.value("begun_before"):
        quota = law.rule("compensation.period.begun_before_2025.quota_refugee")
        takes_family = bool(quota.values().get("family_members", False))
        return quota if quota_refugee or (family_of_quota and takes_family) else transition
    quota = law.rule("compensation.period.quota_refugee")
    takes_family = bool(quota.values().get("family_members", False))
    if quota_refugee or (family_of_quota and takes_family):
        return quota
    return law.rule("compensation.period")


def period_end(starts_on: date, years: int) -> date:
    return years_after(starts_on, years) - DAY


# --- deciding everyone ---


def _missing(client_id: UUID, *facts: str) -> Missing:
    return Missing(client_id, tuple(dict.fromkeys(facts)))


def decide(
    persons: Mapping[UUID, Person], law: CompensationLaw | None = None
) -> dict[UUID, Decision]:
    """Each person's period, or the facts missing for it; persons the act does not
    compensate for are left out. Family members and children are decided after the persons
    they depend on; a period needs no birth date, the euros do (so a child's period can end
    with that of a parent whose birth date is unknown, or who was erased)."""
    law = law or compensation_law()
    own = {client_id: own_ground(person.facts, law) for client_id, person in persons.items()}
    grounds = {client_id: _ground(person, own, law) for client_id, person in persons.items()}
    periods: dict[UUID, Period | Missing] = {}
    for client_id, person in persons.items():
        ground = grounds[client_id]
        if isinstance(ground, Ground) and ground.kind != "child":
            periods[client_id] = _period(person, ground, _family_of_quota(person, own), law)
        elif isinstance(ground, Unknown):
            periods[client_id] = Missing(client_id, ground.facts)
    for client_id, person in persons.items():
        ground = grounds[client_id]
        if isinstance(ground, Ground) and ground.kind == "child" and ground.anchor:
            periods[client_id] = _child_period(person, ground, periods.get(ground.anchor), law)
    return {
        client_id: _with_dates(persons[client_id], decision)
        for client_id, decision in periods.items()
    }


def _with_dates(person: Person, decision: Period | Missing) -> Decision:
    """The decision, or what is missing besides for the euros: the birth date, a death's day."""
    missing = [] if person.birth_date is not None else ["birth_date"]
    if person.facts.deceased and person.died_on is None:
        missing.append("date of death (deceased without a dated change of facts)")
    if isinstance(decision, Missing):
        return _missing(person.client_id, *decision.facts, *missing)
    return _missing(person.client_id, *missing) if missing else decision


def _family_of_quota(person: Person, own: Mapping[UUID, Ground | Unknown | None]) -> bool:
    """A family member of §2(4) of a quota refugee (§61(3)), whatever their own ground."""
    tie = person.facts.family_tie_to
    anchor = own.get(tie) if tie is not None else None
    return isinstance(anchor, Ground) and anchor.quota_refugee


def _ground(
    person: Person,
    own: Mapping[UUID, Ground | Unknown | None],
    law: CompensationLaw,
) -> Ground | Unknown | None:
    mine = own[person.client_id]
    if isinstance(mine, Ground):
        return mine
    facts = person.facts
    if facts.family_tie_to is not None:
        anchor = own.get(facts.family_tie_to)
        if isinstance(anchor, Ground):
            return Ground(
                "family_member",
                f"family member of client {facts.family_tie_to} ({anchor.description})",
                law.rule("compensation.coverage.family_member"),
                anchor=facts.family_tie_to,
            )
        why = "is not decided yet" if isinstance(anchor, Unknown) else "is not one of §2(3)"
        return Unknown((f"family_tie_to: client {facts.family_tie_to} {why}",))
    if facts.born_in_finland_to is not None:
        return Ground(
            "child",
            f"child born in Finland to client {facts.born_in_finland_to}",
            law.rule("compensation.coverage.child_born_in_finland"),
            anchor=facts.born_in_finland_to,
        )
    return mine


def _period(
    person: Person, ground: Ground, family_of_quota: bool, law: CompensationLaw
) -> Period | Missing:
    start = start_of(person.facts, ground, law)
    if start is None:
        return Missing(person.client_id, ("first_home_municipality_on",))
    starts_on, assumed, start_rule = start
    rule = length_rule(starts_on, ground.quota_refugee, family_of_quota, law)
    years = int(rule.value("years"))
    return Period(
        client_id=person.client_id,
        ground=ground,
        starts_on=starts_on,
        ends_on=period_end(starts_on, years),
        start_assumed=assumed,
        start_rule=start_rule,
        length_rule=rule,
        years=years,
    )


def _child_period(
    person: Person, ground: Ground, parent: Period | Missing | None, law: CompensationLaw
) -> Period | Missing:
    start = start_of(person.facts, ground, law)
    missing = [] if start is not None else ["first_home_municipality_on"]
    if not isinstance(parent, Period) or parent.ground.kind == "child":
        why = "is not decided yet" if isinstance(parent, Missing) else "is not of §2(3) or §2(4)"
        missing.append(f"born_in_finland_to: client {ground.anchor} {why}")
    if start is None or not isinstance(parent, Period) or missing:
        return Missing(person.client_id, tuple(missing))
    starts_on, assumed, start_rule = start
    return Period(
        client_id=person.client_id,
        ground=ground,
        starts_on=starts_on,
        ends_on=parent.ends_on,
        start_assumed=assumed,
        start_rule=start_rule,
        length_rule=law.rule("compensation.period.child_born_in_finland"),
        years=None,
    )


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
    return tuple(_clipped(spans, Span(date.min, died_on)))


# --- how much ---


@dataclass(frozen=True)
class Priced:
    days: int
    euros: Fraction
    unpriced_days: int
    rules: tuple[Rule, ...]


def _priced(spans: Sequence[Span], rule_id: str, year_days: int, law: CompensationLaw) -> Priced:
    """The days of ``spans`` at the amount of ``rule_id`` in force on each day."""
    days = _total_days(spans)
    euros = Fraction(0)
    priced = 0
    used: list[Rule] = []
    for rule in law.versions(rule_id):
        valid = Span(rule.valid_from, rule.valid_until or date.max)
        covered = _total_days(_clipped(spans, valid))
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
        return _total_days(self.counted)

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
    counted = tuple(_clipped(lives.spans, window))
    if not counted:
        return None
    seven = years_after(
        person.birth_date, int(law.rule("compensation.amount.from_7").value("from_age"))
    )
    year_days = days_in_year(year)
    young = _clipped(counted, Span(date.min, seven - DAY))
    older = _clipped(counted, Span(seven, date.max))
    adult = adult_year(period, person.birth_date, law)
    supplement = _clipped(counted, adult) if adult is not None else []
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
