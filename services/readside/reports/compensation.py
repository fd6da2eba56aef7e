"""The state's compensation to the municipality, as reports staff can claim with.

``compensation_report``: per person and calendar year, the days and euros of the calculated
compensation (Act 681/2023 §61; Government Decree 872/2024 §1(1)), the year's totals, the
persons whose facts are missing for a decision, and the conditions of §59(1) as the settings
state them. The readings of the law are ``shared.law.compensation``'s (see its docstring).

``old_law_report``: the initial assessments the municipality organised under the old Act
1386/2010 (§50), i.e. started before 1 Jan 2025 — a started assessment counts as organised,
its completion day is shown where there is one — with the persons and dates a claim needs,
and the deadline of §102(1) as amended by Act 1100/2024 (the end of 2026) said in the report.

Each client's latest facts are folded from the public events (intake's own order); names,
identity codes and birth dates come from the read side's sealed identities. Erased clients are
left out of every list (only counted), and a merged duplicate's history is its survivor's.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any
from uuid import UUID

from pydantic import BaseModel, Field, ValidationError
from sqlalchemy import Engine

from services.readside.caseload import record_order
from services.readside.identities import Identity, identities
from services.readside.names import NameSeal
from services.readside.queries import events_of_types
from shared.contracts import PublicEvent
from shared.contracts.clients import ClientFacts
from shared.law import compensation as law
from shared.law.rulebook import Rule, RuleRef
from shared.settings import Settings

CLIENT_EVENTS = frozenset(
    {"ClientRegistered", "ClientFactsChanged", "ClientClosed", "ClientErased", "ClientsMerged"}
)
ASSESSMENT_EVENTS = frozenset({"AssessmentStarted", "AssessmentCompleted"})
FIRST_YEAR = 2025  # the decree's amounts apply from 1 Jan 2025 (872/2024 §5)


# --- each client's facts, folded from the public events ---


@dataclass
class ClientRecord:
    client_id: UUID
    facts: ClientFacts = field(default_factory=ClientFacts)
    residence: list[law.Residence] = field(default_factory=list)
    died_on: date | None = None
    closed: bool = False
    erased: bool = False
    merged_into: UUID | None = None

    def note_facts(self, facts: ClientFacts, effective_on: date | None) -> None:
        if facts.deceased and not self.facts.deceased and effective_on is not None:
            self.died_on = effective_on
        if facts.home_municipality_since is not None and (
            facts.home_municipality,
            facts.home_municipality_since,
        ) != (self.facts.home_municipality, self.facts.home_municipality_since):
            self.residence.append(
                law.Residence(facts.home_municipality_since, facts.home_municipality)
            )
        self.facts = facts

    def person(self, identity: Identity | None) -> law.Person:
        return law.Person(
            client_id=self.client_id,
            facts=self.facts,
            birth_date=identity.birth_date if identity else None,
            residence=tuple(self.residence),
            died_on=self.died_on,
        )


def _registered_facts(data: Any) -> ClientFacts:
    """The facts of a registration; one published before they were carried whole (version 1
    events) gives the flat fields it has."""
    if data.facts is not None:
        facts: ClientFacts = data.facts
        return facts
    try:
        return ClientFacts(
            home_municipality=data.home_municipality,
            residence_permit=data.residence_permit,
            registered_jobseeker=data.registered_jobseeker,
            trafficking_victim=data.trafficking_victim,
        )
    except ValidationError:
        return ClientFacts()


def fold_clients(events: Iterable[PublicEvent]) -> dict[UUID, ClientRecord]:
    records: dict[UUID, ClientRecord] = {}

    def record(client_id: UUID) -> ClientRecord:
        return records.setdefault(client_id, ClientRecord(client_id))

    for event in sorted(events, key=record_order):
        data: Any = event.data
        match event.event_type:
            case "ClientRegistered":
                record(data.client_id).note_facts(
                    _registered_facts(data), data.relationship_started_on
                )
            case "ClientFactsChanged":
                record(data.client_id).note_facts(data.facts, data.effective_on)
            case "ClientClosed":
                record(data.client_id).closed = True
            case "ClientErased":
                record(data.client_id).erased = True
            case "ClientsMerged":
                record(data.duplicate_id).merged_into = data.client_id
    return records


# --- the compensation report ---


class Days(BaseModel):
    first: date
    last: date


class PersonYear(BaseModel):
    year: int
    client_id: UUID
    given_names: str | None
    family_name: str | None
    identity_code: str | None
    birth_date: date
    covered_as: str = Field(description='The subsection of 681/2023 §2, e.g. "§2(3)".')
    ground: str
    quota_refugee: bool
    period_starts_on: date
    period_ends_on: date
    period_years: int | None = Field(description="null: a child's, ending with its parent's")
    start_assumed: bool = Field(
        description="The current home municipality's registration stands in for the first."
    )
    counted: list[Days] = Field(description="The days of the year compensated for.")
    days: int
    days_in_year: int
    days_under_7: int
    days_from_7: int
    days_adult_supplement: int
    days_unpriced: int = Field(description="Days on which no amount of the decree applies.")
    euros_under_7: Decimal
    euros_from_7: Decimal
    euros_adult_supplement: Decimal
    euros: Decimal = Field(
        description="The person's year, to the cent, half up, from the exact sum (the rounded "
        "parts above may add up to a cent more or less)."
    )
    rules: list[str] = Field(description="Ids of the entries of legal_basis that decided.")
    notes: list[str]


class MissingFacts(BaseModel):
    client_id: UUID
    given_names: str | None
    family_name: str | None
    identity_code: str | None
    missing: list[str]
    closed: bool


class Conditions(BaseModel):
    """681/2023 §59(1) as amended by 1100/2024, as the settings state them."""

    integration_programme_from: date | None
    integration_programme_until: date | None
    ely_agreement: str | None
    met_for_the_year: bool


class Totals(BaseModel):
    persons: int
    days: int
    euros: Decimal
    by_ground: dict[str, Decimal]


class CompensationReport(BaseModel):
    year: int
    municipality: str
    municipality_name: str
    conditions: Conditions
    warnings: list[str]
    persons: list[PersonYear]
    totals: Totals
    missing_facts: list[MissingFacts]
    left_out: dict[str, int] = Field(
        description="Clients not in the lists: erased, merged duplicates, another "
        "municipality's residents in the year."
    )
    legal_basis: list[RuleRef]

    def client_ids(self) -> list[UUID]:
        """Every client the report names, once."""
        listed = [row.client_id for row in self.persons]
        listed += [row.client_id for row in self.missing_facts]
        return list(dict.fromkeys(listed))

    def csv(self) -> str:
        """One row per person and year, then one per person whose facts are missing."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(CSV_COLUMNS)
        for row in self.persons:
            values = row.model_dump(mode="json")
            values["notes"] = "; ".join(row.notes)
            values["rules"] = " ".join(row.rules)
            values["counted"] = " ".join(f"{d.first}/{d.last}" for d in row.counted)
            writer.writerow(["person_year", *(values[c] for c in CSV_COLUMNS[1:])])
        for missing in self.missing_facts:
            values = {c: "" for c in CSV_COLUMNS[1:]} | {
                "year": self.year,
                "client_id": missing.client_id,
                "given_names": missing.given_names or "",
                "family_name": missing.family_name or "",
                "identity_code": missing.identity_code or "",
                "notes": "missing facts: " + "; ".join(missing.missing),
            }
            writer.writerow(["missing_facts", *(values[c] for c in CSV_COLUMNS[1:])])
        return out.getvalue()


