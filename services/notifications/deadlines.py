"""Notifications' reactions to deadlines (part of its policies, see ``policies``).

A reminder for each deadline, cancelled when its step is done, in the client's reminder book
(``ClientReminders``, whose decisions tolerate any order of arrival). Each change of the book
brings the client's letters in line with it in the same handler (``follow_reminders``): staff
reminders at the configured offsets before every scheduled deadline, none for a cancelled one,
and those of a moved deadline replaced. Both books are stored in the one transaction of the
event's tracking row. A deadline that passed is an alert to the supervisor.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import TypeAlias
from uuid import UUID

from eventsourcing.domain import Aggregate

from services.notifications.base import NotificationsBase
from services.notifications.delivery.message import message_id_for
from services.notifications.delivery.send_window import earliest_staff_send, reminder_days
from services.notifications.delivery.templates import MessageKind
from services.notifications.domain import ClientReminders, ReminderState
from services.notifications.outbox import ClientOutbox
from shared.clock import HELSINKI
from shared.contracts import PublicEvent
from shared.contracts import events as contracts
from shared.values import Provenance

ASSESSMENT_START = "assessment-start"
PLAN_PREPARATION = "plan-preparation"
ENROLMENT = "enrolment"
PLAN_REVIEW = "plan-review"
SUBJECT_ACCESS = "subject-access"  # a request for a copy of the person's data (GDPR Art. 15)

REMINDER = "reminder"  # the cause of a staff reminder starts so: reminder:<key>:<due>:<offset>

AssessmentStepDone: TypeAlias = (
    contracts.AssessmentStarted | contracts.AssessmentCompleted | contracts.AssessmentWaived
)


def reminder_key(deadline_kind: str, subject_id: UUID, suffix: str | None = None) -> str:
    # Recurring deadlines (reviews) carry their due day, so each one is its own reminder.
    return f"{deadline_kind}:{subject_id}" + (f":{suffix}" if suffix else "")


class DeadlinePolicies(NotificationsBase):
    # --- the reminder book, and the letters following it ---

    def on_assessment_due(self, message: contracts.AssessmentDue) -> Sequence[Aggregate]:
        data = message.data
        return self._schedule(
            message,
            client_id=data.client_id,
            deadline_kind=ASSESSMENT_START,
            subject_id=data.assessment_id,
            due=data.deadline.due,
            organisation=data.responsible_organisation,
        )

    def on_assessment_step_done(self, message: AssessmentStepDone) -> Sequence[Aggregate]:
        return self._cancel(message, message.data.client_id, ASSESSMENT_START)

    def on_plan_preparation_due(self, message: contracts.PlanPreparationDue) -> Sequence[Aggregate]:
        data = message.data
        return self._schedule(
            message,
            client_id=data.client_id,
            deadline_kind=PLAN_PREPARATION,
            subject_id=data.plan_id,
            due=data.deadline.due,
            organisation=data.responsible_organisation,
        )

    def on_plan_prepared(
        self, message: contracts.PlanDrafted | contracts.PlanAgreed
    ) -> Sequence[Aggregate]:
        """Drafting started, or the plan was agreed at once: preparation is no longer due."""
        return self._cancel(message, message.data.client_id, PLAN_PREPARATION)

    def on_enrolment_due(self, message: contracts.EnrolmentDue) -> Sequence[Aggregate]:
        data = message.data
        return self._schedule(
            message,
            client_id=data.client_id,
            deadline_kind=ENROLMENT,
            subject_id=data.plan_id,
            due=data.deadline.due,
            organisation=message.organisation,
        )

    def on_review_due(self, message: contracts.ReviewDue) -> Sequence[Aggregate]:
        data = message.data
        return self._schedule(
            message,
            client_id=data.client_id,
            deadline_kind=PLAN_REVIEW,
            subject_id=data.plan_id,
            due=data.deadline.due,
            organisation=message.organisation,
            key_suffix=data.deadline.due.isoformat(),
        )

    def on_plan_enrolled(self, message: contracts.PlanEnrolled) -> Sequence[Aggregate]:
        return self._cancel(message, message.data.client_id, ENROLMENT)

    def on_plan_reviewed(self, message: contracts.PlanReviewed) -> Sequence[Aggregate]:
        suffix = message.data.review_due_met.due.isoformat()
        return self._cancel(message, message.data.client_id, PLAN_REVIEW, key_suffix=suffix)

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
        reminders = self.stored(ClientReminders.create_id(client_id), ClientReminders)
        # The reminder's organisation, also as its event's: whoever answers as the newest news
        # says, which may be a transfer recorded after the deadline.
        if reminders is not None:
            organisation = reminders.answering(organisation, message.recorded_at)
        provenance = Provenance.system(self.service_name, organisation, message.occurred_at)
        reminders = reminders or ClientReminders(client_id=client_id, provenance=provenance)
        reminders.schedule(
            provenance=provenance,
            reminder_key=reminder_key(deadline_kind, subject_id, key_suffix),
            deadline_kind=deadline_kind,
            due=due,
            # Offsets before the due day and working-day rules come with the letters.
            remind_on=due,
            responsible_organisation=organisation,
            known_at=message.recorded_at,
        )
        return self._with_letters(reminders)

    def _cancel(
        self,
        message: PublicEvent,
        client_id: UUID,
        deadline_kind: str,
        *,
        key_suffix: str | None = None,
    ) -> Sequence[Aggregate]:
        """The step of the deadline ``message``'s aggregate set is done."""
        provenance = Provenance.system(self.service_name, message.organisation, message.occurred_at)
        reminders = self._reminders(client_id, provenance)
        reminders.cancel(
            provenance=provenance,
            reminder_key=reminder_key(deadline_kind, message.aggregate_id, key_suffix),
            reason=f"{message.event_type} by {message.actor.id}",
        )
        return self._with_letters(reminders)

    def _with_letters(self, reminders: ClientReminders) -> Sequence[Aggregate]:
        """The reminder book as changed, and the client's letters if following it changed
        them: the effects of one event, stored together."""
        letters = self.follow_reminders(reminders)
        return (reminders,) if letters is None else (reminders, letters)

    def follow_reminders(self, reminders: ClientReminders) -> ClientOutbox | None:
        """Brings the client's scheduled reminder messages in line with the reminder book: a
        reminder per offset before each scheduled deadline, none for a cancelled one, and those
        of a moved deadline replaced by the new due day's. None when nothing changed."""
        if self.directory is None:
            return None
        now = self.clock()
        provenance = self._provenance()
        letters = self._letters(reminders.client_id, provenance)
        today = now.astimezone(HELSINKI).date()
        hours = self.delivery.staff_hours
        for reminder in reminders.reminders.values():
            prefix = f"{REMINDER}:{reminder.key}:"
            wanted = reminder.state is ReminderState.SCHEDULED and reminder.due is not None
            for message in letters.pending_by_cause(prefix):
                if not wanted:
                    reason = reminder.reason or "step done"
                elif not message.cause.startswith(f"{prefix}{reminder.due}:"):
                    reason = f"deadline moved to {reminder.due}"
                else:
                    continue
                letters.cancel(provenance=provenance, message_id=message.message_id, reason=reason)
            if not wanted:
                continue
            assert reminder.due is not None and reminder.responsible_organisation is not None
            organisation = reminder.responsible_organisation
            for offset in self.delivery.reminder_offsets:
                days = reminder_days(reminder.due, today, (offset,))
                if not days:
                    continue
                opening = datetime.combine(days[0], hours.start, HELSINKI)
                cause = f"{prefix}{reminder.due}:{offset}"
                letters.schedule(
                    provenance=provenance,
                    message_id=message_id_for(cause),
                    kind=MessageKind.DEADLINE_REMINDER.value,
                    audience="staff",
                    channel="email",
                    recipient=letters.worker_of(organisation) or f"inbox:{organisation}",
                    language=None,
                    send_at=earliest_staff_send(max(opening, now), hours),
                    cause=cause,
                    facts={
                        "deadline_kind": reminder.deadline_kind,
                        "due": reminder.due.isoformat(),
                        "organisation": organisation,
                        # Decided when scheduled: the day's reminders of one recipient then
                        # go out together as one daily digest.
                        "digest": self.delivery.staff_daily_digest,
                    },
                )
        return letters if letters.pending_events else None

    # --- overdue: an alert to the supervisor ---

    def on_assessment_overdue(self, message: contracts.AssessmentOverdue) -> Sequence[Aggregate]:
        data = message.data
        return self._overdue_alert(
            message,
            data.client_id,
            ASSESSMENT_START,
            reminder_key(ASSESSMENT_START, data.assessment_id),
            data.overdue_on - timedelta(days=1),
        )

    def on_enrolment_overdue(self, message: contracts.EnrolmentOverdue) -> Sequence[Aggregate]:
        data = message.data
        key = reminder_key(ENROLMENT, data.plan_id)
        return self._overdue_alert(message, data.client_id, ENROLMENT, key, data.deadline.due)

    def on_review_overdue(self, message: contracts.ReviewOverdue) -> Sequence[Aggregate]:
        data = message.data
        due = data.deadline.due
        key = reminder_key(PLAN_REVIEW, data.plan_id, due.isoformat())
        return self._overdue_alert(message, data.client_id, PLAN_REVIEW, key, due)

    def _overdue_alert(
        self, message: PublicEvent, client_id: UUID, kind: str, key: str, due: date
    ) -> Sequence[Aggregate]:
        """A deadline passed: an alert to the supervisor of the responsible organisation."""
        if self.directory is None:
            return ()
        # The supervisor of whoever answers for the client now (after a transfer, the new
        # organisation), as the reminder book last heard.
        organisation = self.responsible_organisation(client_id) or message.organisation
        now = self.clock()
        provenance = self._provenance(organisation)
        letters = self._letters(client_id, provenance)
        cause = f"overdue:{key}:{due}"
        letters.schedule(
            provenance=provenance,
            message_id=message_id_for(cause),
            kind=MessageKind.OVERDUE_ALERT.value,
            audience="staff",
            channel="email",
            recipient=f"supervisor:{organisation}",
            language=None,
            send_at=earliest_staff_send(now, self.delivery.staff_hours),
            cause=cause,
            facts={
                "deadline_kind": kind,
                "due": due.isoformat(),
                "organisation": organisation,
                "responsible_worker": letters.worker_of(organisation),
            },
        )
        return (letters,)

    # --- the data subject's copy (GDPR Art. 15): due within a month (Art. 12(3)) ---

    def on_subject_access_requested(
        self, message: contracts.SubjectAccessRequested
    ) -> Sequence[Aggregate]:
        data = message.data
        return self._schedule(
            message,
            client_id=data.client_id,
            deadline_kind=SUBJECT_ACCESS,
            subject_id=data.client_id,
            due=data.due_on,
            organisation=message.organisation,
            key_suffix=data.request_id,
        )

    def on_subject_access_delivered(
        self, message: contracts.SubjectAccessDelivered
    ) -> Sequence[Aggregate]:
        data = message.data
        return self._cancel(message, data.client_id, SUBJECT_ACCESS, key_suffix=data.request_id)
