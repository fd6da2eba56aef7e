"""Notifications' reactions to public events, one handler per contract (the table is in
``service``), each typed with the contract it takes.

* Deadlines (``deadlines``): a reminder per deadline in the client's reminder book, cancelled
  when its step is done, with the staff reminders in the client's letters following the book
  in the same transaction; an alert to the supervisor when a deadline passed.
* Here: notices to partners (a referral, a transfer), who answers for the client, the client's
  caseworker, and erasure.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from services.notifications.deadlines import DeadlinePolicies
from services.notifications.delivery.message import message_id_for
from services.notifications.delivery.templates import MessageKind
from services.notifications.domain import ClientReminders
from services.notifications.outbox import ClientOutbox
from shared.clock import HELSINKI
from shared.contracts import PublicEvent
from shared.contracts import events as contracts
from shared.values import Provenance


class Policies(DeadlinePolicies):
    def on_referral_made(self, message: contracts.ReferralMade) -> Sequence[Aggregate]:
        data = message.data
        return self._partner_notice(
            message,
            data.client_id,
            data.service.value,
            MessageKind.REFERRAL_NOTICE,
            service=data.service.value,
            referred_on=data.referred_on.isoformat(),
        )

    def on_responsibility_assigned(
        self, message: contracts.ResponsibilityAssigned
    ) -> Sequence[Aggregate]:
        """Who answers for a new client: their staff may read its reminders and messages."""
        data = message.data
        return (self._note_responsibility(message, data.client_id, data.organisation),)

    def on_responsibility_transferred(
        self, message: contracts.ResponsibilityTransferred
    ) -> Sequence[Aggregate]:
        """The reminder book learns who answers now (its staff may read the client's reminders
        from now on); the partner it passed to is told."""
        data = message.data
        reminders = self._note_responsibility(message, data.client_id, data.to_organisation)
        return [
            reminders,
            *self._partner_notice(
                message,
                data.client_id,
                data.to_organisation,
                MessageKind.RESPONSIBILITY_NOTICE,
                from_organisation=data.from_organisation,
                effective_from=message.occurred_at.astimezone(HELSINKI).date().isoformat(),
                reason=data.reason,
            ),
        ]

    def on_worker_assigned(self, message: contracts.WorkerAssigned) -> Sequence[Aggregate]:
        provenance = self._provenance(message.organisation)
        letters = self._letters(message.data.client_id, provenance)
        letters.note_worker(provenance=provenance, worker=message.data.worker)
        return (letters,)

    def on_client_erased(self, message: contracts.ClientErased) -> Sequence[Aggregate]:
        client_id = message.data.client_id
        # Idempotent, so a redelivery before the tracking row is written does no harm.
        self.keys.forget(client_id)
        letters = self.stored(ClientOutbox.create_id(client_id), ClientOutbox)
        if letters is None:
            return ()
        letters.forget_personal(provenance=self._provenance(message.organisation))
        return (letters,)

    def _note_responsibility(
        self, message: PublicEvent, client_id: UUID, organisation: str
    ) -> ClientReminders:
        provenance = Provenance.system(self.service_name, message.organisation, message.occurred_at)
        reminders = self._reminders(client_id, provenance)
        reminders.note_responsibility(
            provenance=provenance, organisation=organisation, known_at=message.recorded_at
        )
        return reminders

    def _partner_notice(
        self, message: PublicEvent, client_id: UUID, partner: str, kind: MessageKind, **facts: Any
    ) -> Sequence[Aggregate]:
        # A referral to an in-house service, or a transfer to an organisation with no
        # endpoint, is not a partner notice: only partners in the directory get one.
        if self.directory is None or partner not in self.directory.partners:
            return ()
        provenance = self._provenance(message.organisation)
        letters = self._letters(client_id, provenance)
        cause = f"{kind.value}:{message.message_id}"
        letters.schedule(
            provenance=provenance,
            message_id=message_id_for(cause),
            kind=kind.value,
            audience="partner",
            channel="webhook",
            recipient=f"partner:{partner}",
            language=None,
            send_at=self.clock(),  # systems read webhooks at any hour
            cause=cause,
            facts={"from_organisation": message.organisation, **facts},
        )
        return (letters,)

    # --- restriction of processing (GDPR Art. 18) ---

    def on_processing_restricted(
        self, message: contracts.ProcessingRestricted
    ) -> Sequence[Aggregate]:
        """Nothing is sent about the client until the restriction is lifted."""
        provenance = self._provenance(message.organisation)
        letters = self._letters(message.data.client_id, provenance)
        letters.hold(provenance=provenance, reason=message.data.reason)
        return (letters,)

    def on_restriction_lifted(self, message: contracts.RestrictionLifted) -> Sequence[Aggregate]:
        """What was held goes out: each message at its time, or now if that has passed."""
        letters = self.stored(ClientOutbox.create_id(message.data.client_id), ClientOutbox)
        if letters is None:
            return ()
        provenance = self._provenance(message.organisation)
        letters.release(provenance=provenance, reason=message.data.reason, now=self.clock())
        return (letters,)
