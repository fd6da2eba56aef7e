"""Staff routes of notifications."""

from __future__ import annotations

from datetime import date
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from services.notifications.application import NotificationsApplication
from services.notifications.domain import ReminderState
from shared.api import Caller, Problem, application
from shared.auth.access import client_access
from shared.auth.roles import Permission

router = APIRouter(prefix="/clients/{client_id}/reminders", tags=["notifications"])
Notifications = Annotated[
    NotificationsApplication, Depends(application("notifications", NotificationsApplication))
]


class ReminderView(BaseModel):
    reminder_key: str
    state: ReminderState
    deadline_kind: str | None
    due: date | None
    remind_on: date | None
    responsible_organisation: str | None
    reason: str | None


ReadClient = Annotated[Caller, Depends(client_access("notifications", Permission.READ_CLIENT))]


@router.get("", responses={404: {"model": Problem}}, summary="A client's reminders")
def get_reminders(client_id: UUID, caller: ReadClient, app: Notifications) -> list[ReminderView]:
    book = app.reminders_of(client_id)
    return [
        ReminderView(
            reminder_key=r.key,
            state=r.state,
            deadline_kind=r.deadline_kind,
            due=r.due,
            remind_on=r.remind_on,
            responsible_organisation=r.responsible_organisation,
            reason=r.reason,
        )
        for r in book.reminders.values()
    ]
