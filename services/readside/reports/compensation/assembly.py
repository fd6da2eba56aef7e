"""The compensation report of a year put together: each client's facts (``clients``) and
identity, decided by ``shared.law.compensation``, priced per person and summed, with notes and
warnings where a fact is assumed or missing."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from uuid import UUID

from sqlalchemy import Engine

from services.readside.identities import Identity, identities
from services.readside.names import NameSeal
from services.readside.queries import events_of_types
from services.readside.reports.compensation.clients import CLIENT_EVENTS, ClientRecord, fold_clients
from services.readside.reports.compensation.report import (
    CompensationReport,
    Conditions,
    Days,
    MissingFacts,
    PersonYear,
    ReportMessage,
    Totals,
)
from services.readside.restriction import restricted_clients, without_restricted
from shared import i18n
from shared.law import compensation as law
from shared.law.rulebook import Rule
from shared.settings import Settings

FIRST_YEAR = 2025  # the decree's amounts apply from 1 Jan 2025 (872/2024 §5)


@dataclass(frozen=True)
class Municipality:
    code: str
    name: str
    conditions: law.Conditions

    @classmethod
    def of(cls, settings: Settings) -> Municipality:
        return cls(
            code=settings.municipality_code,
            name=settings.municipality_name,
            conditions=law.Conditions(
                integration_programme_from=settings.integration_programme_from,
                integration_programme_until=settings.integration_programme_until,
                ely_agreement=settings.ely_agreement,
            ),
        )


def build_report(
    year: int,
    records: Mapping[UUID, ClientRecord],
    known: Mapping[UUID, Identity],
    municipality: Municipality,
    rules: law.CompensationLaw | None = None,
    language: str = i18n.DEFAULT_LANGUAGE,
) -> CompensationReport:
    """The report of ``year`` from the folded clients and their identities, its texts in
    ``language``."""
    rules = rules or law.compensation_law()
    # Every client's facts decide (an erased person's facts may still make a family member
    # one of §2(4)); the lists leave out the erased and merged duplicates.
    persons = {
        client_id: record.person(known.get(client_id))
        for client_id, record in records.items()
        if record.merged_into is None
    }
    decisions = law.decide(persons, rules)
    listed = {
        client_id
        for client_id, record in records.items()
        if not record.erased and record.merged_into is None and client_id in known
    }
    rows: list[PersonYear] = []
    found: list[law.PersonYear] = []
    elsewhere = 0
    for client_id, decision in sorted(decisions.items(), key=lambda item: str(item[0])):
        if client_id not in listed or not isinstance(decision, law.Period):
            continue
        person_year = law.person_year(decision, persons[client_id], year, municipality.code, rules)
        if person_year is None:
            if decision.span.clip(law.calendar_year(year)) is not None:
                elsewhere += 1  # a period in the year, but not a day of it lived here
            continue
        found.append(person_year)
        ground = ReportMessage.of(_ground(decision.ground, persons, rules), language)
        record = records[client_id]
        rows.append(_row(person_year, known[client_id], record, municipality, ground, language))
    missing = [
        _missing_row(decision, known[client_id], records[client_id])
        for client_id, decision in sorted(decisions.items(), key=lambda item: str(item[0]))
        if client_id in listed and isinstance(decision, law.Missing)
    ]
    rows.sort(key=lambda r: (r.family_name or "", r.given_names or "", str(r.client_id)))
    missing.sort(key=lambda r: (r.family_name or "", r.given_names or "", str(r.client_id)))
    summed = law.totals(found)
    used = _legal_basis(found, rules)
    unmet = law.unmet_conditions(year, municipality.conditions)
    warnings = [
        ReportMessage.of(notice, language) for notice in unmet + _warnings(year, rows, missing)
    ]
    return CompensationReport(
        year=year,
        municipality=municipality.code,
        municipality_name=municipality.name,
        language=language,
        conditions=Conditions(
            integration_programme_from=municipality.conditions.integration_programme_from,
            integration_programme_until=municipality.conditions.integration_programme_until,
            ely_agreement=municipality.conditions.ely_agreement,
            met_for_the_year=not unmet,
        ),
        warnings=[warning.message for warning in warnings],
        warning_details=warnings,
        persons=rows,
        totals=Totals(
            persons=summed.persons,
            days=summed.days,
            euros=summed.euros,
            by_ground=summed.by_ground,
        ),
        missing_facts=missing,
        left_out={
            "erased": sum(record.erased for record in records.values()),
            "merged_duplicates": sum(r.merged_into is not None for r in records.values()),
            "not_resident_in_the_year": elsewhere,
        },
        legal_basis=[rule.ref for rule in used],
    )


def _row(
    found: law.PersonYear,
    identity: Identity,
    record: ClientRecord,
    municipality: Municipality,
    ground: ReportMessage,
    language: str,
) -> PersonYear:
    period = found.period
    notes = [ReportMessage.of(note, language) for note in _notes(found, record, municipality)]
    assert identity.birth_date is not None
    return PersonYear(
        year=found.year,
        client_id=period.client_id,
        given_names=identity.given_names,
        family_name=identity.family_name,
        identity_code=identity.identity_code,
        birth_date=identity.birth_date,
        covered_as=f"681/2023 {period.ground.section}",
        ground=ground.message,
        ground_detail=ground,
        quota_refugee=period.ground.quota_refugee,
        period_starts_on=period.starts_on,
        period_ends_on=period.ends_on,
        period_years=period.years,
        start_assumed=period.start_assumed,
        counted=[Days(first=span.first, last=span.last) for span in found.counted],
        days=found.days,
        days_in_year=found.days_in_year,
        days_under_7=found.under_7.days,
        days_from_7=found.from_7.days,
        days_adult_supplement=found.adult_supplement.days,
        days_unpriced=found.unpriced_days,
        euros_under_7=law.cents(found.under_7.euros),
        euros_from_7=law.cents(found.from_7.euros),
        euros_adult_supplement=law.cents(found.adult_supplement.euros),
        euros=found.euros,
        rules=[rule.id for rule in found.rules],
        notes=[note.message for note in notes],
        note_details=notes,
    )


def _ground(
    ground: law.Ground, persons: Mapping[UUID, law.Person], rules: law.CompensationLaw
) -> law.Notice:
    """Why the person is one of §2(3)–(5), as the report says it."""
    code = f"compensation.ground.{ground.kind}"
    match ground.kind:
        case "permit":
            # The domain names the Aliens Act's section (with its subsection, "93(1)") last.
            return law.Notice(code, {"section": ground.description.rpartition("§")[2]})
        case "family_member" | "child" if ground.anchor is not None:
            params: dict[str, law.Param] = {"client_id": str(ground.anchor)}
            anchor = persons.get(ground.anchor)
            own = law.own_ground(anchor.facts, rules) if anchor is not None else None
            if ground.kind == "family_member" and isinstance(own, law.Ground):
                params["anchor"] = _ground(own, persons, rules)
            elif ground.kind == "family_member":
                params["anchor"] = law.Notice("compensation.ground.anchor_unknown")
            return law.Notice(code, params)
    return law.Notice(code)


def _notes(
    found: law.PersonYear, record: ClientRecord, municipality: Municipality
) -> list[law.Notice]:
    period = found.period
    notes = []
    if period.start_assumed:
        notes.append(law.Notice("compensation.note.start_assumed"))
    window = period.span.clip(law.calendar_year(found.year))
    if window is not None and record.died_on is not None and record.died_on < window.last:
        notes.append(law.Notice("compensation.note.died", {"on": record.died_on}))
        window = window.clip(law.Span(date.min, record.died_on))
    if window is not None and found.days < window.days:
        notes.append(
            law.Notice(
                "compensation.note.days_elsewhere",
                {
                    "days": found.days,
                    "period_days": window.days,
                    "year": found.year,
                    "municipality": municipality.code,
                },
            )
        )
    if found.residence_assumed:
        notes.append(
            law.Notice("compensation.note.residence_assumed", {"municipality": municipality.code})
        )
    if period.ground.kind == "child":
        notes.append(law.Notice("compensation.note.ends_with_parent"))
    if found.unpriced_days:
        notes.append(law.Notice("compensation.note.unpriced_days", {"days": found.unpriced_days}))
    if record.closed:
        notes.append(law.Notice("compensation.note.closed"))
    return notes


def _missing_row(decision: law.Missing, identity: Identity, record: ClientRecord) -> MissingFacts:
    return MissingFacts(
        client_id=decision.client_id,
        given_names=identity.given_names,
        family_name=identity.family_name,
        identity_code=identity.identity_code,
        missing=list(decision.facts),
        closed=record.closed,
    )


def _warnings(year: int, rows: list[PersonYear], missing: list[MissingFacts]) -> list[law.Notice]:
    warnings = []
    if year < FIRST_YEAR:
        warnings.append(law.Notice("compensation.warning.year_before_decree"))
    assumed = sum(row.start_assumed for row in rows)
    if assumed:
        warnings.append(law.Notice("compensation.warning.start_assumed", {"persons": assumed}))
    if missing:
        warnings.append(law.Notice("compensation.warning.facts_missing", {"persons": len(missing)}))
    return warnings


def _legal_basis(found: Iterable[law.PersonYear], rules: law.CompensationLaw) -> list[Rule]:
    """The entries that decided, and the conditions of §59(1), each once."""
    used: dict[str, Rule] = {}
    for person_year in found:
        for rule in person_year.rules:
            used.setdefault(rule.id, rule)
    for rule_id in (
        "compensation.condition.integration_programme",
        "compensation.condition.ely_agreement",
    ):
        used.setdefault(rule_id, rules.rule(rule_id))
    return sorted(used.values(), key=lambda rule: rule.id)


def compensation_report(
    engine: Engine,
    seal: NameSeal,
    year: int,
    municipality: Municipality,
    language: str = i18n.DEFAULT_LANGUAGE,
) -> CompensationReport:
    """The report of ``year`` from the read side, its texts in ``language``."""
    records = fold_clients(events_of_types(engine, set(CLIENT_EVENTS)))
    records = without_restricted(records, restricted_clients(engine))  # GDPR Art. 18
    wanted = [client_id for client_id, record in records.items() if not record.erased]
    known = identities(engine, seal, wanted)
    return build_report(year, records, known, municipality, language=language)
