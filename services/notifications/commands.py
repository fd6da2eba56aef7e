"""Staff commands, as the API and the CLI call them: appointment letters, a missed appointment
(may its interpreting be charged?), the failed messages, and resending one."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from services.notifications.base import NotificationsBase
from services.notifications.delivery.message import message_id_for
from services.notifications.delivery.send_window import earliest_client_send, earliest_staff_send
from services.notifications.delivery.templates import (
    Appointment,
    AppointmentPurpose,
    MessageKind,
    choose_language,
)
from services.notifications.letters import Message, MessageState, MissedAppointment
from services.notifications.missed import MissedReport, fee_notice, fee_rule, max_fee
from services.notifications.missed import decide as decide_fee
from services.notifications.outbox import ClientOutbox
from shared.errors import DomainError, NotFoundError
from shared.values import Provenance


class AppointmentNotPassedError(DomainError):
    code = "appointment_not_passed"

    def __init__(self, starts_at: datetime) -> None:
        super().__init__(starts_at=starts_at.isoformat())


class NotFailedError(DomainError):
    code = "message_not_failed"


class StaffCommands(NotificationsBase):
    # --- client letters ---

    def schedule_appointment(
        self,
        client_id: UUID,
        provenance: Provenance,
        *,
        appointment: Appointment,
        languages: Sequence[str],
        email: str | None,
        phone: str | None,
        not_before: datetime | None,
        interpreted: bool = False,
    ) -> Message:
        """``interpreted``: the letter of an appointment the law lets a fee be charged for if
        missed (681/2023 §32a(1)) says so and how to cancel, and records that it did."""
        kind = MessageKind.APPOINTMENT_LETTER
        channel = "email" if email else "sms"
        address = email or phone
        assert address is not None
        cause = f"appointment:{client_id}:{appointment.starts_at.isoformat()}:{appointment.purpose}"
        message_id = message_id_for(cause)
        language = choose_language(kind, languages, official=self.delivery.official_language)
        facts: dict[str, Any] = {"purpose": appointment.purpose.value, "interpreted": interpreted}
        rule = fee_rule(self.book, appointment.starts_at) if interpreted else None
        if rule is not None:
            fee = max_fee(rule)
            appointment = appointment.model_copy(update={"missed_fee_eur": fee})
            facts["fee_notice"] = fee_notice(
                language, languages, appointment.interpreter_language
            ) | {"max_eur": str(fee), "rule": rule.id, "law": rule.law}
        # The letter's own key: its details run out two years after it went (class letters),
        # whatever the client's other letters do.
        sealed_key = self.keys.record_key(message_id)
        sealed = self.keys.seal(
            client_id,
            {"address": address, "context": appointment.model_dump(mode="json")},
            sealed_key,
        )
        at = max(self.clock(), not_before) if not_before else self.clock()
        send_at = earliest_client_send(at, self.delivery.client_hours)

        def decide(letters: ClientOutbox) -> Message:
            letters.schedule(
                provenance=provenance,
                message_id=message_id,
                kind=kind.value,
                audience="client",
                channel=channel,
                recipient="client",
                language=language,
                send_at=send_at,
                cause=cause,
                facts=facts,
                sealed=sealed,
                sealed_key=sealed_key,
            )
            return letters.messages[message_id]

        letters_id = ClientOutbox.create_id(client_id)
        if letters_id not in self.repository:
            self.save(ClientOutbox(client_id=client_id, provenance=provenance))
        return self.decide(letters_id, ClientOutbox, decide)[1]

    def record_missed(
        self,
        client_id: UUID,
        provenance: Provenance,
        *,
        starts_at: datetime,
        purpose: AppointmentPurpose,
        report: MissedReport,
    ) -> MissedAppointment:
        """The client missed the appointment of the letter for ``starts_at`` and ``purpose``:
        records it with the answer to whether its interpreting may be charged."""
        if self.clock() < starts_at:
            raise AppointmentNotPassedError(starts_at)
        letters_id = self.letters_of(client_id).id

        def decide(letters: ClientOutbox) -> MissedAppointment:
            letter = _letter_of(letters, starts_at, purpose)
            decision = decide_fee(self.book, letter, purpose, starts_at, report)
            missed = MissedAppointment(
                message_id=letter.message_id,
                starts_at=starts_at,
                purpose=purpose.value,
                acceptable_reason=report.acceptable_reason,
                cancelled_in_advance=report.cancelled_in_advance,
                client_under_18=report.client_under_18,
                unreasonable=report.unreasonable,
                interpreting_cost_eur=report.interpreting_cost_eur,
                fee_may_be_charged=decision.fee_may_be_charged,
                amount_eur=decision.amount_eur,
                reasons=tuple(decision.reasons),
                legal_basis=decision.legal_basis,
            )
            letters.record_missed(provenance=provenance, missed=missed)
            return missed

        return self.decide(letters_id, ClientOutbox, decide)[1]

    # --- failed messages and resend ---

    def find(self, message_id: str) -> tuple[ClientOutbox, Message]:
        """The message and the client's letters that hold it."""
        letters_id = self.index.letters_holding(message_id)
        if letters_id is None:
            raise NotFoundError(f"message {message_id}")
        letters = self.load(letters_id, ClientOutbox)
        return letters, letters.messages[message_id]

    def failed_messages(self) -> list[tuple[ClientOutbox, Message]]:
        found: list[tuple[ClientOutbox, Message]] = []
        # Only the letters that hold a failure are read, not every client's.
        for letters_id in self.index.letters_with_failures():
            letters = self.load(letters_id, ClientOutbox)
            found.extend(
                (letters, m) for m in letters.messages.values() if m.state is MessageState.FAILED
            )
        return found

    def resend(self, message_id: str, provenance: Provenance) -> Message:
        """A failed message goes out again (at once, within its audience's hours)."""
        letters, message = self.find(message_id)
        now = self.clock()
        if message.audience == "client":
            send_at = earliest_client_send(now, self.delivery.client_hours)
        elif message.audience == "staff":
            send_at = earliest_staff_send(now, self.delivery.staff_hours)
        else:
            send_at = now

        def decide(current: ClientOutbox) -> Message:
            if not current.resend(provenance=provenance, message_id=message_id, send_at=send_at):
                raise NotFailedError(f"{message_id} is {current.messages[message_id].state}")
            return current.messages[message_id]

        return self.decide(letters.id, ClientOutbox, decide)[1]


def _letter_of(letters: ClientOutbox, starts_at: datetime, purpose: AppointmentPurpose) -> Message:
    """The appointment's letter, as ``schedule_appointment`` identified it (the time may be
    given in another offset than the letter's)."""
    prefix = f"appointment:{letters.client_id}:"
    suffix = f":{purpose}"
    for message in letters.messages.values():
        cause = message.cause
        if message.kind != MessageKind.APPOINTMENT_LETTER.value or not (
            cause.startswith(prefix) and cause.endswith(suffix)
        ):
            continue
        if datetime.fromisoformat(cause.removeprefix(prefix).removesuffix(suffix)) == starts_at:
            return message
    raise NotFoundError(f"appointment letter of client {letters.client_id} for {starts_at}")
