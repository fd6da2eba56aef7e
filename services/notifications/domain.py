"""A client's reminders. Pure: time comes in as an argument.

Reminders must not depend on the order messages arrive in: a step reported done before its
deadline was announced leaves the reminder cancelled, and announcing the same deadline twice
schedules it once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from shared.values import Provenance

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
        # Who answers for the client, as the latest scheduled deadline said (access checks).
        self.responsible_organisation = provenance.organisation

    def schedule(
        self,
        *,
        provenance: Provenance,
        reminder_key: str,
        deadline_kind: str,
        due: date,
        remind_on: date,
        responsible_organisation: str,
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
            responsible_organisation=responsible_organisation,
        )

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
    ) -> None:
        self.responsible_organisation = responsible_organisation
        self.reminders[reminder_key] = Reminder(
            key=reminder_key,
            state=ReminderState.SCHEDULED,
            deadline_kind=deadline_kind,
            due=due,
            remind_on=remind_on,
            responsible_organisation=responsible_organisation,
        )

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
