"""The public contracts of notifications: the reminders it schedules and the messages it sends."""

from __future__ import annotations

from typing import Literal
from uuid import UUID

from pydantic import Field

from shared.contracts.envelope import EventData, PublicEvent
from shared.iso_text import Day


class ReminderScheduledData(EventData):
    client_id: UUID
    reminder_key: str = Field(description="The deadline it reminds of: '<kind>:<subject id>'.")
    deadline_kind: str
    due: Day
    remind_on: Day
    responsible_organisation: str


class ReminderScheduled(PublicEvent):
    """Notifications will remind the responsible organisation of a deadline on `remind_on`."""

    data: ReminderScheduledData


class ReminderCancelledData(EventData):
    client_id: UUID
    reminder_key: str
    reason: str


class ReminderCancelled(PublicEvent):
    """A reminder will not be sent: its step was done (or reported done first)."""

    data: ReminderCancelledData


class NotificationData(EventData):
    client_id: UUID
    message_id: str = Field(description="Stable id derived from the message's cause.")
    kind: str = Field(description="deadline_reminder, overdue_alert, appointment_letter, …")
    audience: Literal["staff", "client", "partner"]
    channel: Literal["email", "webhook", "sms"]
    recipient: str = Field(
        description='Who, without personal data: a staff id, "inbox:<org>", '
        '"supervisor:<org>", "partner:<id>", or "client".'
    )
    attempts: int = Field(ge=1)
    reason: str | None = Field(default=None, description="Why it failed, for a person to read.")


class NotificationSent(PublicEvent):
    """A message went out (the channel accepted it); sent at most once per ``message_id``."""

    data: NotificationData


class NotificationFailed(PublicEvent):
    """A message could not be delivered (refused, out of attempts, or its outcome is unknown
    after a crash mid-send); staff may resend it."""

    data: NotificationData
