"""Every rule is the statute's own: its phrase stands in the cited section and subsection of
the act's text, and every number of the rule is the number that phrase says.

The texts are the acts as enacted (shared/law/texts/); a rule of an amended act quotes the
amending act's words (``amended_by``)."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from importlib import resources
from typing import Any

import pytest

from shared.law.deadlines import Deadline, deadline, deadline_or_target
from shared.law.rulebook import Rule, RuleBook, RuleKind, Targets, municipal_targets, rulebook

TEXTS = {
    "1386/2010": "1386-2010-as-enacted.txt",
    "681/2023": "681-2023-as-enacted.txt",
    "1100/2024": "1100-2024-amends-681-2023.txt",
    "322/2024": "322-2024-amends-681-2023.txt",
    "383/2023": "383-2023-te24-implementation.txt",
    "150/1930": "150-1930-time-limits.txt",
}

NUMBERS = {
    "yhden": 1, "yksi": 1, "yhdellä": 1,
    "kahden": 2, "kaksi": 2, "kahdella": 2,
    "kolmen": 3, "kolme": 3, "kolmella": 3,
    "neljän": 4, "viiden": 5, "kuuden": 6,
}  # fmt: skip
UNITS = {
    "kuukauden": "months", "kuukautta": "months",
    "viikon": "weeks", "viikkoa": "weeks",
    "vuoden": "years", "vuotta": "years", "vuodella": "years", "vuodessa": "years",
    "päivän": "days", "päivää": "days",
}  # fmt: skip
# Rule values that are periods, by the unit they count in.
PERIOD_KEYS = {
    "years": "years",
    "months": "months",
    "weeks": "weeks",
    "days": "days",
    "max_years_since_first_permit": "years",
}
# Rule values that are amounts: euros ("56,70 euroa") and age limits ("alle 18-vuotiaalta").
AMOUNT_KEYS = {"max_euros": "euros", "min_age": "age"}


def text_of(act: str) -> str:
    raw = resources.files("shared.law").joinpath("texts", TEXTS[act]).read_text("utf-8")
    return raw


def _flat(text: str) -> str:
    return re.sub(r"\s+", " ", text)


def periods_in(quote: str) -> list[tuple[int, str]]:
    """The (number, unit) periods a Finnish phrase states: "kahden kuukauden" is two months,
    a unit alone ("kuukauden kuluessa", "kerran vuodessa") is one."""
    words = re.findall(r"\w+", quote.lower())
    found = []
    for i, word in enumerate(words):
        if word in UNITS:
            number = NUMBERS.get(words[i - 1], 1) if i else 1
            found.append((number, UNITS[word]))
    return found


def amounts_in(quote: str) -> list[tuple[Decimal, str]]:
    """The euro amounts and age limits a Finnish phrase states."""
    euros = re.findall(r"(\d+(?:,\d+)?) euroa", quote)
    ages = re.findall(r"alle (\d+)-vuotia", quote)
    return [(Decimal(n.replace(",", ".")), "euros") for n in euros] + [
        (Decimal(n), "age") for n in ages
    ]


def where(text: str, quote: str) -> list[tuple[str, str | None]]:
    """(section, subsection) of each place ``quote`` stands in ``text``."""
    flat_quote = _flat(quote)
    places = []
    for line_no, line in enumerate(text.splitlines()):
        if flat_quote not in _flat(line):
            continue
        section = None
        for previous in reversed(text.splitlines()[: line_no + 1]):
            # "32 a §" is written with a no-break space in the texts.
            if match := re.match(r"## (\d+\s?[a-z]?) §", previous):
                section = re.sub(r"\s", "", match.group(1))
                break
        subsection = match.group(1) if (match := re.match(r"\((\d+)\)", line)) else None
        places.append((section or "", subsection))
    return places


def cited(rule: Rule) -> tuple[str, str | None]:
    match = re.fullmatch(r"§(\d+[a-z]?)(?:\((\d+)\))?", rule.section)
    assert match, f"{rule.id} ({rule.law}): section {rule.section!r} is not §N or §N(k)"
    return match.group(1), match.group(2)


def all_rules() -> list[Rule]:
    book = rulebook()
    return [rule for versions in book._rules.values() for rule in versions]


@pytest.mark.parametrize("rule", all_rules(), ids=lambda r: f"{r.id}@{r.law}")
def test_every_rule_quotes_the_cited_section_and_subsection(rule: Rule) -> None:
    text = text_of(rule.amended_by or rule.law)
    places = where(text, rule.quote)
    assert places, f"{rule.id} ({rule.law}): {rule.quote!r} is not in {rule.amended_by or rule.law}"
    assert cited(rule) in places or (cited(rule)[0], None) in places, (rule.section, places)


@pytest.mark.parametrize("rule", all_rules(), ids=lambda r: f"{r.id}@{r.law}")
def test_every_number_of_a_rule_is_the_number_its_quote_says(rule: Rule) -> None:
    stated = periods_in(rule.quote)
    values = {PERIOD_KEYS[k]: v for k, v in rule.values().items() if k in PERIOD_KEYS}
    assert sorted((v, unit) for unit, v in values.items()) == sorted(stated), (
        f"{rule.id} ({rule.law}): the rule says {values}, its quote {rule.quote!r}"
    )
    if rule.without_delay:
        assert "viipymättä" in rule.quote and not values
    amounts = {
        AMOUNT_KEYS[k]: Decimal(str(v)) for k, v in rule.values().items() if k in AMOUNT_KEYS
    }
    assert sorted((v, unit) for unit, v in amounts.items()) == sorted(amounts_in(rule.quote))


@pytest.mark.parametrize("rule", all_rules(), ids=lambda r: f"{r.id}@{r.law}")
def test_every_citation_is_only_the_law(rule: Rule) -> None:
    assert rule.kind is RuleKind.STATUTE
    assert rule.citation.startswith(f"Act {rule.law} {rule.section}"), rule.citation
    for unsure in ("not confirmed", "not given", "domain notes", "kept until"):
        assert unsure not in rule.citation, rule.citation
    if rule.amended_by:
        assert f"as amended by Act {rule.amended_by}" in rule.citation


def test_a_municipal_target_is_data_of_its_own_never_cited_as_law() -> None:
    targets = municipal_targets().all()
    assert targets
    for target in targets:
        assert target.kind is not RuleKind.STATUTE and target.municipality
        assert not target.law.startswith("Act ")
        assert f"own {target.kind.value.split('_')[1]}" in target.citation.replace(
            "own service target", "own target"
        )
        values = {PERIOD_KEYS[k]: v for k, v in target.values().items() if k in PERIOD_KEYS}
        assert sorted((v, u) for u, v in values.items()) == sorted(periods_in(target.quote))


def test_the_number_reader_knows_the_phrases_of_the_rules() -> None:
    assert periods_in("kahden kuukauden kuluessa") == [(2, "months")]
    assert periods_in("kuukauden kuluessa kotoutumissuunnitelman laatimisesta") == [(1, "months")]
    assert periods_in("vähintään kuuden kuukauden välein") == [(6, "months")]
    assert periods_in("vähintään kerran vuodessa") == [(1, "years")]
    assert periods_in("enintään kahdella vuodella") == [(2, "years")]
    assert amounts_in("kuitenkin enintään 56,70 euroa") == [(Decimal("56.70"), "euros")]
    assert amounts_in("ei saa periä alle 18-vuotiaalta") == [(Decimal(18), "age")]


# --- the corrected rules, walked through (681/2023 as amended by 1100/2024) ---


def test_referral_is_due_within_one_month_and_review_within_six_months() -> None:
    book = rulebook()
    referral = deadline(book, "plan.enrolment_deadline", date(2025, 3, 3))
    assert (referral.nominal, referral.due) == (date(2025, 4, 3), date(2025, 4, 3))
    assert referral.rule.section == "§20(5)" and referral.rule.amended_by == "1100/2024"
    review = deadline(book, "plan.review_interval", date(2025, 9, 1))
    # 1 Mar 2026 is a Sunday: due the next working day (150/1930 §5).
    assert (review.nominal, review.due) == (date(2026, 3, 1), date(2026, 3, 2))
    assert review.rule.section == "§22(1)"
    old = deadline(book, "plan.review_interval", date(2024, 6, 10))
    assert (old.nominal, old.rule.law) == (date(2025, 6, 10), "1386/2010")


def _start(book: RuleBook, targets: Targets, on: date, municipality: str = "320") -> Deadline:
    return deadline_or_target(
        book,
        "assessment.start_deadline",
        on,
        targets=targets,
        target_id="assessment.start_target",
        municipality=municipality,
    )


def test_the_assessment_starts_without_delay_and_the_town_s_target_gives_the_day() -> None:
    book, targets = rulebook(), municipal_targets()
    old = _start(book, targets, date(2024, 11, 4))
    assert (old.due, old.rule.law, old.serves) == (date(2025, 1, 7), "1386/2010", None)
    new = _start(book, targets, date(2025, 2, 3))
    assert new.due == date(2025, 4, 3)
    assert new.is_target and new.rule.kind is RuleKind.MUNICIPAL_TARGET
    assert new.serves is not None and new.serves.section == "§14(2)"
    assert [r.kind for r in new.legal_basis] == [RuleKind.STATUTE, RuleKind.MUNICIPAL_TARGET]
    # A municipality without a target of its own: without delay, so due the day it learned.
    other = _start(book, targets, date(2025, 2, 3), municipality="091")
    assert (other.due, other.is_target, other.rule.section) == (date(2025, 2, 3), False, "§14(2)")


def test_rule_values_read_as_the_statute_says() -> None:
    book = rulebook()

    def value(rule_id: str, on: date, key: str) -> Any:
        return book.in_force(rule_id, on).value(key)

    assert value("plan.enrolment_deadline", date(2025, 1, 1), "months") == 1
    assert value("plan.review_interval", date(2025, 1, 1), "months") == 6
    assert value("plan.total_length", date(2025, 1, 1), "years") == 2
    assert value("plan.total_length", date(2024, 1, 1), "years") == 3
    assert value("plan.extension", date(2025, 1, 1), "years") == 2
    assert book.in_force("assessment.start_deadline", date(2025, 1, 1)).without_delay
    assert book.in_force("plan.preparation_deadline", date(2025, 1, 1)).without_delay
