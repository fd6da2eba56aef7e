"""Staff routes of notifications: a client's reminders and letters (appointment letters, a
missed appointment, the client's messages), the failed messages, and resending one."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Self
from uuid import UUID

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.config import JsonDict

from services.notifications.application import NotificationsApplication
from services.notifications.delivery.templates import Appointment, AppointmentPurpose
from services.notifications.domain import ReminderState
from services.notifications.letters import Message, MessageState
from services.notifications.missed import MissedReport, NoFee
from services.notifications.outbox import ClientOutbox
from shared.api import Caller, Problem, application
from shared.auth.access import client_access, may_see, require
from shared.auth.errors import OtherOrganisationError
from shared.auth.roles import Permission
from shared.contracts.records import MAILBOX_PATTERN
from shared.data_subject import ProcessingRestrictedError
from shared.errors import InvalidValueError
from shared.iso_text import Moment
from shared.languages import LanguageCode
from shared.law.rulebook import RuleRef

Notifications = Annotated[
    NotificationsApplication, Depends(application("notifications", NotificationsApplication))
]
ReadClient = Annotated[Caller, Depends(client_access("notifications", Permission.READ_CLIENT))]
# A letter may be the first thing notifications hears of a client (no deadline yet).
WriteToClient = Annotated[
    Caller, Depends(client_access("notifications", Permission.CHANGE_CLIENT, opens=True))
]
# Only about a client whose letters notifications holds (no ``opens``).
ChangeClient = Annotated[Caller, Depends(client_access("notifications", Permission.CHANGE_CLIENT))]
ManageDelivery = Annotated[Caller, Depends(require(Permission.MANAGE_DELIVERY))]

reminder_routes = APIRouter(prefix="/clients/{client_id}/reminders", tags=["notifications"])
letter_routes = APIRouter(tags=["notifications"])


class ReminderView(BaseModel):
    reminder_key: str
    state: ReminderState
    deadline_kind: str | None
    due: date | None
    remind_on: date | None
    responsible_organisation: str | None
    reason: str | None


@reminder_routes.get("", responses={404: {"model": Problem}}, summary="A client's reminders")
def get_reminders(client_id: UUID, caller: ReadClient, app: Notifications) -> list[ReminderView]:
    _refuse_if_restricted(app, client_id)
    reminders = app.reminders_of(client_id)
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
        for r in reminders.reminders.values()
    ]


class MessageView(BaseModel):
    """A message without personal data: the recipient is a reference, never an address."""

    client_id: UUID
    message_id: str
    kind: str
    audience: str
    channel: str
    recipient: str
    state: MessageState
    send_at: datetime
    retry_at: datetime | None
    attempts: int
    total_attempts: int
    reason: str | None
    sent_at: datetime | None

    @classmethod
    def of(
        cls, letters: ClientOutbox, message: Message, recipient: str | None = None
    ) -> MessageView:
        """``recipient``: whom it goes to now, for a message still to go (a transfer may have
        readdressed it since it was scheduled)."""
        return cls(
            client_id=letters.client_id,
            message_id=message.message_id,
            kind=message.kind,
            audience=message.audience,
            channel=message.channel,
            recipient=recipient or message.recipient,
            state=message.state,
            send_at=message.send_at,
            retry_at=message.retry_at,
            attempts=message.attempts,
            total_attempts=message.total_attempts,
            reason=message.reason,
            sent_at=message.sent_at,
        )


def _given(name: str) -> JsonDict:
    """JSON Schema: ``name`` is there and not null."""
    return {"required": [name], "properties": {name: {"type": "string"}}}


class AppointmentRequest(BaseModel):
    # The validators' rules, for the schema too: one address, email or phone; an interpreted
    # appointment names the language and a way to cancel.
    model_config = ConfigDict(
        json_schema_extra={
            "allOf": [
                {"oneOf": [_given("email"), _given("phone")]},
                {
                    "anyOf": [
                        {"properties": {"interpreted": {"const": False}}},
                        {
                            **_given("interpreter_language"),
                            "anyOf": [_given("contact_phone"), _given("contact_email")],
                        },
                    ]
                },
            ]
        }
    )

    starts_at: Moment
    place: str = Field(min_length=1, max_length=300)
    purpose: AppointmentPurpose
    client_name: str = Field(min_length=1, max_length=200, description="As the letter greets.")
    languages: list[LanguageCode] = Field(
        default_factory=list,
        description="The client's languages, best first: a fee notice counts as understood "
        "only in one of these or the interpreter's language.",
    )
    interpreter_language: LanguageCode | None = None
    interpreted: bool = Field(
        default=False,
        description="An interpreter is arranged for the client (681/2023 §32a(1)): the letter "
        "says that the interpreting may be charged if the appointment is missed without an "
        "acceptable reason and without cancelling, and how to cancel.",
    )
    contact_name: str = Field(min_length=1, max_length=200)
    contact_phone: str | None = Field(default=None, max_length=40)
    contact_email: str | None = Field(default=None, max_length=200)
    email: str | None = Field(
        default=None, pattern=MAILBOX_PATTERN, description="The client's address (sealed)."
    )
    phone: str | None = Field(default=None, max_length=40, description="E.164 (sealed).")
    not_before: Moment | None = Field(
        default=None, description="Send no earlier than this (still never at night)."
    )

    @model_validator(mode="after")
    def _one_address(self) -> Self:
        if (self.email is None) == (self.phone is None):
            raise InvalidValueError("one_address")
        return self

    @model_validator(mode="after")
    def _interpreted_names_language_and_how_to_cancel(self) -> Self:
        # The notice tells the client to cancel through the contact person: it needs a way.
        if self.interpreted and (
            self.interpreter_language is None
            or (self.contact_phone is None and self.contact_email is None)
        ):
            raise InvalidValueError("interpreted_appointment_details")
        return self


@letter_routes.post(
    "/clients/{client_id}/appointments",
    status_code=202,
    responses={422: {"model": Problem}},
    summary="Send a client an appointment letter (once per appointment)",
)
def post_appointment(
    client_id: UUID, body: AppointmentRequest, caller: WriteToClient, app: Notifications
) -> MessageView:
    appointment = Appointment(
        client_name=body.client_name,
        purpose=body.purpose,
        starts_at=body.starts_at,
        place=body.place,
        organisation=app.directory.organisation_name(caller.organisation)
        if app.directory
        else caller.organisation,
        contact_name=body.contact_name,
        contact_phone=body.contact_phone,
        contact_email=body.contact_email,
        interpreter_language=body.interpreter_language,
    )
    message = app.schedule_appointment(
        client_id,
        caller.provenance(),
        appointment=appointment,
        languages=body.languages,
        email=body.email,
        phone=body.phone,
        not_before=body.not_before,
        interpreted=body.interpreted,
    )
    return MessageView.of(app.letters_of(client_id), message)


class MissedAppointmentRequest(BaseModel):
    """The appointment (as its letter was asked for: time and purpose) and what staff know."""

    starts_at: Moment
    purpose: AppointmentPurpose
    acceptable_reason: bool = Field(description="The client had an acceptable reason.")
    cancelled_in_advance: bool
    # Notifications knows no birth dates: staff say whether the client is a minor.
    client_under_18: bool
    unreasonable: bool = Field(description="Charging would be unreasonable for the client.")
    interpreting_cost_eur: Decimal = Field(
        ge=0,
        max_digits=9,
        decimal_places=2,
        # What the bounds allow, in the schema too: a number or its text, cents at most.
        json_schema_extra={
            "anyOf": [
                {"type": "number", "minimum": 0, "maximum": 9999999.99, "multipleOf": 0.01},
                {"type": "string", "pattern": r"^[0-9]{1,7}(\.[0-9]{1,2})?$"},
            ]
        },
    )


class FeeAnswer(BaseModel):
    fee_may_be_charged: bool
    amount_eur: Decimal = Field(description="The cost, capped by law; 0 when no fee.")
    reasons: list[NoFee] = Field(description="Each condition of the law that failed.")
    legal_basis: list[RuleRef]


@letter_routes.post(
    "/clients/{client_id}/appointments/missed",
    responses={404: {"model": Problem}, 409: {"model": Problem}, 422: {"model": Problem}},
    summary="Record a missed appointment: may its interpreting be charged (681/2023 §32a)?",
)
def post_missed_appointment(
    client_id: UUID, body: MissedAppointmentRequest, caller: ChangeClient, app: Notifications
) -> FeeAnswer:
    missed = app.record_missed(
        client_id,
        caller.provenance(),
        starts_at=body.starts_at,
        purpose=body.purpose,
        report=MissedReport(
            acceptable_reason=body.acceptable_reason,
            cancelled_in_advance=body.cancelled_in_advance,
            client_under_18=body.client_under_18,
            unreasonable=body.unreasonable,
            interpreting_cost_eur=body.interpreting_cost_eur,
        ),
    )
    return FeeAnswer(
        fee_may_be_charged=missed.fee_may_be_charged,
        amount_eur=missed.amount_eur,
        reasons=[NoFee(reason) for reason in missed.reasons],
        legal_basis=list(missed.legal_basis),
    )


@letter_routes.get(
    "/clients/{client_id}/messages",
    responses={404: {"model": Problem}},
    summary="A client's messages and what became of them",
)
def get_messages(client_id: UUID, caller: ReadClient, app: Notifications) -> list[MessageView]:
    _refuse_if_restricted(app, client_id)
    letters = app.letters_of(client_id)
    recipients = app.recipients_now(letters)
    return [MessageView.of(letters, m, recipients[m.message_id]) for m in letters.messages.values()]


@letter_routes.get("/notifications/failed", summary="Messages that could not be delivered")
def get_failed(request: Request, caller: ManageDelivery, app: Notifications) -> list[MessageView]:
    shown = [
        MessageView.of(letters, m)
        for letters, m in app.failed_messages()
        if may_see(request, "notifications", caller, letters.client_id)
        and not letters.restricted  # kept, not listed (GDPR Art. 18)
    ]
    # The access log gets a row for each client whose messages the list discloses.
    request.state.access_client_ids = sorted({str(view.client_id) for view in shown})
    return shown


@letter_routes.post(
    "/notifications/{message_id}/resend",
    responses={404: {"model": Problem}},
    summary="Send a failed message again",
)
def post_resend(
    request: Request, message_id: str, caller: ManageDelivery, app: Notifications
) -> MessageView:
    owner, _ = app.find(message_id)
    if not may_see(request, "notifications", caller, owner.client_id):
        raise OtherOrganisationError()
    message = app.resend(message_id, caller.provenance())
    letters, _ = app.find(message_id)
    return MessageView.of(letters, message, app.recipients_now(letters)[message_id])


def _refuse_if_restricted(app: NotificationsApplication, client_id: UUID) -> None:
    """A restricted client's reminders and messages are kept, not shown (GDPR Art. 18)."""
    letters = app.stored(ClientOutbox.create_id(client_id), ClientOutbox)
    if letters is not None and letters.restricted:
        raise ProcessingRestrictedError()


router = APIRouter()
router.include_router(reminder_routes)
router.include_router(letter_routes)
