"""The compensation's data is the statute's own (``shared/law/compensation.toml``): each
entry's phrase stands in the cited section and subsection of the act's text, and every number
of the entry is one its phrase says — as tests/test_law_texts.py checks for rules.toml."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal
from importlib import resources
from typing import Any

import pytest

from shared.contracts.clients import ClientFacts
from shared.law.compensation import compensation_law
from shared.law.rulebook import Rule
from tests.test_law_texts import NUMBERS, TEXTS, periods_in, where

ACTS = {**TEXTS, "872/2024": "872-2024-decree-compensation.txt"}
DECREES = {"872/2024"}
RULES = compensation_law().all()


def text_of(act: str) -> str:
    return resources.files("shared.law").joinpath("texts", ACTS[act]).read_text("utf-8")


def johtolause(act: str) -> str:
    return next(line for line in text_of(act).splitlines() if line.startswith("Johtolause:"))


def euros_in(quote: str) -> list[Decimal]:
    """Amounts as the texts write them: "2 741 euroa", "56,70 euroa"."""
    found = re.findall(r"(\d{1,3}(?:[  ]\d{3})*(?:,\d+)?) euroa", quote)
    return [Decimal(re.sub(r"[  ]", "", n).replace(",", ".")) for n in found]


def section_named(quote: str, section: str) -> bool:
    """The quote names ``section`` of an act ("52a" is written "52 a")."""
    match = re.fullmatch(r"(\d+)([a-z]?)", section)
    assert match, section
    number, letter = match.groups()
    suffix = rf"\s?{letter}\b" if letter else r"(?![\d\s]?[a-z]\b)"
    return re.search(rf"(?<!\d){number}(?!\d){suffix}", quote) is not None


def subsection_named(quote: str, ground: str) -> bool:
    """ "52a(2)" stands as "52 a §:n 2 momentin"; "49(1)(3)" as "49 §:n 1 momentin 3 kohdan"."""
    match = re.fullmatch(r"(\d+)([a-z]?)(?:\((\d+)\))?(?:\((\d+)\))?", ground)
    assert match, ground
    number, letter, subsection, point = match.groups()
    if subsection is None:
        return section_named(quote, ground)
    phrase = f"{number}{' ' + letter if letter else ''} §:n {subsection} momentin"
    return phrase + (f" {point} kohdan" if point else "") in quote


STRUCTURE = {"amending_subsection", "johtolause"}


def check_value(rule: Rule, key: str, value: Any) -> None:
    quote = rule.quote
    match key:
        case "years":
            assert periods_in(quote) == [(value, "years")], (rule.id, quote)
        case "euros":
            assert euros_in(quote) == [Decimal(value)], (rule.id, quote)
        case "under_age":
            assert f"alle {value}-vuotia" in quote, (rule.id, quote)
        case "from_age":
            assert f"{value} vuotta täyttäne" in quote, (rule.id, quote)
        case (
            "ground_sections"
            | "aliens_act_sections"
            | "home_municipality_act_sections"
            | "assessment_sections"
            | "grounds"
            | "old_sections"
        ):
            for ground in value:
                assert subsection_named(quote, ground), (rule.id, ground, quote)
        case "agreement_section":
            assert section_named(quote, value), (rule.id, quote)
        case "claims_by":
            assert (value.month, value.day) == (12, 31)
            assert f"vuoden {value.year} loppuun" in quote, (rule.id, quote)
        case "begun_before":
            # "ennen tämän lain voimaantuloa": the amending act's day of entry into force.
            assert "ennen tämän lain voimaantuloa" in quote
            entry = text_of(rule.amended_by or rule.law).split("## Voimaantulo")[1]
            assert f"1 päivänä tammikuuta {value.year}" in entry and (value.month, value.day) == (
                1,
                1,
            )
        case "organised_before":
            assert rule.valid_until is not None and value == rule.valid_until + timedelta(days=1)
        case "family_members":
            assert ("perheenjäsen" in quote) is value, (rule.id, quote)
        case "facts":
            assert set(value) <= set(ClientFacts.model_fields), value
        case _ if key in STRUCTURE:
            pass
        case _:
            pytest.fail(f"{rule.id}: no check knows the value {key!r}: add one")


def cited(rule: Rule) -> tuple[str, str | None]:
    match = re.fullmatch(r"§(\d+[a-z]?)(?:\((\d+)\))?", rule.section)
    assert match, f"{rule.id}: section {rule.section!r} is not §N or §N(k)"
    return match.group(1), match.group(2)


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.id)
def test_every_entry_quotes_the_cited_section_and_subsection(rule: Rule) -> None:
    act = rule.amended_by or rule.law
    places = where(text_of(act), rule.quote)
    assert places, f"{rule.id}: {rule.quote!r} is not in {act}"
    section, subsection = cited(rule)
    shown = rule.values().get("amending_subsection")
    if shown is not None:
        # Inside the amending act the bracket counts what is shown; its opening paragraph
        # says which subsection of the act it is.
        assert (section, str(shown)) in places, (rule.id, places)
        phrase = rule.values()["johtolause"]
        assert phrase in johtolause(act), (rule.id, phrase)
        assert re.match(rf"{section.rstrip('abc')} §(:n|:ään)", phrase)
        assert subsection is not None and subsection in phrase, (rule.id, phrase)
    else:
        assert (section, subsection) in places or (section, None) in places, (rule.id, places)


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.id)
def test_every_number_of_an_entry_is_the_number_its_quote_says(rule: Rule) -> None:
    for key, value in rule.values().items():
        check_value(rule, key, value)
    # And no counted period or amount in the quote that the entry does not hold.
    counted = re.search(rf"\b({'|'.join(NUMBERS)}) vuoden", rule.quote.lower())
    if counted and "years" not in rule.values():
        pytest.fail(f"{rule.id}: its quote states a period the entry lacks")
    if euros_in(rule.quote):
        assert "euros" in rule.values(), rule.id


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.id)
def test_every_citation_names_the_act_and_section(rule: Rule) -> None:
    kind = "Government Decree" if rule.law in DECREES else "Act"
    assert rule.citation.startswith(f"{kind} {rule.law} {rule.section}"), rule.citation
    if rule.amended_by:
        assert f"as amended by Act {rule.amended_by}" in rule.citation
    assert rule.confirmed


def test_the_number_readers() -> None:
    assert euros_in("alle 7-vuotiaasta henkilöstä 2 741 euroa vuodessa") == [Decimal(2741)]
    assert subsection_named("52 a §:n 2 momentin tai 54 §:n 5 momentin", "52a(2)")
    assert subsection_named("52 a §:n 2 momentin tai 54 §:n 5 momentin", "54(5)")
    assert not subsection_named("52 a §:n 2 momentin", "52(2)")
    assert section_named("51, 52 tai 89 §:n", "52") and not section_named("52 a §", "52")
    assert section_named("52 a §", "52a")


def test_the_values_read_as_the_decree_and_the_act_say() -> None:
    law = compensation_law()

    def value(rule_id: str, key: str) -> Any:
        return law.rule(rule_id).value(key)

    assert value("compensation.amount.under_7", "euros") == 2741
    assert value("compensation.amount.from_7", "euros") == 2052
    assert value("compensation.amount.adult_first_year", "euros") == 7741
    assert value("compensation.period", "years") == 2
    assert value("compensation.period.quota_refugee", "years") == 3
    assert value("compensation.period.begun_before_2025", "years") == 3
    assert value("compensation.period.begun_before_2025.quota_refugee", "years") == 4
    assert str(value("old_law.claim_deadline", "claims_by")) == "2026-12-31"