CSV_COLUMNS = (
    "row",
    "year",
    "client_id",
    "family_name",
    "given_names",
    "identity_code",
    "birth_date",
    "covered_as",
    "ground",
    "quota_refugee",
    "period_starts_on",
    "period_ends_on",
    "period_years",
    "start_assumed",
    "counted",
    "days",
    "days_in_year",
    "days_under_7",
    "days_from_7",
    "days_adult_supplement",
    "days_unpriced",
    "euros_under_7",
    "euros_from_7",
    "euros_adult_supplement",
    "euros",
    "rules",
    "notes",
)


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
) -> CompensationReport:
    """The report of ``year`` from the folded clients and their identities."""
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
        rows.append(_row(person_year, known[client_id], records[client_id], municipality))
    missing = [
        _missing_row(decision, known[client_id], records[client_id])
        for client_id, decision in sorted(decisions.items(), key=lambda item: str(item[0]))
        if client_id in listed and isinstance(decision, law.Missing)
    ]
    rows.sort(key=lambda r: (r.family_name or "", r.given_names or "", str(r.client_id)))
    missing.sort(key=lambda r: (r.family_name or "", r.given_names or "", str(r.client_id)))
    summed = law.totals(found)
    used = _legal_basis(found, rules)
    warnings = law.condition_warnings(year, municipality.conditions)
    warnings += _warnings(year, rows, missing)
    return CompensationReport(
        year=year,
        municipality=municipality.code,
        municipality_name=municipality.name,
        conditions=Conditions(
            integration_programme_from=municipality.conditions.integration_programme_from,
            integration_programme_until=municipality.conditions.integration_programme_until,
            ely_agreement=municipality.conditions.ely_agreement,
            met_for_the_year=not law.condition_warnings(year, municipality.conditions),
        ),
        warnings=warnings,
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
    found: law.PersonYear, identity: Identity, record: ClientRecord, municipality: Municipality
) -> PersonYear:
    period = found.period
    assert identity.birth_date is not None
    return PersonYear(
        year=found.year,
        client_id=period.client_id,
        given_names=identity.given_names,
        family_name=identity.family_name,
        identity_code=identity.identity_code,
        birth_date=identity.birth_date,
        covered_as=f"681/2023 {period.ground.section}",
        ground=period.ground.description,
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
        notes=_notes(found, record, municipality),
    )


