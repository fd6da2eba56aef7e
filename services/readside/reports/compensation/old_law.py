"""The old law's claims: the initial assessments the municipality organised under Act
1386/2010 (§50), started before 1 Jan 2025, with the persons and dates a claim needs and the
deadline of 681/2023 §102(1) as amended by 1100/2024 (the end of 2026)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from uuid import UUID

from pydantic import BaseModel, Field
from sqlalchemy import Engine

from services.readside.caseload import record_order
from services.readside.identities import Identity, identities
from services.readside.names import NameSeal
from services.readside.queries import events_of_types
from services.readside.reports.compensation.assembly import Municipality
from services.readside.reports.compensation.clients import (
    CLIENT_EVENTS,
    ClientRecord,
    client_of,
    fold_clients,
    survivor,
)
from services.readside.reports.compensation.report import LANGUAGE, ReportMessage
from services.readside.restriction import restricted_clients, without_restricted
from shared import i18n
from shared.contracts import PublicEvent
from shared.contracts import events as contracts
from shared.law import compensation as law
from shared.law.rulebook import RuleRef

ASSESSMENT_EVENTS = frozenset(
    {contracts.AssessmentStarted.EVENT_TYPE, contracts.AssessmentCompleted.EVENT_TYPE}
)


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
    language: str = LANGUAGE
    warning: str = Field(description="The text of `warning_detail`.")
    warning_detail: ReportMessage = Field(description="The deadline, and the days left to it.")
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
    amount_note: str = Field(description="The text of `amount_note_detail`.")
    amount_note_detail: ReportMessage = Field(description="Where the amount comes from.")
    other_organisations: dict[str, int] = Field(
        description="Assessments of the same time organised by others (e.g. the TE office): "
        "not the municipality's claim under §50."
    )
    erased_left_out: int
    not_in_records: str = Field(description="The text of `not_in_records_detail`.")
    not_in_records_detail: ReportMessage = Field(
        description="The old law's other claims due by the same day, whose costs Kotoutus "
        "does not record."
    )
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
    language: str = i18n.DEFAULT_LANGUAGE,
) -> OldLawReport:
    """The old law's assessments organised by ``organisation`` (the municipality's id), the
    texts in ``language``."""
    deadline = law.old_law_deadline(rules)
    assessments: dict[UUID, _Assessment] = {}

    def assessment(client_id: UUID, assessment_id: UUID) -> _Assessment:
        return assessments.setdefault(assessment_id, _Assessment(client_id, assessment_id))

    for event in sorted(assessment_events, key=record_order):
        match event:
            case contracts.AssessmentStarted(data=started):
                found = assessment(started.client_id, started.assessment_id)
                found.started_on, found.organisation = started.started_on, event.organisation
            case contracts.AssessmentCompleted(data=completed):
                found = assessment(completed.client_id, completed.assessment_id)
                found.completed_on = completed.completed_on
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
        remains = survivor(found.client_id, records)
        identity = known.get(remains)
        record = records.get(remains)
        if identity is None or (record is not None and record.erased):
            erased += 1
            continue
        rows.append(
            OldLawAssessment(
                client_id=remains,
                given_names=identity.given_names,
                family_name=identity.family_name,
                identity_code=identity.identity_code,
                birth_date=identity.birth_date,
                assessment_id=found.assessment_id,
                started_on=found.started_on,
                completed_on=found.completed_on,
                organisation=found.organisation,
                recorded_under=found.client_id if remains != found.client_id else None,
            )
        )
    rows.sort(key=lambda r: (r.started_on, r.family_name or "", str(r.assessment_id)))
    days_left = (deadline.claims_by - today).days
    warning = ReportMessage.of(_deadline_warning(deadline, days_left), language)
    if amount is None:
        amount_note = law.Notice("compensation.old_law.amount_unset")
    else:
        amount_note = law.Notice("compensation.old_law.amount_set", {"amount": amount})
    not_in_records = law.Notice(
        "compensation.old_law.not_in_records", {"claims_by": deadline.claims_by}
    )
    amount_message = ReportMessage.of(amount_note, language)
    not_in_records_message = ReportMessage.of(not_in_records, language)
    return OldLawReport(
        municipality=municipality.code,
        municipality_name=municipality.name,
        claims_by=deadline.claims_by,
        days_left=days_left,
        language=language,
        warning=warning.message,
        warning_detail=warning,
        assessments=rows,
        count=len(rows),
        amount_per_assessment=amount,
        amount_confirmed=False,
        euros=None if amount is None else (amount * len(rows)).quantize(Decimal("0.01")),
        amount_note=amount_message.message,
        amount_note_detail=amount_message,
        other_organisations=dict(sorted(others.items())),
        erased_left_out=erased,
        not_in_records=not_in_records_message.message,
        not_in_records_detail=not_in_records_message,
        legal_basis=[
            deadline.assessment_rule.ref,
            deadline.rule.ref,
            deadline.other_claims.ref,
        ],
    )


def _deadline_warning(deadline: law.OldLawDeadline, days_left: int) -> law.Notice:
    params: dict[str, law.Param] = {
        "claims_by": deadline.claims_by,
        "quote": deadline.rule.quote,
    }
    if days_left < 0:
        return law.Notice("compensation.old_law.deadline_passed", params)
    return law.Notice("compensation.old_law.deadline", params | {"days_left": days_left})


def old_law_report(
    engine: Engine,
    seal: NameSeal,
    municipality: Municipality,
    organisation: str,
    amount: Decimal | None,
    today: date,
    language: str = i18n.DEFAULT_LANGUAGE,
) -> OldLawReport:
    # Restricted clients (GDPR Art. 18) are left out, their assessments with them.
    restricted = restricted_clients(engine)
    records = without_restricted(
        fold_clients(events_of_types(engine, set(CLIENT_EVENTS))), restricted
    )
    assessments = [
        event
        for event in events_of_types(engine, set(ASSESSMENT_EVENTS))
        if client_of(event) not in restricted
    ]
    concerned = {survivor(client_of(event), records) for event in assessments}
    known = identities(engine, seal, concerned)
    return build_old_law_report(
        assessments, records, known, municipality, organisation, amount, today, language=language
    )
