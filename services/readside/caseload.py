"""A client's caseload row as a pure fold of their public events.

The row depends only on the set of events, folded in record order, never on the order they
arrived in: that is what lets a redelivered or late event, and a rebuild from history, give
the same row as live delivery did.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from typing import Any
from uuid import UUID

from shared.contracts import PublicEvent


def record_order(event: PublicEvent) -> tuple[datetime, str, int]:
    """The order auditors replay in: record time, then each service's own log order."""
    return (event.recorded_at, event.source, event.position)


def concerned_clients(event: PublicEvent) -> tuple[UUID, ...]:
    """The clients an event is about (a merge is about the duplicate as well)."""
    data: Any = event.data
    clients = [data.client_id] if getattr(data, "client_id", None) else []
    duplicate = getattr(data, "duplicate_id", None)
    if duplicate is not None:
        clients.append(duplicate)
    return tuple(clients)


@dataclass
class CaseloadRow:
    client_id: str
    last_event_at: datetime
    status: str = "active"
    organisation: str | None = None
    worker: str | None = None
    client_group: str | None = None
    in_scope: bool | None = None
    mother_tongue: str | None = None
    interpreter_language: str | None = None
    service_languages: tuple[str, ...] = ()
    needs_interpreter: bool = False
    relationship_started_on: date | None = None
    home_municipality: str | None = None
    age_group: str | None = None
    assessment_state: str = "none"
    assessment_due: date | None = None
    assessment_started_on: date | None = None
    assessment_overdue: bool = False
    plan_state: str = "none"
    plan_preparation_due: date | None = None
    plan_ends_on: date | None = None
    enrolment_due: date | None = None
    enrolment_overdue: bool = False
    next_review: date | None = None
    review_overdue: bool = False
    referrals: set[str] = field(default_factory=set)

    def columns(self) -> dict[str, Any]:
        """The row as the caseload table stores it."""
        values = asdict(self)
        del values["service_languages"], values["referrals"]
        languages = {self.mother_tongue, self.interpreter_language, *self.service_languages}
        values["languages"] = "," + ",".join(sorted(lang for lang in languages if lang)) + ","
        values["needs_interpreter"] = (
            self.needs_interpreter or self.interpreter_language is not None
        )
        values["open_referrals"] = len(self.referrals)
        values["overdue"] = self.assessment_overdue or self.enrolment_overdue or self.review_overdue
        values["next_deadline_kind"], values["next_deadline"] = self._next_deadline()
        return values

    def _next_deadline(self) -> tuple[str | None, date | None]:
        open_deadlines = [
            ("assessment_start", self.assessment_due if self.assessment_state == "due" else None),
            (
                "plan_preparation",
                self.plan_preparation_due
                if self.plan_state in ("preparation_due", "drafted")
                else None,
            ),
            ("enrolment", self.enrolment_due if self.plan_state == "agreed" else None),
            ("plan_review", self.next_review if self.plan_state == "agreed" else None),
        ]
        pending = sorted((due, kind) for kind, due in open_deadlines if due is not None)
        return (pending[0][1], pending[0][0]) if pending else (None, None)


def fold(client_id: UUID, events: Iterable[PublicEvent]) -> CaseloadRow | None:
    """The caseload row of ``client_id``, or None while nothing says the client exists."""
    ordered = sorted(events, key=record_order)
    if not ordered:
        return None
    row = CaseloadRow(client_id=str(client_id), last_event_at=ordered[-1].recorded_at)
    for event in ordered:
        _apply(row, client_id, event)
    return row


def _apply(row: CaseloadRow, client_id: UUID, event: PublicEvent) -> None:
    data: Any = event.data
    match event.event_type:
        case "ClientRegistered":
            row.organisation = data.responsible_organisation
            row.mother_tongue = data.mother_tongue
            row.service_languages = tuple(data.service_languages)
            row.interpreter_language = data.interpreter_language
            row.needs_interpreter = data.needs_interpreter
            row.relationship_started_on = data.relationship_started_on
            row.home_municipality = data.home_municipality
            row.age_group = data.age_group
        case "ClientFactsChanged":
            facts = data.facts
            row.mother_tongue = facts.mother_tongue
            row.service_languages = tuple(facts.service_languages)
            row.interpreter_language = facts.interpreter_language
            row.needs_interpreter = facts.needs_interpreter
            row.home_municipality = facts.home_municipality or row.home_municipality
        case "EligibilityDetermined":
            row.in_scope = data.eligibility.in_scope
            row.client_group = data.eligibility.group
            row.organisation = data.responsible_organisation
        case "ResponsibilityAssigned":
            row.organisation = data.organisation
        case "ResponsibilityTransferred":
            row.organisation = data.to_organisation
        case "WorkerAssigned":
            row.worker = data.worker
        case "ClientsMerged" if data.duplicate_id == client_id:
            row.status = "merged"
        case "ClientClosed" if row.status == "active":
            row.status = "closed"
        case "ClientErased":
            row.status = "erased"
        case "AssessmentDue":
            row.assessment_state = "due"
            row.assessment_due = data.deadline.due
            row.assessment_started_on = None
            row.assessment_overdue = False
        case "AssessmentStarted":
            row.assessment_state = "started"
            row.assessment_started_on = data.started_on
            row.assessment_overdue = False
        case "AssessmentOverdue" if row.assessment_state == "due":
            row.assessment_overdue = True
        case "AssessmentWaived":
            row.assessment_state = "waived"
            row.assessment_overdue = False
        case "AssessmentCompleted":
            row.assessment_state = "completed"
            row.assessment_overdue = False
        case "ReferralMade":
            row.referrals.add(data.referral_id)
        case "ReferralOutcomeRecorded":
            row.referrals.discard(data.referral_id)
        case "PlanNeedDecided" if not data.plan_needed and row.plan_state == "none":
            row.plan_state = "not_needed"
        case "PlanPreparationDue":
            row.plan_state = "preparation_due"
            row.plan_preparation_due = data.deadline.due
        case "PlanDrafted" if row.plan_state in ("none", "preparation_due"):
            row.plan_state = "drafted"
        case "PlanAgreed":
            row.plan_state = "agreed"
            row.plan_ends_on = data.period.ends_on
        case "PlanExtended":
            row.plan_ends_on = data.period.ends_on
        case "EnrolmentDue":
            row.enrolment_due = data.deadline.due
        case "EnrolmentOverdue" if row.enrolment_due is not None:
            row.enrolment_overdue = True
        case "PlanEnrolled":
            row.enrolment_due = None
            row.enrolment_overdue = False
        case "ReviewDue":
            row.next_review = data.deadline.due
            row.review_overdue = False
        case "ReviewOverdue" if row.next_review == data.deadline.due:
            row.review_overdue = True
        case "PlanEnded":
            row.plan_state = "ended"
            row.enrolment_due = row.next_review = None
            row.enrolment_overdue = row.review_overdue = False
