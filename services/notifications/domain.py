"""The two books notifications keeps of each client: the reminder book (``ClientReminders``,
here) and the client's letters (``ClientOutbox``, in ``outbox``, where its stored name keeps
it; see ``letters``). Pure: time comes in as an argument.

Reminders must not depend on the order messages arrive in: a step reported done before its
deadline was announced leaves the reminder cancelled, and announcing the same deadline twice
schedules it once.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime
from enum import StrEnum
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from services.notifications.outbox import ClientOutbox
from shared.values import Provenance

__all__ = ["ClientOutbox", "ClientReminders", "Reminder", "ReminderState"]

_NAMESPACE = uuid5(NAMESPACE_URL, "urn:kotoutus:client-reminders")


class ReminderState(StrEnum):
    SCHEDULED = "scheduled"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class Reminder:
    key: str
    state: ReminderState
    deadline_kind: str | None = None
    due: date | None = None
    remind_on: date | None = None
    responsible_organisation: str | None = None
    reason: str | None = None


class ClientReminders(Aggregate):
    @staticmethod
    def create_id(client_id: UUID, **_: Any) -> UUID:
        return uuid5(_NAMESPACE, str(client_id))

    @event("Opened")
    def __init__(self, *, client_id: UUID, provenance: Provenance) -> None:
        self.client_id = client_id
        self.reminders: dict[str, Reminder] = {}
        # Who answers for the client, as the latest news of it said (access checks, and every
        # reminder still to come): a deadline's organisation or a transfer, whichever its
        # source recorded later.
        self.responsible_organisation = provenance.organisation
        self.responsible_known_at: datetime | None = None

    def schedule(
        self,
        *,
        provenance: Provenance,
        reminder_key: str,
        deadline_kind: str,
        due: date,
        remind_on: date,
        responsible_organisation: str,
        known_at: datetime | None = None,
    ) -> None:
        current = self.reminders.get(reminder_key)
        if current is not None and (current.state is ReminderState.CANCELLED or current.due == due):
            return
        self._scheduled(
            client_id=self.client_id,
            provenance=provenance,
            reminder_key=reminder_key,
            deadline_kind=deadline_kind,
            due=due,
            remind_on=remind_on,
            responsible_organisation=self.answering(responsible_organisation, known_at),
            known_at=known_at,
        )

    def answering(self, organisation: str, known_at: datetime | None) -> str:
        """Who answers for the client, given news that ``organisation`` does recorded at
        ``known_at``: it, unless the book has newer news (a deadline recorded before a
        transfer may be handled after it)."""
        if self.responsible_known_at is None:
            return organisation
        if known_at is None or known_at < self.responsible_known_at:
            return self.responsible_organisation
        return organisation

    @event("ReminderScheduled")
    def _scheduled(
        self,
        *,
        client_id: UUID,
        provenance: Provenance,
        reminder_key: str,
        deadline_kind: str,
        due: date,
        remind_on: date,
        responsible_organisation: str,
        known_at: datetime | None = None,  # None in events stored before it was kept
    ) -> None:
        self._learn_responsibility(responsible_organisation, known_at)
        # As the newest news says (events stored before ``answering`` may name an older one).
        self.reminders[reminder_key] = Reminder(
            key=reminder_key,
            state=ReminderState.SCHEDULED,
            deadline_kind=deadline_kind,
            due=due,
            remind_on=remind_on,
            responsible_organisation=self.responsible_organisation,
        )

    def note_responsibility(
        self, *, provenance: Provenance, organisation: str, known_at: datetime
    ) -> None:
        """Another organisation answers for the client (``known_at``: when its source recorded
        it; older news, handled late, changes nothing)."""
        if self.responsible_known_at is not None and known_at <= self.responsible_known_at:
            return  # not newer than what the book knows (and so also a redelivery)
        self._responsibility_noted(
            client_id=self.client_id,
            provenance=provenance,
            organisation=organisation,
            known_at=known_at,
        )

    @event("ResponsibilityNoted")
    def _responsibility_noted(
        self, *, client_id: UUID, provenance: Provenance, organisation: str, known_at: datetime
    ) -> None:
        self._learn_responsibility(organisation, known_at)

    def _learn_responsibility(self, organisation: str, known_at: datetime | None) -> None:
        if known_at is None:  # an old event: it counts until something dated comes
            if self.responsible_known_at is None:
                self._answered_by(organisation)
        elif self.responsible_known_at is None or known_at >= self.responsible_known_at:
            self._answered_by(organisation)
            self.responsible_known_at = known_at

    def _answered_by(self, organisation: str) -> None:
        """A reminder still to come goes to whoever answers for the client when it is sent,
        so the scheduled ones follow; a cancelled one keeps its organisation as history."""
        self.responsible_organisation = organisation
        for key, reminder in self.reminders.items():
            if reminder.state is ReminderState.SCHEDULED:
                self.reminders[key] = replace(reminder, responsible_organisation=organisation)

    def cancel(self, *, provenance: Provenance, reminder_key: str, reason: str) -> None:
        current = self.reminders.get(reminder_key)
        if current is not None and current.state is ReminderState.CANCELLED:
            return
        self._cancelled(
            client_id=self.client_id,
            provenance=provenance,
            reminder_key=reminder_key,
            reason=reason,
        )

    @event("ReminderCancelled")
    def _cancelled(
        self, *, client_id: UUID, provenance: Provenance, reminder_key: str, reason: str
    ) -> None:
        current = self.reminders.get(reminder_key) or Reminder(
            key=reminder_key, state=ReminderState.CANCELLED
        )
        self.reminders[reminder_key] = Reminder(
            key=reminder_key,
            state=ReminderState.CANCELLED,
            deadline_kind=current.deadline_kind,
            due=current.due,
            remind_on=current.remind_on,
            responsible_organisation=current.responsible_organisation,
            reason=reason,
        )