def _notes(found: law.PersonYear, record: ClientRecord, municipality: Municipality) -> list[str]:
    period = found.period
    notes = []
    if period.start_assumed:
        notes.append(
            "start assumed: the current home municipality's registration "
            "(home_municipality_since) stands in for the first (681/2023 §59(2)); record "
            "first_home_municipality_on"
        )
    window = period.span.clip(law.calendar_year(found.year))
    if window is not None and record.died_on is not None and record.died_on < window.last:
        notes.append(f"died on {record.died_on.isoformat()}: counted to that day")
        window = window.clip(law.Span(date.min, record.died_on))
    if window is not None and found.days < window.days:
        notes.append(
            f"{found.days} of the period's {window.days} days in {found.year} counted: on the "
            f"others the home municipality was not {municipality.code}"
        )
    if found.residence_assumed:
        notes.append(f"no home municipality stated: taken to be {municipality.code}")
    if period.ground.kind == "child":
        notes.append("ends with the parent's period (681/2023 §61(4))")
    if found.unpriced_days:
        notes.append(
            f"{found.unpriced_days} days before any amount of Decree 872/2024 was in force "
            "are not priced"
        )
    if record.closed:
        notes.append("client relationship closed: check that the person still lives here")
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


def _warnings(year: int, rows: list[PersonYear], missing: list[MissingFacts]) -> list[str]:
    warnings = []
    if year < FIRST_YEAR:
        warnings.append(
            "The amounts of Decree 872/2024 apply from 1 Jan 2025; earlier years were "
            "compensated under the old Act 1386/2010 and are not priced here."
        )
    assumed = sum(row.start_assumed for row in rows)
    if assumed:
        warnings.append(
            f"{assumed} persons' periods start on the current home municipality's registration "
            "in place of the first (681/2023 §59(2)): record first_home_municipality_on."
        )
    if missing:
        warnings.append(
            f"{len(missing)} persons cannot be decided on until the facts listed in "
            "missing_facts are recorded."
        )
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
    engine: Engine, seal: NameSeal, year: int, municipality: Municipality
) -> CompensationReport:
    """The report of ``year`` from the read side."""
    records = fold_clients(events_of_types(engine, set(CLIENT_EVENTS)))
    wanted = [client_id for client_id, record in records.items() if not record.erased]
    return build_report(year, records, identities(engine, seal, wanted), municipality)


# --- the old law's claims ---


class OldLawAssessment(BaseModel):
    client_id: UUID
    given_names: str | None
    family_name: str | None
    identity_code: str | None
    birth_date: date | None
    assessment_id: UUID
    started_on: date
    completed_on: date | None
    organisation: str = Field(description="Who recorded the start (the organising authority).")
    recorded_under: UUID | None = Field(
        default=None, description="The merged duplicate it was recorded under, if any."
    )


class OldLawReport(BaseModel):
    municipality: str
    municipality_name: str
    claims_by: date
    days_left: int = Field(description="From today; negative once the deadline has passed.")
    warning: str
    assessments: list[OldLawAssessment] = Field(
        description="Initial assessments the municipality organised under 1386/2010 (started "
        "before 1 Jan 2025)."
    )
    count: int
    amount_per_assessment: Decimal | None = Field(
        description="The setting KOTOUTUS_OLD_LAW_ASSESSMENT_EUROS; null: not set."
    )
    amount_confirmed: bool = Field(
        description="Always false: the amount is set by decree and is not in the law texts."
    )
    euros: Decimal | None = Field(description="count × amount; null without an amount.")
    amount_note: str
    other_organisations: dict[str, int] = Field(
        description="Assessments of the same time organised by others (e.g. the TE office): "
        "not the municipality's claim under §50."
    )
    erased_left_out: int
    not_in_records: str
    legal_basis: list[RuleRef]

    def client_ids(self) -> list[UUID]:
        """Every client the report names, once."""
        return list(dict.fromkeys(row.client_id for row in self.assessments))

    def csv(self) -> str:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        columns = list(OldLawAssessment.model_fields)
        writer.writerow(columns)
        for row in self.assessments:
            values = row.model_dump(mode="json")
            writer.writerow(["" if values[c] is None else values[c] for c in columns])
        return out.getvalue()


@dataclass
class _Assessment:
    client_id: UUID
    assessment_id: UUID
    started_on: date | None = None
    completed_on: date | None = None
    organisation: str | None = None


