"""Notifications' reactions: a reminder for each deadline, cancelled when the step is done."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import ClassVar
from uuid import UUID

from eventsourcing.domain import Aggregate

from services.notifications.domain import ClientReminders
from shared.contracts import PublicEvent
from shared.contracts import events as contracts
from shared.errors import NotFoundError
from shared.eventstore import ServiceApplication
from shared.values import Provenance

ASSESSMENT_START = "assessment-start"
PLAN_PREPARATION = "plan-preparation"
ENROLMENT = "enrolment"
PLAN_REVIEW = "plan-review"


def reminder_key(deadline_kind: str, subject_id: UUID, suffix: str | None = None) -> str:
    # Recurring deadlines (reviews) carry their due day, so each one is its own reminder.
    return f"{deadline_kind}:{subject_id}" + (f":{suffix}" if suffix else "")


class NotificationsApplication(ServiceApplication):
    name = "notifications"
    service_name: ClassVar[str] = "notifications"

    def reminders_of(self, client_id: UUID) -> ClientReminders:
        try:
            return self.load(ClientReminders.create_id(client_id), ClientReminders)
        except NotFoundError:
            raise NotFoundError(f"reminders of client {client_id}") from None

    def responsible_organisation(self, client_id: UUID) -> str | None:
        book = self.stored(ClientReminders.create_id(client_id), ClientReminders)
        return book.responsible_organisation if book is not None else None

    def _book(self, client_id: UUID, provenance: Provenance) -> ClientReminders:
        book = self.stored(ClientReminders.create_id(client_id), ClientReminders)
        return book or ClientReminders(client_id=client_id, provenance=provenance)

    def _schedule(
        self,
        message: PublicEvent,
        *,
        client_id: UUID,
        deadline_kind: str,
        subject_id: UUID,
        due: date,
        organisation: str,
        key_suffix: str | None = None,
    ) -> Sequence[Aggregate]:
        book = self.stored(ClientReminders.create_id(client_id), ClientReminders)
        # The reminder's organisation, also as its event's: whoever answers as the newest news
        # says, which may be a transfer recorded after the deadline.
        if book is not None:
            organisation = book.answering(organisation, message.recorded_at)
        provenance = Provenance.system(self.service_name, organisation, message.occurred_at)
        book = book or ClientReminders(client_id=client_id, provenance=provenance)
        book.schedule(
            provenance=provenance,
            reminder_key=reminder_key(deadline_kind, subject_id, key_suffix),
            deadline_kind=deadline_kind,
            due=due,
            # Offsets before the due day and working-day rules come with the delivery work.
            remind_on=due,
            responsible_organisation=organisation,
            known_at=message.recorded_at,
        )
        return (book,)

    def _cancel(
        self,
        message: PublicEvent,
        *,
        client_id: UUID,
        deadline_kind: str,
        reason: str,
        key_suffix: str | None = None,
    ) -> Sequence[Aggregate]:
        provenance = Provenance.system(self.service_name, message.organisation, message.occurred_at)
        book = self._book(client_id, provenance)
        book.cancel(
            provenance=provenance,
            reminder_key=reminder_key(deadline_kind, message.aggregate_id, key_suffix),
            reason=reason,
        )
        return (book,)

    def on_responsibility_assigned(self, message: PublicEvent) -> Sequence[Aggregate]:
        """Who answers for a new client: their staff may read its reminders and messages."""
        assert isinstance(message, contracts.ResponsibilityAssigned)
        return self._note_responsibility(message, message.data.client_id, message.data.organisation)

    def on_responsibility_transferred(self, message: PublicEvent) -> Sequence[Aggregate]:
        """Staff of the new organisation may read the client's reminders from now on."""
        assert isinstance(message, contracts.ResponsibilityTransferred)
        data = message.data
        return self._note_responsibility(message, data.client_id, data.to_organisation)

    def _note_responsibility(
        self, message: PublicEvent, client_id: UUID, organisation: str
    ) -> Sequence[Aggregate]:
        provenance = Provenance.system(self.service_name, message.organisation, message.occurred_at)
        book = self._book(client_id, provenance)
        book.note_responsibility(
            provenance=provenance, organisation=organisation, known_at=message.recorded_at
        )
        return (book,)

    def on_assessment_due(self, message: PublicEvent) -> Sequence[Aggregate]:
        assert isinstance(message, contracts.AssessmentDue)
        data = message.data
        return self._schedule(
            message,
            client_id=data.client_id,
            deadline_kind=ASSESSMENT_START,
            subject_id=data.assessment_id,
            due=data.deadline.due,
            organisation=data.responsible_organisation,
        )

    def on_assessment_step_done(self, message: PublicEvent) -> Sequence[Aggregate]:
        assert isinstance(
            message,
            contracts.AssessmentStarted
            | contracts.AssessmentCompleted
            | contracts.AssessmentWaived,
        )
        return self._cancel(
            message,
            client_id=message.data.client_id,
            deadline_kind=ASSESSMENT_START,
            reason=f"{message.event_type} by {message.actor.id}",
        )

    def on_plan_preparation_due(self, message: PublicEvent) -> Sequence[Aggregate]:
        assert isinstance(message, contracts.PlanPreparationDue)
        data = message.data
        return self._schedule(
            message,
            client_id=data.client_id,
            deadline_kind=PLAN_PREPARATION,
            subject_id=data.plan_id,
            due=data.deadline.due,
            organisation=data.responsible_organisation,
        )

    def on_plan_deadline(self, message: PublicEvent) -> Sequence[Aggregate]:
        assert isinstance(message, contracts.EnrolmentDue | contracts.ReviewDue)
        kind = ENROLMENT if isinstance(message, contracts.EnrolmentDue) else PLAN_REVIEW
        data = message.data
        return self._schedule(
            message,
            client_id=data.client_id,
            deadline_kind=kind,
            subject_id=data.plan_id,
            due=data.deadline.due,
            organisation=message.organisation,
            key_suffix=data.deadline.due.isoformat() if kind == PLAN_REVIEW else None,
        )

    def on_plan_step_done(self, message: PublicEvent) -> Sequence[Aggregate]:
        if isinstance(message, contracts.PlanEnrolled):
            kind, suffix = ENROLMENT, None
        else:
            assert isinstance(message, contracts.PlanReviewed)
            kind, suffix = PLAN_REVIEW, message.data.review_due_met.due.isoformat()
        return self._cancel(
            message,
            client_id=message.data.client_id,
            deadline_kind=kind,
            reason=f"{message.event_type} by {message.actor.id}",
            key_suffix=suffix,
        )

    def on_plan_prepared(self, message: PublicEvent) -> Sequence[Aggregate]:
        """Drafting started, or the plan was agreed at once: preparation is no longer due."""
        assert isinstance(message, contracts.PlanDrafted | contracts.PlanAgreed)
        return self._cancel(
            message,
            client_id=message.data.client_id,
            deadline_kind=PLAN_PREPARATION,
            reason=f"{message.event_type} by {message.actor.id}",
        )
