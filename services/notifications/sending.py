"""Sending, as the dispatcher asks for it: the two halves of an attempt around the channel.

``begin_attempt`` records ``SendingStarted`` (or decides on an attempt a crash interrupted) and
renders the message; ``record_attempt`` records the result: sent, retry at, or failed. A
message about a deadline goes to whoever answers for the client when it is sent, so its
addressee is decided here, not when it was scheduled (``addressee``).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID

from services.notifications.base import NotificationsBase
from services.notifications.delivery import compose
from services.notifications.delivery.channel import ChannelRouter
from services.notifications.delivery.message import (
    DeliveryResult,
    DeliveryStatus,
    OutgoingMessage,
    message_id_for,
)
from services.notifications.delivery.retry import retry_delay
from services.notifications.delivery.templates import (
    Appointment,
    DailyDigest,
    DeadlineReminder,
    DigestItem,
    MessageContext,
    MessageKind,
    OverdueAlert,
    ReferralNotice,
    ResponsibilityNotice,
    choose_language,
    render,
)
from services.notifications.directory import MissingEntryError
from services.notifications.keys import KeyErasedError
from services.notifications.letters import PENDING, Message, MessageState
from services.notifications.outbox import ClientOutbox
from shared.clock import HELSINKI

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Attempt:
    """What the dispatcher sends: the rendered message, or the reason there is none to send
    (a missing directory entry, an erased client), which is recorded as a permanent failure."""

    message_id: str
    outgoing: OutgoingMessage | None
    problem: str | None = None
    recipient: str | None = None  # as addressed now, when not the scheduled reference
    digest_item: DigestItem | None = None  # goes out in the recipient's daily digest
    organisation: str | None = None  # on whose behalf it goes (answering for the client now)


class Sending(NotificationsBase):
    def channels(self) -> ChannelRouter:
        secrets = dict(self.delivery.webhook_secrets)
        if self.directory is not None:
            secrets.update(self.directory.webhook_secrets())
        return self.delivery.model_copy(update={"webhook_secrets": secrets}).channels(self.clock)

    def receiver_deduplicates(self, channel: str) -> bool:
        """Whether the far end recognises a repeat by the message id (see
        ``ClientOutbox.interrupted``): webhooks (Idempotency-Key) and the files written by id
        do; an SMTP server does not."""
        return channel != "email" or self.delivery.smtp_host is None

    # --- the two halves of an attempt ---

    def begin_attempt(self, letters_id: UUID, message_id: str) -> Attempt | None:
        """Records ``SendingStarted`` if the message is due (or recovers an interrupted
        attempt), and renders it; None when there is nothing to send now."""
        now = self.clock()

        def decide(letters: ClientOutbox) -> tuple[bool, str | None]:
            current = letters.messages.get(message_id)
            if current is None:
                return False, None
            answering = self._answering(letters, current)
            provenance = self._provenance(answering)
            if current.state is MessageState.SENDING:
                deduplicates = self.receiver_deduplicates(current.channel)
                letters.interrupted(
                    provenance=provenance,
                    message_id=message_id,
                    receiver_deduplicates=deduplicates,
                )
                return deduplicates, answering
            return letters.start(provenance=provenance, message_id=message_id, now=now), answering

        letters, (go, answering) = self.decide(letters_id, ClientOutbox, decide)
        if not go:
            return None
        message = letters.messages[message_id]
        recipient = self.addressee(letters, message, answering)
        try:
            if message.facts.get("digest"):
                return Attempt(
                    message_id,
                    None,
                    None,
                    recipient,
                    digest_item=self._digest_item(letters.client_id, message, recipient),
                    organisation=answering,
                )
            outgoing = self._outgoing(letters, message, recipient, now, answering)
        except (MissingEntryError, KeyErasedError) as error:
            return Attempt(message_id, None, str(error), recipient, organisation=answering)
        except Exception as error:
            # A message that cannot be rendered fails with the reason (staff see it), rather
            # than being tried again and again.
            log.exception("cannot render %s", message_id)
            why = f"{type(error).__name__}: {error}"
            return Attempt(message_id, None, why, recipient, organisation=answering)
        return Attempt(message_id, outgoing, None, recipient, organisation=answering)

    def record_attempt(
        self,
        letters_id: UUID,
        result: DeliveryResult,
        recipient: str | None = None,
        organisation: str | None = None,
    ) -> None:
        """``recipient`` and ``organisation``: as the attempt addressed it (``Attempt``)."""
        now = self.clock()
        policy = self.delivery.retry_policy

        def decide(letters: ClientOutbox) -> None:
            current = letters.messages[result.message_id]
            delay = retry_delay(policy, max(current.attempts, 1), result, self.rng)
            letters.record_result(
                provenance=self._provenance(organisation or current.facts.get("organisation")),
                message_id=result.message_id,
                delivered=result.delivered,
                permanent=result.status is DeliveryStatus.PERMANENT,
                reason=result.reason,
                max_attempts=policy.max_attempts,
                retry_at=now + timedelta(seconds=delay),
                recipient=recipient,
            )

        self.update(letters_id, ClientOutbox, decide)

    # --- the daily digest of staff reminders ---

    def _digest_item(self, client_id: UUID, message: Message, recipient: str) -> DigestItem:
        if self.directory is None:
            raise MissingEntryError("no directory is configured (KOTOUTUS_DIRECTORY)")
        self.directory.address(recipient)  # a missing address fails the item, not the digest
        return DigestItem(
            deadline_kind=message.facts["deadline_kind"],
            due=date.fromisoformat(message.facts["due"]),
            client_reference=str(client_id),
            link=self.directory.link(str(client_id)),
        )

    def digest(self, recipient: str, items: Sequence[tuple[str, DigestItem]]) -> OutgoingMessage:
        """One email with the day's reminders of ``recipient`` (message id, item pairs); its
        own id derives from the messages it carries."""
        assert self.directory is not None
        name, address = self.directory.address(recipient)
        day = self.clock().astimezone(HELSINKI).date()
        ordered = sorted(items, key=lambda pair: (pair[1].due, pair[1].client_reference))
        context = DailyDigest(
            recipient_name=name, day=day, items=tuple(item for _, item in ordered)
        )
        official = self.delivery.official_language
        language = choose_language(MessageKind.DAILY_DIGEST, [official], official=official)
        digest_id = message_id_for("digest", recipient, *sorted(i for i, _ in items))
        rendered = render(MessageKind.DAILY_DIGEST, language, context)
        return compose.email(rendered, message_id=digest_id, recipient=address)

    # --- whom a message goes to, on whose behalf ---

    def _answering(self, letters: ClientOutbox, message: Message) -> str | None:
        """On whose behalf a message goes: for a staff message about a deadline, whoever
        answers for the client when it is sent (a transfer, such as the 2025 handover or a
        move, may have come after it was scheduled); otherwise whoever it was decided by."""
        scheduled_for: str | None = message.facts.get("organisation")
        if message.audience != "staff" or scheduled_for is None:
            return scheduled_for
        return self.responsible_organisation(letters.client_id) or scheduled_for

    def addressee(
        self, letters: ClientOutbox, message: Message, answering: str | None = None
    ) -> str:
        """Whom a message not yet sent goes to if sent now. A reminder goes to the client's
        caseworker, when the answering organisation's staff named one the directory knows,
        and otherwise to that organisation's inbox; an overdue alert to its supervisor."""
        scheduled_for = message.facts.get("organisation")
        if message.audience != "staff" or scheduled_for is None:
            return message.recipient
        organisation = answering or self._answering(letters, message) or scheduled_for
        if message.kind == MessageKind.OVERDUE_ALERT.value:
            return f"supervisor:{organisation}"
        worker = letters.worker_of(organisation)
        if worker is not None and self.directory is not None and worker in self.directory.workers:
            return worker
        if organisation == scheduled_for and not message.recipient.startswith("inbox:"):
            return message.recipient  # the caseworker it was scheduled for, still theirs
        return f"inbox:{organisation}"

    def recipients_now(self, letters: ClientOutbox) -> dict[str, str]:
        """Each message's recipient as staff should see it: whom it goes to if sent now,
        while it is still to go; whom it went (or was tried) to, once it has."""
        answering = self.responsible_organisation(letters.client_id)
        return {
            message.message_id: self.addressee(letters, message, answering)
            if message.state in PENDING or message.state is MessageState.SENDING
            else message.recipient
            for message in letters.messages.values()
        }

    # --- rendering ---

    def _outgoing(
        self,
        letters: ClientOutbox,
        message: Message,
        recipient: str,
        now: datetime,
        answering: str | None = None,
    ) -> OutgoingMessage:
        client_id = letters.client_id
        kind = MessageKind(message.kind)
        facts = message.facts
        official = self.delivery.official_language
        as_of = now.astimezone(HELSINKI).date()
        reference = str(client_id)
        if message.audience == "client":
            assert message.sealed is not None and message.language is not None
            details = self.keys.open(client_id, message.sealed, message.sealed_key)
            context: MessageContext = Appointment.model_validate(details["context"])
            rendered = render(kind, message.language, context)
            if message.channel == "sms":
                return compose.sms(
                    rendered, message_id=message.message_id, recipient=details["address"]
                )
            return compose.email(
                rendered, message_id=message.message_id, recipient=details["address"]
            )
        directory = self.directory
        if directory is None:
            raise MissingEntryError("no directory is configured (KOTOUTUS_DIRECTORY)")
        if message.audience == "partner":
            partner = directory.partner(message.recipient.removeprefix("partner:"))
            sender = facts["from_organisation"]
            home = directory.organisations.get(sender)
            common: dict[str, Any] = {
                "partner_name": partner.name,
                "from_organisation": directory.organisation_name(sender),
                "client_reference": reference,
                "contact_name": directory.organisation_name(sender),
                "contact_email": home.inbox if home else None,
            }
            if kind is MessageKind.REFERRAL_NOTICE:
                context = ReferralNotice(
                    **common, service=facts["service"], referred_on=facts["referred_on"]
                )
            else:
                context = ResponsibilityNotice(
                    **common, effective_from=facts["effective_from"], reason=facts["reason"]
                )
            language = choose_language(kind, [partner.language or official], official=official)
            rendered = render(kind, language, context)
            return compose.webhook(
                rendered, context, message_id=message.message_id, url=partner.webhook_url
            )
        # Staff: the letter names the organisation it goes on behalf of (see ``_answering``).
        answering = answering or facts["organisation"]
        organisation = directory.organisation(answering)
        name, address = directory.address(recipient)
        staff_context: dict[str, Any] = {
            "deadline_kind": facts["deadline_kind"],
            "due": date.fromisoformat(facts["due"]),
            "as_of": as_of,
            "client_reference": reference,
            "organisation": organisation.name,
            "link": directory.link(reference),
        }
        if kind is MessageKind.OVERDUE_ALERT:
            # Named by the staff of the organisation answering now (the fact recorded with the
            # alert may be an earlier organisation's caseworker).
            worker = letters.worker_of(answering)
            if worker and worker in directory.workers:
                worker = directory.workers[worker].name
            context = OverdueAlert(supervisor_name=name, responsible_worker=worker, **staff_context)
        else:
            context = DeadlineReminder(recipient_name=name, **staff_context)
        language = choose_language(kind, [organisation.language or official], official=official)
        return compose.email(
            render(kind, language, context), message_id=message.message_id, recipient=address
        )