def build_old_law_report(
    assessment_events: Iterable[PublicEvent],
    records: Mapping[UUID, ClientRecord],
    known: Mapping[UUID, Identity],
    municipality: Municipality,
    organisation: str,
    amount: Decimal | None,
    today: date,
    rules: law.CompensationLaw | None = None,
) -> OldLawReport:
    """The old law's assessments organised by ``organisation`` (the municipality's id)."""
    deadline = law.old_law_deadline(rules)
    assessments: dict[UUID, _Assessment] = {}
    for event in sorted(assessment_events, key=record_order):
        data: Any = event.data
        found = assessments.setdefault(
            data.assessment_id, _Assessment(data.client_id, data.assessment_id)
        )
        if event.event_type == "AssessmentStarted":
            found.started_on, found.organisation = data.started_on, event.organisation
        elif event.event_type == "AssessmentCompleted":
            found.completed_on = data.completed_on
    rows: list[OldLawAssessment] = []
    others: dict[str, int] = {}
    erased = 0
    for found in assessments.values():
        if found.started_on is None or found.started_on >= deadline.organised_before:
            continue
        if found.organisation != organisation:
            key = found.organisation or "unknown"
            others[key] = others.get(key, 0) + 1
            continue
        survivor = _survivor(found.client_id, records)
        identity = known.get(survivor)
        record = records.get(survivor)
        if identity is None or (record is not None and record.erased):
            erased += 1
            continue
        rows.append(
            OldLawAssessment(
                client_id=survivor,
                given_names=identity.given_names,
                family_name=identity.family_name,
                identity_code=identity.identity_code,
                birth_date=identity.birth_date,
                assessment_id=found.assessment_id,
                started_on=found.started_on,
                completed_on=found.completed_on,
                organisation=found.organisation,
                recorded_under=found.client_id if survivor != found.client_id else None,
            )
        )
    rows.sort(key=lambda r: (r.started_on, r.family_name or "", str(r.assessment_id)))
    days_left = (deadline.claims_by - today).days
    return OldLawReport(
        municipality=municipality.code,
        municipality_name=municipality.name,
        claims_by=deadline.claims_by,
        days_left=days_left,
        warning=_deadline_warning(deadline, days_left),
        assessments=rows,
        count=len(rows),
        amount_per_assessment=amount,
        amount_confirmed=False,
        euros=None if amount is None else (amount * len(rows)).quantize(Decimal("0.01")),
        amount_note=(
            "The amount per assessment under Act 1386/2010 §50 was set by decree and is not "
            "in the law texts Kotoutus follows: "
            + (
                f"{amount} € is the setting KOTOUTUS_OLD_LAW_ASSESSMENT_EUROS, unconfirmed."
                if amount is not None
                else "set KOTOUTUS_OLD_LAW_ASSESSMENT_EUROS to see a sum (unconfirmed)."
            )
        ),
        other_organisations=dict(sorted(others.items())),
        erased_left_out=erased,
        not_in_records=(
            "Claims under the old Act 1386/2010 §46 (integration allowance and social "
            "assistance), §48 (interpreting) and §49(1)(3) (other special costs) are due by "
            f"{deadline.claims_by.isoformat()} too (Act 681/2023 §102(1) as amended by Act "
            "1100/2024), but their costs are not in Kotoutus's records."
        ),
        legal_basis=[
            deadline.assessment_rule.ref,
            deadline.rule.ref,
            deadline.other_claims.ref,
        ],
    )


def _deadline_warning(deadline: law.OldLawDeadline, days_left: int) -> str:
    said = (
        f"The old law's claims must be made by {deadline.claims_by.isoformat()} "
        f'(Act 681/2023 §102(1) as amended by Act 1100/2024: "{deadline.rule.quote}").'
    )
    if days_left < 0:
        return f"The deadline has passed. {said}"
    return f"{said} {days_left} days left."


def _client_of(event: PublicEvent) -> UUID:
    data: Any = event.data
    client_id: UUID = data.client_id
    return client_id


def _survivor(client_id: UUID, records: Mapping[UUID, ClientRecord]) -> UUID:
    seen = {client_id}
    record = records.get(client_id)
    while record is not None and record.merged_into is not None:
        client_id = record.merged_into
        if client_id in seen:
            break
        seen.add(client_id)
        record = records.get(client_id)
    return client_id


def old_law_report(
    engine: Engine,
    seal: NameSeal,
    municipality: Municipality,
    organisation: str,
    amount: Decimal | None,
    today: date,
) -> OldLawReport:
    records = fold_clients(events_of_types(engine, set(CLIENT_EVENTS)))
    assessments = list(events_of_types(engine, set(ASSESSMENT_EVENTS)))
    concerned = {_survivor(_client_of(event), records) for event in assessments}
    known = identities(engine, seal, concerned)
    return build_old_law_report(
        assessments, records, known, municipality, organisation, amount, today
    )
