"""Whom the state compensates the municipality for, from when and for how long (Act 681/2023
§2(3)–(5), §59(2)–(3), §61(3)–(4), §102(6)): each person's period, or the facts missing to
decide it. Pure: facts come in, periods go out (their euros: ``compensation_amounts``).

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
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from uuid import UUID

from shared.contracts.clients import ClientFacts, PermitType, ResidencePermit
from shared.law.compensation_days import DAY, Span, years_after
from shared.law.compensation_rules import CompensationLaw, compensation_law
from shared.law.rulebook import Rule

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
