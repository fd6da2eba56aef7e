"""``ClientOutbox``: a client's letters (message book, see ``letters``) as an aggregate. Pure:
time comes in as an argument; nothing here sends anything.

Its module and class keep the word "outbox" because they are the stored name: every event the
book records has the topic ``services.notifications.outbox:ClientOutbox.<Event>`` (and the
public mapping and the dispatcher know the events by it), so neither moves nor is renamed. In
all other code the book is the client's letters, and "outbox" means the transactional outbox of
``shared.messaging.relay``. This module is over 350 lines for the same reason: one aggregate
and its events, which cannot be split across modules without changing their stored topics.

One stream per client, so the client's notification history (what was sent, to whom, when,
through which channel, with what result) is one event stream that the read side shows and
auditors replay. Appointments the client missed are recorded here too, beside the letter
whose notice decides whether the interpreting may be charged (see ``missed``). A message's
life is drawn in ``letters``.

Exactly once: a message's id is derived from its cause (``message_id_for``), so a redelivered
triggering event schedules nothing new. ``SendingStarted`` is recorded *before* the channel is
called and the result after it, so a crash in between leaves a message in ``sending``: the
outcome is unknown, and ``interrupted`` decides what to do (see there).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from services.notifications.letters import (
    FINISHED,
    PENDING,
    RETENTION_CLASS,
    Message,
    MessageState,
    MissedAppointment,
)
from shared.law.rulebook import RuleRef
from shared.values import Provenance

# The books' ids derive from this name, so it stays as stored ids have it.
_NAMESPACE = uuid5(NAMESPACE_URL, "urn:kotoutus:client-outbox")

INTERRUPTED = "interrupted while sending; delivery unknown"


class ClientOutbox(Aggregate):
    """A client's letters (the stored name of the message book: see the module's words)."""

    @staticmethod
    def create_id(client_id: UUID, **_: Any) -> UUID:
        return uuid5(_NAMESPACE, str(client_id))

    @event("Opened")
    def __init__(self, *, client_id: UUID, provenance: Provenance) -> None:
        self.client_id = client_id
        self.messages: dict[str, Message] = {}
        self.worker: str | None = None
        # Whose staff named the worker: after a transfer, that caseworker no longer handles
        # the client.
        self.worker_organisation: str | None = None
        # Whose staff first wrote to the client: answers for the client's messages while no
        # deadline names the responsible organisation (e.g. a letter to a new client).
        self.opened_by = provenance.organisation
        self.missed: dict[str, MissedAppointment] = {}  # by the letter's message id

    # --- decisions ---

    def schedule(
        self,
        *,
        provenance: Provenance,
        message_id: str,
        kind: str,
        audience: str,
        channel: str,
        recipient: str,
        language: str | None,
        send_at: datetime,
        cause: str,
        facts: dict[str, Any],
        sealed: str | None = None,
        sealed_key: str | None = None,
    ) -> bool:
        """Schedules a message once per id; False when the id is known (redelivery).
        ``sealed_key`` names the key ``sealed`` is sealed under (``ClientKeys.record_key``: the
        letter's own, so that it can run out alone); None: the client's letters key."""
        if message_id in self.messages:
            return False
        self._scheduled(
            client_id=self.client_id,
            provenance=provenance,
            message_id=message_id,
            kind=kind,
            audience=audience,
            channel=channel,
            recipient=recipient,
            language=language,
            send_at=send_at,
            cause=cause,
            facts=facts,
            sealed=sealed,
            sealed_key=sealed_key,
        )
        return True

    def cancel(self, *, provenance: Provenance, message_id: str, reason: str) -> bool:
        """Cancels a message not yet sent nor failed; a message being sent is not stopped."""
        current = self.messages.get(message_id)
        if current is None or current.state not in PENDING:
            return False
        self._cancelled(
            client_id=self.client_id, provenance=provenance, message_id=message_id, reason=reason
        )
        return True

    def pending_by_cause(self, prefix: str) -> list[Message]:
        return [
            m for m in self.messages.values() if m.cause.startswith(prefix) and m.state in PENDING
        ]

    def start(self, *, provenance: Provenance, message_id: str, now: datetime) -> bool:
        """Records an attempt about to be made; False if the message is not due now (nor
        while the client's processing is restricted: ``hold``)."""
        current = self.messages.get(message_id)
        if current is None or current.due_at is None or current.due_at > now:
            return False
        if self.restricted:
            return False
        self._sending_started(
            client_id=self.client_id,
            provenance=provenance,
            message_id=message_id,
            attempt=current.attempts + 1,
        )
        return True

    def interrupted(
        self, *, provenance: Provenance, message_id: str, receiver_deduplicates: bool
    ) -> bool:
        """A previous process started an attempt and died before recording its result.

        Decision: when the far end recognises a repeat by the message id (a webhook with
        ``Idempotency-Key``, an ``.eml`` or SMS file named by the id) the attempt is simply
        made again: a duplicate is impossible there. Over SMTP the mail server may well have
        accepted the mail already and a second copy would reach the person, so the message
        fails with ``INTERRUPTED`` and staff decide whether to resend it. True if decided now.
        """
        current = self.messages.get(message_id)
        if current is None or current.state is not MessageState.SENDING:
            return False
        # While the client's processing is restricted nothing starts, a repeat neither: the
        # message fails as over SMTP, and staff may resend it once the restriction is lifted.
        if receiver_deduplicates and not self.restricted:
            self._sending_started(
                client_id=self.client_id,
                provenance=provenance,
                message_id=message_id,
                attempt=current.attempts + 1,
            )
        else:
            self._record_failed(provenance, current, INTERRUPTED)
        return True

    def record_result(
        self,
        *,
        provenance: Provenance,
        message_id: str,
        delivered: bool,
        permanent: bool,
        reason: str,
        max_attempts: int,
        retry_at: datetime,
        recipient: str | None = None,
    ) -> None:
        """The outcome of the attempt in flight. A transient failure is retried at
        ``retry_at`` while attempts are left, then the message fails. ``recipient`` is who it
        was addressed to when sent, if not the scheduled reference (a reminder to an
        organisation's inbox goes to the client's caseworker once one is named)."""
        current = self.messages[message_id]
        if current.state is not MessageState.SENDING:
            return  # recorded already (a concurrent recovery); the first word stands
        if recipient is not None:
            current = replace(current, recipient=recipient)
        if delivered:
            self._sent(
                client_id=self.client_id,
                provenance=provenance,
                message_id=message_id,
                kind=current.kind,
                audience=current.audience,
                channel=current.channel,
                recipient=current.recipient,
                attempts=current.attempts,
                reason=None,
            )
        elif permanent or current.attempts >= max_attempts:
            why = reason if permanent else f"gave up after {current.attempts} attempts: {reason}"
            self._record_failed(provenance, current, why)
        else:
            self._attempt_failed(
                client_id=self.client_id,
                provenance=provenance,
                message_id=message_id,
                attempt=current.attempts,
                reason=reason,
                retry_at=retry_at,
            )

    def resend(self, *, provenance: Provenance, message_id: str, send_at: datetime) -> bool:
        """Staff asked to send a failed message again: a new round of attempts."""
        current = self.messages.get(message_id)
        if current is None or current.state is not MessageState.FAILED:
            return False
        if current.sealed is not None and self.details_expired(current):
            return False  # its address went by retention: there is nothing to send
        self._resend_requested(
            client_id=self.client_id,
            provenance=provenance,
            message_id=message_id,
            send_at=send_at,
        )
        return True

    def note_worker(self, *, provenance: Provenance, worker: str) -> None:
        if (worker, provenance.organisation) != (self.worker, self.worker_organisation):
            self._worker_noted(client_id=self.client_id, provenance=provenance, worker=worker)

    def forget_personal(self, *, provenance: Provenance) -> None:
        """The client was erased: nothing more goes out about them, and the erasure is on
        record (the retention timer stops every clock of the client for good)."""
        for message in list(self.messages.values()):
            self.cancel(provenance=provenance, message_id=message.message_id, reason="erased")
        if not self.erased:
            self._erased(client_id=self.client_id, provenance=provenance)

    @event("Erased")
    def _erased(self, *, client_id: UUID, provenance: Provenance) -> None:
        self._erased_flag = True

    @property
    def erased(self) -> bool:
        # Letters stored before this event existed: an erasure shows in their cancellations.
        return bool(vars(self).get("_erased_flag"))

    def record_missed(self, *, provenance: Provenance, missed: MissedAppointment) -> bool:
        """Records the miss and its decision; a later report with other facts (a reason
        shown afterwards) stands in its place. False when the same is recorded already."""
        if self.missed.get(missed.message_id) == missed:
            return False
        self._appointment_missed(
            client_id=self.client_id,
            provenance=provenance,
            message_id=missed.message_id,
            starts_at=missed.starts_at,
            purpose=missed.purpose,
            acceptable_reason=missed.acceptable_reason,
            cancelled_in_advance=missed.cancelled_in_advance,
            client_under_18=missed.client_under_18,
            unreasonable=missed.unreasonable,
            interpreting_cost_eur=missed.interpreting_cost_eur,
            fee_may_be_charged=missed.fee_may_be_charged,
            amount_eur=missed.amount_eur,
            reasons=list(missed.reasons),
            legal_basis=list(missed.legal_basis),
        )
        return True

    def _record_failed(self, provenance: Provenance, current: Message, reason: str) -> None:
        self._failed(
            client_id=self.client_id,
            provenance=provenance,
            message_id=current.message_id,
            kind=current.kind,
            audience=current.audience,
            channel=current.channel,
            recipient=current.recipient,
            attempts=max(current.attempts, 1),
            reason=reason,
        )

    # --- events ---

    @event("MessageScheduled")
    def _scheduled(
        self,
        *,
        client_id: UUID,
        provenance: Provenance,
        message_id: str,
        kind: str,
        audience: str,
        channel: str,
        recipient: str,
        language: str | None,
        send_at: datetime,
        cause: str,
        facts: dict[str, Any],
        sealed: str | None,
        # Absent from letters scheduled before letters had keys of their own (and from those
        # with nothing sealed): they were sealed under the client's letters key.
        sealed_key: str | None = None,
    ) -> None:
        self.messages[message_id] = Message(
            message_id=message_id,
            kind=kind,
            audience=audience,
            channel=channel,
            recipient=recipient,
            language=language,
            send_at=send_at,
            cause=cause,
            facts=facts,
            sealed=sealed,
            sealed_key=sealed_key,
        )

    def _change(self, message_id: str, **changes: Any) -> None:
        """A recorded event's effect on one message's state."""
        self.messages[message_id] = replace(self.messages[message_id], **changes)

    @event("MessageCancelled")
    def _cancelled(
        self, *, client_id: UUID, provenance: Provenance, message_id: str, reason: str
    ) -> None:
        self._change(message_id, state=MessageState.CANCELLED, reason=reason)

    @event("SendingStarted")
    def _sending_started(
        self, *, client_id: UUID, provenance: Provenance, message_id: str, attempt: int
    ) -> None:
        self._change(
            message_id,
            state=MessageState.SENDING,
            attempts=attempt,
            total_attempts=self.messages[message_id].total_attempts + 1,
        )

    @event("MessageSent")
    def _sent(
        self,
        *,
        client_id: UUID,
        provenance: Provenance,
        message_id: str,
        kind: str,
        audience: str,
        channel: str,
        recipient: str,
        attempts: int,
        reason: str | None,
    ) -> None:
        self._change(
            message_id,
            state=MessageState.SENT,
            recipient=recipient,
            reason=None,
            sent_at=provenance.occurred_at,
        )

    @event("AttemptFailed")
    def _attempt_failed(
        self,
        *,
        client_id: UUID,
        provenance: Provenance,
        message_id: str,
        attempt: int,
        reason: str,
        retry_at: datetime,
    ) -> None:
        self._change(message_id, state=MessageState.RETRYING, reason=reason, retry_at=retry_at)

    @event("MessageFailed")
    def _failed(
        self,
        *,
        client_id: UUID,
        provenance: Provenance,
        message_id: str,
        kind: str,
        audience: str,
        channel: str,
        recipient: str,
        attempts: int,
        reason: str,
    ) -> None:
        # The failed attempt's addressee, as a sent message keeps whom it was sent to.
        self._change(message_id, state=MessageState.FAILED, recipient=recipient, reason=reason)

    @event("ResendRequested")
    def _resend_requested(
        self, *, client_id: UUID, provenance: Provenance, message_id: str, send_at: datetime
    ) -> None:
        self._change(
            message_id,
            state=MessageState.SCHEDULED,
            attempts=0,
            send_at=send_at,
            retry_at=None,
            reason=None,
        )

    @event("AppointmentMissed")
    def _appointment_missed(
        self,
        *,
        client_id: UUID,
        provenance: Provenance,
        message_id: str,
        starts_at: datetime,
        purpose: str,
        acceptable_reason: bool,
        cancelled_in_advance: bool,
        client_under_18: bool,
        unreasonable: bool,
        interpreting_cost_eur: Decimal,
        fee_may_be_charged: bool,
        amount_eur: Decimal,
        reasons: list[str],
        legal_basis: list[RuleRef],
    ) -> None:
        self.missed[message_id] = MissedAppointment(
            message_id=message_id,
            starts_at=starts_at,
            purpose=purpose,
            acceptable_reason=acceptable_reason,
            cancelled_in_advance=cancelled_in_advance,
            client_under_18=client_under_18,
            unreasonable=unreasonable,
            interpreting_cost_eur=interpreting_cost_eur,
            fee_may_be_charged=fee_may_be_charged,
            amount_eur=amount_eur,
            reasons=tuple(reasons),
            legal_basis=tuple(legal_basis),
        )

    @event("WorkerNoted")
    def _worker_noted(self, *, client_id: UUID, provenance: Provenance, worker: str) -> None:
        self.worker = worker
        self.worker_organisation = provenance.organisation

    def worker_of(self, organisation: str) -> str | None:
        """The client's caseworker, if one named by ``organisation``'s staff."""
        return self.worker if self.worker_organisation == organisation else None

    # --- restriction of processing (GDPR Art. 18): nothing goes out while it lasts ---
    # Its state is the instance's own attribute, set by its events; letters stored before
    # these existed have none, which reads as "not restricted".

    @property
    def restricted(self) -> bool:
        return vars(self).get("held_because") is not None

    def hold(self, *, provenance: Provenance, reason: str) -> bool:
        """The client's processing was restricted: no message starts until released (the
        messages stay as they are). False when held already."""
        if self.restricted:
            return False
        self._held(client_id=self.client_id, provenance=provenance, reason=reason)
        return True

    def release(self, *, provenance: Provenance, reason: str, now: datetime) -> bool:
        """The restriction was lifted: each message still to be sent is due again, at its own
        time or now if that has passed (the dispatcher's timers follow these events)."""
        if not self.restricted:
            return False
        self._released(client_id=self.client_id, provenance=provenance, reason=reason)
        for message in list(self.messages.values()):
            if message.due_at is not None:
                self._message_released(
                    client_id=self.client_id,
                    provenance=provenance,
                    message_id=message.message_id,
                    send_at=max(message.due_at, now),
                )
        return True

    # --- retention (class letters: services/notifications/retention.py) ---

    def expire_details(
        self, *, provenance: Provenance, key: str, retention_class: str, rule: str, on: date
    ) -> bool:
        """Records that the details sealed under ``key`` (one letter's own, or the client's
        letters key of the letters from before) went by ``rule``; False when they went already,
        or when the client's letters key still seals a letter not yet finished."""
        if key in self.expired_keys or self.erased:
            return False
        for message in self.messages.values():
            # A letter's own key waits while the letter is to be sent again.
            if message.sealed_key == key and message.state not in FINISHED:
                return False
        if key == retention_class and any(
            message.sealed is not None
            and message.sealed_key is None
            and message.state not in FINISHED
            for message in self.messages.values()
        ):
            return False
        self._details_expired(
            client_id=self.client_id,
            provenance=provenance,
            key=key,
            retention_class=retention_class,
            rule=rule,
            expired_on=on,
        )
        return True

    @event("DetailsExpired")
    def _details_expired(
        self,
        *,
        client_id: UUID,
        provenance: Provenance,
        key: str,
        retention_class: str,
        rule: str,
        expired_on: date,
    ) -> None:
        self._expired_keys = self.expired_keys | {key}

    def details_expired(self, message: Message) -> bool:
        """Whether the key ``message``'s details are sealed under went by retention."""
        return (message.sealed_key or RETENTION_CLASS) in self.expired_keys

    @property
    def expired_keys(self) -> frozenset[str]:
        # Letters stored before retention have none: none of their keys went.
        return frozenset(vars(self).get("_expired_keys", ()))

    @event("Held")
    def _held(self, *, client_id: UUID, provenance: Provenance, reason: str) -> None:
        self.held_because: str | None = reason

    @event("Released")
    def _released(self, *, client_id: UUID, provenance: Provenance, reason: str) -> None:
        self.held_because = None

    @event("MessageReleased")
    def _message_released(
        self, *, client_id: UUID, provenance: Provenance, message_id: str, send_at: datetime
    ) -> None:
        current = self.messages[message_id]
        if current.state is MessageState.RETRYING:
            self._change(message_id, retry_at=send_at)
        else:
            self._change(message_id, send_at=send_at)
