"""A client's caseload row, defined once, and the fold of the client's public events into it.

``CaseloadRow`` is the fold's state, the ``caseload`` table's columns (each field says how it is
stored: ``services.readside.storage``) and, less its hidden fields, what staff read
(``services.readside.api.CaseloadItem``).

The row depends only on the set of events, folded in record order, never on the order they
arrived in: that is what lets a redelivered or late event, and a rebuild from history, give
the same row as live delivery did. The row keeps the record order of the last event folded
into it (``last_event_at``, ``last_source``, ``last_position``), so the projection applies a
later event to the stored row and folds the client's history again only for an earlier one
(``services.readside.projections.caseload``).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from functools import cache
from typing import Annotated, Any
from uuid import UUID

from pydantic import BaseModel, Field
from sqlalchemy import Boolean, Date, Integer, String, Text

from services.readside.storage import Hidden, ShownAs, Stored, Strings, UtcDateTime
from shared.contracts import PublicEvent
from shared.contracts import events as contracts
from shared.contracts.intake import ClientFacts

RecordOrder = tuple[datetime, str, int]


def record_order(event: PublicEvent) -> RecordOrder:
    """The order auditors replay in: record time, then each service's own log order."""
    return (event.recorded_at, event.source, event.position)


def concerned_clients(event: PublicEvent) -> tuple[UUID, ...]:
    """The clients an event is about (a merge is about the duplicate as well)."""
    data: Any = event.data
    has_client, has_duplicate = _client_fields(type(event.data))
    clients = [data.client_id] if has_client and data.client_id else []
    if has_duplicate and data.duplicate_id is not None:
        clients.append(data.duplicate_id)
    return tuple(clients)


@cache
def _client_fields(data: type[BaseModel]) -> tuple[bool, bool]:
    """Whether events with this data name a client, and a duplicate (asked for every event:
    a model's fields, not ``getattr``, whose miss is slow on a pydantic model)."""
    return ("client_id" in data.model_fields, "duplicate_id" in data.model_fields)


Day = Annotated[date | None, Stored(Date)]
Flag = Annotated[bool, Stored(Boolean)]


