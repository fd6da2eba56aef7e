"""The state's calculated compensation, worked by hand to the cent (shared.law.compensation):
who, from when, how long, and how much per calendar year (Decree 872/2024 §1(1): 2 741 €
under 7, 2 052 € from 7, 7 741 € more for the first year paid as an adult, all per year and
prorated by day over 365 or 366)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from fractions import Fraction
from typing import Any
from uuid import UUID, uuid4

import pytest

from shared.contracts.clients import ClientFacts
from shared.law import compensation as law

HOME = "320"


def person(
    born: date | None,
    residence: tuple[law.Residence, ...] = (),
    died_on: date | None = None,
    client_id: UUID | None = None,
    **facts: Any,
) -> law.Person:
    return law.Person(
        client_id=client_id or uuid4(),
        facts=ClientFacts.model_validate(facts),
        birth_date=born,
        residence=residence,
        died_on=died_on,
    )


def decided(*people: law.Person) -> dict[UUID, law.Decision]:
    return law.decide({p.client_id: p for p in people})


def period_of(who: law.Person, *others: law.Person) -> law.Period:
    found = decided(who, *others)[who.client_id]
    assert isinstance(found, law.Period), found
    return found


def year_of(who: law.Person, year: int, *others: law.Person) -> law.PersonYear | None:
    return law.person_year(period_of(who, *others), who, year, HOME)


def euros(who: law.Person, year: int, *others: law.Person) -> Decimal:
    found = year_of(who, year, *others)
    return found.euros if found else Decimal("0.00")


def test_protection_registered_in_2025_is_two_years_with_the_adult_year() -> None:
    adult = person(
        date(1990, 5, 10), international_protection=True, first_home_municipality_on="2025-03-01"
    )
    period = period_of(adult)
    expected = (date(2025, 3, 1), date(2027, 2, 28), 2)
    assert (period.starts_on, period.ends_on, period.years) == expected
    assert period.length_rule.section == "§61(3)" and period.length_rule.amended_by == "322/2024"
    first = year_of(adult, 2025)
    assert first is not None
    # 306 days of 365: 2 052 × 306/365 = 1 720.31 and 7 741 × 306/365 = 6 489.72; the exact
    # sum 2 996 658/365 = 8 210.0219… is rounded once.
    assert (first.days, first.from_7.days, first.adult_supplement.days) == (306, 306, 306)
    assert law.cents(first.from_7.euros) == Decimal("1720.31")
    assert law.cents(first.adult_supplement.euros) == Decimal("6489.72")
    assert first.euros == Decimal("8210.02")
    # 2026: the whole year at 2 052 €, and the adult year's last 59 days (to 28 Feb).
    assert euros(adult, 2026) == Decimal("3303.28")
    # 2027: 59 days to the period's end.
    assert euros(adult, 2027) == Decimal("331.69")
    assert year_of(adult, 2028) is None


def test_a_quota_refugee_whose_period_began_in_2024_has_four_years() -> None:
    quota = person(date(1985, 1, 1), quota_refugee=True, first_home_municipality_on="2024-06-15")
    period = period_of(quota)
    assert (period.ends_on, period.years) == (date(2028, 6, 14), 4)
    assert period.length_rule.section == "§102(6)"
    # 2024 is counted but no amount of the decree was in force: not priced here.
    before = year_of(quota, 2024)
    assert before is not None and before.euros == Decimal("0.00")
    assert before.unpriced_days == 200
    # 2025: 2 052 € and the adult year's days to 14 Jun (165): 2 026 245/365 = 5 551.356…
    assert euros(quota, 2025) == Decimal("5551.36")
    assert euros(quota, 2026) == euros(quota, 2027) == Decimal("2052.00")
    # 2028 is a leap year: 166 days of 366.
    assert euros(quota, 2028) == Decimal("930.69")


def test_begun_before_2025_others_get_three_years_and_so_do_a_quota_refugee_s_family() -> None:
    quota = person(date(1980, 2, 2), quota_refugee=True, first_home_municipality_on="2024-10-01")
    family = person(
        date(1982, 7, 7),
        family_tie_to=str(quota.client_id),
        first_home_municipality_on="2024-11-01",
    )
    other = person(
        date(1999, 1, 1), international_protection=True, home_municipality_since="2024-12-31"
    )
    found = decided(quota, family, other)
    assert [found[p.client_id].years for p in (quota, family, other)] == [4, 3, 3]  # type: ignore[union-attr]
    assert found[other.client_id].start_assumed  # type: ignore[union-attr]


def test_a_quota_refugee_s_family_member_registered_in_2025_has_three_years() -> None:
    quota = person(date(1980, 2, 2), quota_refugee=True, first_home_municipality_on="2025-05-01")
    family = person(
        date(1992, 3, 3),
        family_tie_to=str(quota.client_id),
        first_home_municipality_on="2025-08-01",
    )
    period = period_of(family, quota)
    assert (period.ends_on, period.years, period.ground.section) == (date(2028, 7, 31), 3, "§2(4)")
    assert period.length_rule.id == "compensation.period.quota_refugee"
    # 153 days: (2 052 + 7 741) × 153/365 = 4 105.01.
    assert euros(family, 2025, quota) == Decimal("4105.01")
    # A protection beneficiary's family member gets the two years.
    protected = person(
        date(1980, 2, 2), international_protection=True, first_home_municipality_on="2025-05-01"
    )
    kin = person(
        date(1992, 3, 3),
        family_tie_to=str(protected.client_id),
        first_home_municipality_on="2025-08-01",
    )
    assert period_of(kin, protected).years == 2


def test_a_child_turning_7_changes_band_on_the_birthday() -> None:
    child = person(
        date(2018, 9, 10), international_protection=True, first_home_municipality_on="2025-02-01"
    )
    found = year_of(child, 2025)
    assert found is not None
    # Under 7 from 1 Feb to 9 Sep (221 days), 7 from the 10th (113 days).
    assert (found.under_7.days, found.from_7.days, found.adult_supplement.days) == (221, 113, 0)
    assert law.cents(found.under_7.euros) == Decimal("1659.62")
    assert law.cents(found.from_7.euros) == Decimal("635.28")
    assert found.euros == Decimal("2294.90")


def test_a_young_person_turning_18_gets_the_adult_year_from_the_birthday() -> None:
    young = person(
        date(2008, 4, 20), international_protection=True, first_home_municipality_on="2025-01-15"
    )
    period = period_of(young)
    assert law.adult_year(period, date(2008, 4, 20), law.compensation_law()) == law.Span(
        date(2026, 4, 20), date(2027, 1, 14)
    )
    assert euros(young, 2025) == Decimal("1973.29")  # 351 days at 2 052 €
    assert euros(young, 2026) == Decimal("7481.30")  # + 256 days of the adult year
    assert euros(young, 2027) == Decimal("375.62")  # 14 days of both


def test_a_child_born_in_finland_ends_with_the_parent_s_period() -> None:
    parent = person(
        date(1990, 1, 1), international_protection=True, first_home_municipality_on="2024-03-01"
    )
    child = person(
        date(2025, 6, 10),
        born_in_finland_to=str(parent.client_id),
        first_home_municipality_on="2025-06-10",
    )
    period = period_of(child, parent)
    assert (period.starts_on, period.ends_on, period.years) == (
        date(2025, 6, 10),
        date(2027, 2, 28),
        None,
    )
    assert period.length_rule.section == "§61(4)" and period.ground.section == "§2(5)"
    assert euros(child, 2025, parent) == Decimal("1539.47")  # 205 days at 2 741 €
    assert euros(child, 2026, parent) == Decimal("2741.00")
    assert euros(child, 2027, parent) == Decimal("443.07")  # 59 days
    # A child of a parent the act does not compensate for is not one of §2(5).
    worker = person(
        date(1990, 1, 1),
        residence_permit={"type": "A", "ground_section": "50", "first_permit_on": "2024-01-01"},
    )
    orphaned = person(
        date(2025, 6, 10),
        born_in_finland_to=str(worker.client_id),
        first_home_municipality_on="2025-06-10",
    )
    missing = decided(worker, orphaned)
    assert worker.client_id not in missing
    assert isinstance(missing[orphaned.client_id], law.Missing)


@pytest.mark.parametrize(
    ("permit", "covered"),
    [
        ({"ground_section": "51"}, True),
        ({"ground_section": "52"}, True),
        ({"ground_section": "89"}, True),
        ({"ground_section": "93"}, True),
        ({"ground_section": "52a", "ground_subsection": 2}, True),
        ({"ground_section": "52a", "ground_subsection": 1}, False),
        ({"ground_section": "54", "ground_subsection": 5}, True),
        ({"ground_section": "54", "ground_subsection": 1}, False),
        ({"ground_section": "109"}, False),
        ({"ground_section": "50"}, False),
    ],
)
def test_the_permit_grounds_of_section_2_3(permit: dict[str, Any], covered: bool) -> None:
    who = person(
        date(1990, 1, 1),
        residence_permit={"type": "A", "first_permit_on": "2025-01-10", **permit},
        first_home_municipality_on="2025-02-01",
    )
    found = decided(who).get(who.client_id)
    assert isinstance(found, law.Period) is covered, found


def test_what_cannot_be_decided_is_listed_with_the_missing_facts() -> None:
    no_date = person(date(1990, 1, 1), international_protection=True)
    no_birth = person(None, international_protection=True, first_home_municipality_on="2025-01-01")
    no_ground = person(
        date(1990, 1, 1), residence_permit={"type": "A", "first_permit_on": "2025-01-01"}
    )
    no_subsection = person(
        date(1990, 1, 1),
        residence_permit={"type": "P", "ground_section": "54", "first_permit_on": "2025-01-01"},
    )
    no_permit = person(date(1990, 1, 1), home_municipality_since="2025-01-01")
    section_110 = person(
        date(1990, 1, 1),
        residence_permit={"type": "A", "ground_section": "110", "first_permit_on": "2025-01-01"},
    )
    temporary = person(
        date(1990, 1, 1),
        residence_permit={"type": "temporary_protection", "first_permit_on": "2025-01-01"},
    )
    found = decided(no_date, no_birth, no_ground, no_subsection, no_permit, section_110, temporary)
    assert {key: value.facts for key, value in found.items()} == {  # type: ignore[union-attr]
        no_date.client_id: ("first_home_municipality_on",),
        no_birth.client_id: ("birth_date",),
        no_ground.client_id: ("residence_permit.ground_section",),
        no_subsection.client_id: ("residence_permit.ground_subsection",),
        no_permit.client_id: ("residence_permit",),
        section_110.client_id: ("first_home_municipality_on",),
    }


def test_the_first_permit_starts_it_for_one_who_does_not_meet_the_home_municipality_act() -> None:
    unmet = person(
        date(1990, 1, 1),
        residence_permit={"type": "A", "ground_section": "52", "first_permit_on": "2025-04-01"},
        home_municipality_act_unmet=True,
    )
    period = period_of(unmet)
    assert (period.starts_on, period.start_rule.section) == (date(2025, 4, 1), "§59(3)")
    # §110: from the first home municipality all the same.
    with_110 = person(
        date(1990, 1, 1),
        residence_permit={"type": "A", "ground_section": "110", "first_permit_on": "2025-04-01"},
        home_municipality_act_unmet=True,
        first_home_municipality_on="2025-06-01",
    )
    period = period_of(with_110)
    assert (period.starts_on, period.start_rule.id) == (
        date(2025, 6, 1),
        "compensation.start.section_110",
    )


def test_only_the_days_in_the_municipality_count_and_none_after_death() -> None:
    moved = person(
        date(1990, 1, 1),
        international_protection=True,
        first_home_municipality_on="2025-02-01",
        residence=(law.Residence(date(2025, 2, 1), HOME), law.Residence(date(2025, 7, 1), "698")),
    )
    found = year_of(moved, 2025)
    assert found is not None and found.counted == (law.Span(date(2025, 2, 1), date(2025, 6, 30)),)
    moved_in = person(
        date(1990, 1, 1),
        quota_refugee=True,
        first_home_municipality_on="2024-01-10",
        residence=(law.Residence(date(2025, 3, 1), HOME),),
    )
    found = year_of(moved_in, 2025)
    assert found is not None and found.counted == (law.Span(date(2025, 3, 1), date(2025, 12, 31)),)
    died = person(
        date(1990, 1, 1),
        international_protection=True,
        first_home_municipality_on="2025-01-01",
        deceased=True,
        died_on=date(2025, 1, 31),
    )
    found = year_of(died, 2025)
    assert found is not None and found.days == 31
    elsewhere = person(
        date(1990, 1, 1),
        international_protection=True,
        first_home_municipality_on="2025-01-01",
        home_municipality="698",
    )
    assert year_of(elsewhere, 2025) is None


def test_cents_are_rounded_half_up_exactly() -> None:
    assert law.cents(Fraction(1, 200)) == Decimal("0.01")
    assert law.cents(Fraction(12345, 1000)) == Decimal("12.35")
    assert law.cents(Fraction(12344999, 1000000)) == Decimal("12.34")
    assert law.totals([]).euros == Decimal("0.00")


def test_a_period_of_29_february_ends_on_27_february() -> None:
    leap = person(
        date(1990, 1, 1), international_protection=True, first_home_municipality_on="2028-02-29"
    )
    assert period_of(leap).ends_on == date(2030, 2, 27)


def test_the_conditions_of_section_59_1_are_stated_not_assumed() -> None:
    unstated = law.Conditions(None, None, None)
    assert len(law.condition_warnings(2025, unstated)) == 2
    kemijarvi = law.Conditions(date(2023, 1, 1), date(2025, 12, 31), "Lapin ELY-keskus 2024")
    assert law.condition_warnings(2025, kemijarvi) == []
    [warning] = law.condition_warnings(2026, kemijarvi)
    assert "does not cover the whole of 2026" in warning


def test_a_quota_refugee_s_family_member_with_protection_of_their_own_has_three_years() -> None:
    quota = person(date(1980, 2, 2), quota_refugee=True, first_home_municipality_on="2025-05-01")
    spouse = person(
        date(1982, 2, 2),
        international_protection=True,
        family_tie_to=str(quota.client_id),
        first_home_municipality_on="2025-05-01",
    )
    period = period_of(spouse, quota)
    assert (period.years, period.ground.kind) == (3, "international_protection")


def test_a_child_s_period_needs_the_parent_s_period_not_the_parent_s_birth_date() -> None:
    parent = person(None, international_protection=True, first_home_municipality_on="2025-01-01")
    child = person(
        date(2025, 3, 1),
        born_in_finland_to=str(parent.client_id),
        first_home_municipality_on="2025-03-01",
    )
    found = decided(parent, child)
    assert found[parent.client_id] == law.Missing(parent.client_id, ("birth_date",))
    assert found[child.client_id].ends_on == date(2026, 12, 31)  # type: ignore[union-attr]