class CaseloadRow(BaseModel):
    """One client's row. Fields marked "kept by ``_settle``" follow from the others; they are
    stored for staff to filter and sort on."""

    client_id: Annotated[UUID, Stored(String(36), primary_key=True)]
    status: Annotated[str, Stored(String(16))] = "active"
    organisation: Annotated[str | None, Stored(String(200))] = None
    worker: Annotated[str | None, Stored(String(200))] = None
    client_group: Annotated[str | None, Stored(String(64)), ShownAs("group")] = None
    in_scope: Annotated[bool | None, Stored(Boolean)] = None
    mother_tongue: Annotated[str | None, Stored(String(8))] = None
    interpreter_language: Annotated[str | None, Stored(String(8))] = None
    service_languages: Annotated[tuple[str, ...], Stored(Strings), Hidden()] = ()
    # Kept by ``_settle``: ",uk,ru," for a plain LIKE filter.
    languages: Annotated[str, Stored(Text), Hidden()] = ",,"
    needs_interpreter: Flag = False
    relationship_started_on: Day = None
    home_municipality: Annotated[str | None, Stored(String(3)), Hidden()] = None
    age_group: Annotated[str | None, Stored(String(8)), Hidden()] = None
    assessment_state: Annotated[str, Stored(String(16))] = "none"
    assessment_due: Day = None
    assessment_started_on: Annotated[date | None, Stored(Date), Hidden()] = None
    plan_state: Annotated[str, Stored(String(16))] = "none"
    plan_preparation_due: Day = None
    plan_ends_on: Annotated[date | None, Stored(Date), Hidden()] = None
    enrolment_due: Day = None
    next_review: Day = None
    referrals: Annotated[set[str], Stored(Strings), Hidden()] = Field(default_factory=set)
    open_referrals: Annotated[int, Stored(Integer)] = 0  # kept by ``_settle``
    assessment_overdue: Flag = False
    enrolment_overdue: Flag = False
    review_overdue: Flag = False
    overdue: Flag = False  # kept by ``_settle``
    next_deadline: Day = None  # kept by ``_settle``
    next_deadline_kind: Annotated[str | None, Stored(String(32))] = None  # kept by ``_settle``
    # The record order of the last event folded in.
    last_event_at: Annotated[datetime, Stored(UtcDateTime())]
    last_source: Annotated[str, Stored(String(64)), Hidden()]
    last_position: Annotated[int, Stored(Integer), Hidden()]
    # The data subject's rights. Restricted (GDPR Art. 18): kept, left out of every list and
    # export until lifted. The open requests for a copy (Art. 15), "<due day>|<request id>":
    # the earliest due day is a deadline like the others (Art. 12(3)).
    restricted: Annotated[bool, Stored(Boolean), Hidden()] = False
    subject_access_open: Annotated[set[str], Stored(Strings), Hidden()] = Field(default_factory=set)

    @classmethod
    def stored(cls, values: Any) -> CaseloadRow:
        """The row as the table holds it."""
        return cls.model_validate(dict(values))

    def columns(self) -> dict[str, Any]:
        """The row as the caseload table stores it."""
        values = self.model_dump()
        values["client_id"] = str(self.client_id)
        return values

    def folded_up_to(self) -> RecordOrder:
        return (self.last_event_at, self.last_source, self.last_position)

    def apply(self, event: PublicEvent) -> None:
        """Folds ``event`` in; the row's events so far all come before it in record order."""
        self.apply_all((event,))

    def apply_all(self, events: Iterable[PublicEvent]) -> None:
        """Folds ``events``, in record order, in; the row's events so far all come before
        them. (What ``_settle`` keeps follows from the rest: it is worked out once, at the
        end; ``_apply`` never reads it.)"""
        for event in events:
            self._apply(event)
            self.last_event_at, self.last_source, self.last_position = record_order(event)
        self._settle()

    def _settle(self) -> None:
        languages = {self.mother_tongue, self.interpreter_language, *self.service_languages}
        self.languages = "," + ",".join(sorted(lang for lang in languages if lang)) + ","
        self.open_referrals = len(self.referrals)
        self.overdue = self.assessment_overdue or self.enrolment_overdue or self.review_overdue
        self.next_deadline_kind, self.next_deadline = self._next_deadline()

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
            ("subject_access", self._subject_access_due()),
        ]
        pending = sorted((due, kind) for kind, due in open_deadlines if due is not None)
        return (pending[0][1], pending[0][0]) if pending else (None, None)

    def _subject_access_due(self) -> date | None:
        """The last day of the earliest open request for a copy (GDPR Art. 12(3))."""
        dues = [date.fromisoformat(entry.split("|", 1)[0]) for entry in self.subject_access_open]
        return min(dues, default=None)

    def _note_facts(self, facts: ClientFacts) -> None:
        self.mother_tongue = facts.mother_tongue
        self.service_languages = tuple(facts.service_languages)
        self.interpreter_language = facts.interpreter_language
        self.needs_interpreter = facts.needs_interpreter or facts.interpreter_language is not None
        self.home_municipality = facts.home_municipality or self.home_municipality

    def _apply(self, event: PublicEvent) -> None:
        match event:
            case contracts.ClientRegistered(data=data):
                self.organisation = data.responsible_organisation
                self.relationship_started_on = data.relationship_started_on
                self.age_group = data.age_group
                self.home_municipality = None  # as registered, not as known before
                self._note_facts(data.client_facts)
            case contracts.ClientFactsChanged(data=data):
                self._note_facts(data.facts)
            case contracts.EligibilityDetermined(data=data):
                self.in_scope = data.eligibility.in_scope
                self.client_group = data.eligibility.group
                self.organisation = data.responsible_organisation
            case contracts.ResponsibilityAssigned(data=data):
                self.organisation = data.organisation
            case contracts.ResponsibilityTransferred(data=data):
                self.organisation = data.to_organisation
            case contracts.WorkerAssigned(data=data):
                self.worker = data.worker
            case contracts.ClientsMerged(data=data) if data.duplicate_id == self.client_id:
                self.status = "merged"
            case contracts.ClientClosed() if self.status == "active":
                self.status = "closed"
            case contracts.ClientErased():
                self.status = "erased"
            case contracts.AssessmentDue(data=data):
                self.assessment_state = "due"
                self.assessment_due = data.deadline.due
                self.assessment_started_on = None
                self.assessment_overdue = False
            case contracts.AssessmentStarted(data=data):
                self.assessment_state = "started"
                self.assessment_started_on = data.started_on
                self.assessment_overdue = False
            case contracts.AssessmentOverdue() if self.assessment_state == "due":
                self.assessment_overdue = True
            case contracts.AssessmentWaived():
                self.assessment_state = "waived"
                self.assessment_overdue = False
            case contracts.AssessmentCompleted():
                self.assessment_state = "completed"
                self.assessment_overdue = False
            case contracts.ReferralMade(data=data):
                self.referrals.add(data.referral_id)
            case contracts.ReferralOutcomeRecorded(data=data):
                self.referrals.discard(data.referral_id)
            case contracts.PlanNeedDecided(data=data) if (
                not data.plan_needed and self.plan_state == "none"
            ):
                self.plan_state = "not_needed"
            case contracts.PlanPreparationDue(data=data):
                self.plan_state = "preparation_due"
                self.plan_preparation_due = data.deadline.due
            case contracts.PlanDrafted() if self.plan_state in ("none", "preparation_due"):
                self.plan_state = "drafted"
            case contracts.PlanAgreed(data=data):
                self.plan_state = "agreed"
                self.plan_ends_on = data.period.ends_on
            case contracts.PlanExtended(data=data):
                self.plan_ends_on = data.period.ends_on
            case contracts.EnrolmentDue(data=data):
                self.enrolment_due = data.deadline.due
            case contracts.EnrolmentOverdue() if self.enrolment_due is not None:
                self.enrolment_overdue = True
            case contracts.PlanEnrolled():
                self.enrolment_due = None
                self.enrolment_overdue = False
            case contracts.ReviewDue(data=data):
                self.next_review = data.deadline.due
                self.review_overdue = False
            case contracts.ReviewOverdue(data=data) if self.next_review == data.deadline.due:
                self.review_overdue = True
            case contracts.PlanEnded():
                self.plan_state = "ended"
                self.enrolment_due = self.next_review = None
                self.enrolment_overdue = self.review_overdue = False
            case contracts.ProcessingRestricted():
                self.restricted = True
            case contracts.RestrictionLifted():
                self.restricted = False
            case contracts.SubjectAccessRequested(data=data):
                self.subject_access_open.add(f"{data.due_on.isoformat()}|{data.request_id}")
            case contracts.SubjectAccessDelivered(data=data):
                self.subject_access_open = {
                    entry
                    for entry in self.subject_access_open
                    if entry.split("|", 1)[1] != data.request_id
                }


def fold(client_id: UUID, events: Iterable[PublicEvent]) -> CaseloadRow | None:
    """The caseload row of ``client_id``, or None while nothing says the client exists."""
    ordered = sorted(events, key=record_order)
    if not ordered:
        return None
    first_recorded, first_source, first_position = record_order(ordered[0])
    row = CaseloadRow(
        client_id=client_id,
        last_event_at=first_recorded,
        last_source=first_source,
        last_position=first_position,
    )
    row.apply_all(ordered)
    return row
