"""Notifications with an outbox: decide and record, then send, then record the result.

``OutboxApplication`` extends the reminders application with each client's ``ClientOutbox``:

* policies that schedule messages (staff reminders at the configured offsets before every
  deadline, overdue alerts to the supervisor, notices to partners) and cancel or move them
  when the deadline's step is done or the deadline moves — reminders follow the
  ``ClientReminders`` book, whose decisions already tolerate any order of arrival;
* the two halves of an attempt, called by the dispatcher around the channel:
  ``begin_attempt`` (records ``SendingStarted`` and renders the message) and
  ``record_attempt`` (records the result: sent, retry at, or failed);
* staff commands: appointment letters, a missed appointment (may its interpreting be
  charged?), the list of failed messages, resend.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from services.notifications.application import (
    ASSESSMENT_START,
    ENROLMENT,
    PLAN_REVIEW,
    NotificationsApplication,
    reminder_key,
)
from services.notifications.delivery import compose
from services.notifications.delivery.channel import ChannelRouter
from services.notifications.delivery.config import DeliverySettings
from services.notifications.delivery.message import (
    DeliveryResult,
    DeliveryStatus,
    OutgoingMessage,
    message_id_for,
)
from services.notifications.delivery.retry import retry_delay
from services.notifications.delivery.send_window import (
    earliest_client_send,
    earliest_staff_send,
    reminder_days,
)
from services.notifications.delivery.templates import (
    Appointment,
    AppointmentPurpose,
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
from services.notifications.directory import Directory, MissingEntryError
from services.notifications.domain import ClientReminders, ReminderState
from services.notifications.keys import ClientKeys, KeyErasedError
from services.notifications.missed import MissedReport, fee_notice, fee_rule, max_fee
from services.notifications.missed import decide as decide_fee
from services.notifications.outbox import (
    PENDING,
    ClientOutbox,
    Message,
    MessageState,
    MissedAppointment,
)
from shared.clock import HELSINKI, Clock, utc_now
from shared.contracts import PublicEvent
from shared.contracts import events as contracts
from shared.crypto import master_key
from shared.errors import DomainError, NotFoundError
from shared.eventstore import Policy
from shared.law.rulebook import RuleBook
from shared.settings import Settings
from shared.values import OrganisationKind, Provenance

REMINDER = "reminder"
log = logging.getLogger(__name__)


class AppointmentNotPassedError(DomainError):
    code = "appointment_not_passed"
    texts = {
        "fi": "Tapaaminen on vasta tulossa: siitä ei voi vielä jäädä pois",
        "sv": "Mötet har inte ägt rum ännu: ingen kan ha uteblivit från det",
        "en": "The appointment has not begun yet: it cannot have been missed",
    }


class NotFailedError(DomainError):
    code = "message_not_failed"
    texts = {
        "fi": "Vain epäonnistuneen viestin voi lähettää uudelleen",
        "sv": "Endast ett misslyckat meddelande kan skickas på nytt",
        "en": "Only a failed message can be sent again",
    }


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


class OutboxApplication(NotificationsApplication):
    def __init__(
        self,
        settings: Settings,
        env: dict[str, str],
        book: RuleBook | None = None,
        *,
        delivery: DeliverySettings | None = None,
        clock: Clock = utc_now,
    ) -> None:
        super().__init__(settings, env, book)
        delivery = delivery or DeliverySettings()
        if "outbox_dir" not in delivery.model_fields_set:
            # Embedded default: the .eml and SMS files beside the service's other data.
            delivery = delivery.model_copy(update={"outbox_dir": settings.data_dir / "outbox"})
        self.delivery = delivery
        self.clock = clock
        self.directory = Directory.load(delivery.directory)
        self.keys = ClientKeys(self.recorder, master_key(settings))
        self.rng = random.Random()
        # Followed by the API's worker threads, so one at a time (``_index_lock``).
        self._index_lock = threading.Lock()
        self._index: dict[str, UUID] = {}  # message id → its outbox
        self._failed: set[str] = set()  # message ids whose last word is a failure
        self._index_position = 0

    # --- set-up ---

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

    def _provenance(self, organisation: str | None = None) -> Provenance:
        return Provenance.system(
            self.service_name,
            organisation or self.settings.organisation(OrganisationKind.MUNICIPALITY),
            self.clock(),
        )

    def responsible_organisation(self, client_id: UUID) -> str | None:
        known = super().responsible_organisation(client_id)
        if known is None:
            outbox = self.stored(ClientOutbox.create_id(client_id), ClientOutbox)
            return outbox.opened_by if outbox is not None else None
        return known

    def outbox_of(self, client_id: UUID) -> ClientOutbox:
        try:
            return self.load(ClientOutbox.create_id(client_id), ClientOutbox)
        except NotFoundError:
            raise NotFoundError(f"messages of client {client_id}") from None

    def _outbox(self, client_id: UUID, provenance: Provenance) -> ClientOutbox:
        outbox = self.stored(ClientOutbox.create_id(client_id), ClientOutbox)
        return outbox or ClientOutbox(client_id=client_id, provenance=provenance)

    # --- staff reminders follow the reminder book ---

    def follow_reminders(self, book: ClientReminders) -> ClientOutbox | None:
        """Brings the client's scheduled reminder messages in line with the book: a reminder
        per offset before each scheduled deadline, none for a cancelled one, and those of a
        moved deadline replaced by the new due day's."""
        if self.directory is None:
            return None
        now = self.clock()
        provenance = self._provenance()
        outbox = self._outbox(book.client_id, provenance)
        today = now.astimezone(HELSINKI).date()
        hours = self.delivery.staff_hours
        for reminder in book.reminders.values():
            prefix = f"{REMINDER}:{reminder.key}:"
            wanted = reminder.state is ReminderState.SCHEDULED and reminder.due is not None
            for message in outbox.pending_by_cause(prefix):
                if not wanted:
                    reason = reminder.reason or "step done"
                elif not message.cause.startswith(f"{prefix}{reminder.due}:"):
                    reason = f"deadline moved to {reminder.due}"
                else:
                    continue
                outbox.cancel(provenance=provenance, message_id=message.message_id, reason=reason)
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
                outbox.schedule(
                    provenance=provenance,
                    message_id=message_id_for(cause),
                    kind=MessageKind.DEADLINE_REMINDER.value,
                    audience="staff",
                    channel="email",
                    recipient=outbox.worker_of(organisation) or f"inbox:{organisation}",
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
        return outbox if outbox.pending_events else None

    # --- policies of the outbox itself ---

    def on_overdue(self, message: PublicEvent) -> Sequence[Aggregate]:
        """A deadline passed: an alert to the supervisor of the responsible organisation."""
        if self.directory is None:
            return ()
        client_id: UUID
        if isinstance(message, contracts.AssessmentOverdue):
            client_id = message.data.client_id
            key = reminder_key(ASSESSMENT_START, message.data.assessment_id)
            due = message.data.overdue_on - timedelta(days=1)
            kind = ASSESSMENT_START
        else:
            assert isinstance(message, contracts.EnrolmentOverdue | contracts.ReviewOverdue)
            client_id = message.data.client_id
            due = message.data.deadline.due
            review = isinstance(message, contracts.ReviewOverdue)
            kind = PLAN_REVIEW if review else ENROLMENT
            key = reminder_key(kind, message.data.plan_id, due.isoformat() if review else None)
        # The supervisor of whoever answers for the client now (after a transfer, the new
        # organisation), as the reminder book last heard.
        organisation = self.responsible_organisation(client_id) or message.organisation
        now = self.clock()
        provenance = self._provenance(organisation)
        outbox = self._outbox(client_id, provenance)
        cause = f"overdue:{key}:{due}"
        outbox.schedule(
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
                "responsible_worker": outbox.worker_of(organisation),
            },
        )
        return (outbox,)

    def _partner_notice(
        self, message: PublicEvent, client_id: UUID, partner: str, kind: MessageKind, **facts: Any
    ) -> Sequence[Aggregate]:
        # A referral to an in-house service, or a transfer to an organisation with no
        # endpoint, is not a partner notice: only partners in the directory get one.
        if self.directory is None or partner not in self.directory.partners:
            return ()
        provenance = self._provenance(message.organisation)
        outbox = self._outbox(client_id, provenance)
        cause = f"{kind.value}:{message.message_id}"
        outbox.schedule(
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
        return (outbox,)

    def on_referral_made(self, message: PublicEvent) -> Sequence[Aggregate]:
        assert isinstance(message, contracts.ReferralMade)
        data = message.data
        return self._partner_notice(
            message,
            data.client_id,
            data.service.value,
            MessageKind.REFERRAL_NOTICE,
            service=data.service.value,
            referred_on=data.referred_on.isoformat(),
        )

    def on_responsibility_transferred(self, message: PublicEvent) -> Sequence[Aggregate]:
        """The reminder book learns who answers now; the partner it passed to is told."""
        book = super().on_responsibility_transferred(message)
        assert isinstance(message, contracts.ResponsibilityTransferred)
        data = message.data
        return [
            *book,
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

    def on_worker_assigned(self, message: PublicEvent) -> Sequence[Aggregate]:
        assert isinstance(message, contracts.WorkerAssigned)
        provenance = self._provenance(message.organisation)
        outbox = self._outbox(message.data.client_id, provenance)
        outbox.note_worker(provenance=provenance, worker=message.data.worker)
        return (outbox,)

    def on_client_erased(self, message: PublicEvent) -> Sequence[Aggregate]:
        assert isinstance(message, contracts.ClientErased)
        client_id = message.data.client_id
        # Idempotent, so a redelivery before the tracking row is written does no harm.
        self.keys.forget(client_id)
        outbox = self.stored(ClientOutbox.create_id(client_id), ClientOutbox)
        if outbox is None:
            return ()
        outbox.forget_personal(provenance=self._provenance(message.organisation))
        return (outbox,)

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
        sealed = self.keys.seal(
            client_id,
            {"address": address, "context": appointment.model_dump(mode="json")},
        )
        at = max(self.clock(), not_before) if not_before else self.clock()
        send_at = earliest_client_send(at, self.delivery.client_hours)

        def decide(outbox: ClientOutbox) -> Message:
            outbox.schedule(
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
            )
            return outbox.messages[message_id]

        outbox_id = ClientOutbox.create_id(client_id)
        if outbox_id not in self.repository:
            self.save(ClientOutbox(client_id=client_id, provenance=provenance))
        return self.decide(outbox_id, ClientOutbox, decide)[1]

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
            raise AppointmentNotPassedError(starts_at.isoformat())
        outbox_id = self.outbox_of(client_id).id

        def decide(outbox: ClientOutbox) -> MissedAppointment:
            letter = _letter_of(outbox, starts_at, purpose)
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
            outbox.record_missed(provenance=provenance, missed=missed)
            return missed

        return self.decide(outbox_id, ClientOutbox, decide)[1]

    # --- the two halves of an attempt ---

    def begin_attempt(self, outbox_id: UUID, message_id: str) -> Attempt | None:
        """Records ``SendingStarted`` if the message is due (or recovers an interrupted
        attempt), and renders it; None when there is nothing to send now."""
        now = self.clock()

        def decide(outbox: ClientOutbox) -> tuple[bool, str | None]:
            current = outbox.messages.get(message_id)
            if current is None:
                return False, None
            answering = self._answering(outbox, current)
            provenance = self._provenance(answering)
            if current.state is MessageState.SENDING:
                deduplicates = self.receiver_deduplicates(current.channel)
                outbox.interrupted(
                    provenance=provenance,
                    message_id=message_id,
                    receiver_deduplicates=deduplicates,
                )
                return deduplicates, answering
            return outbox.start(provenance=provenance, message_id=message_id, now=now), answering

        outbox, (go, answering) = self.decide(outbox_id, ClientOutbox, decide)
        if not go:
            return None
        message = outbox.messages[message_id]
        recipient = self.addressee(outbox, message, answering)
        try:
            if message.facts.get("digest"):
                return Attempt(
                    message_id,
                    None,
                    None,
                    recipient,
                    digest_item=self._digest_item(outbox.client_id, message, recipient),
                    organisation=answering,
                )
            outgoing = self._outgoing(outbox, message, recipient, now, answering)
        except (MissingEntryError, KeyErasedError) as error:
            return Attempt(message_id, None, str(error), recipient, organisation=answering)
        except Exception as error:
            # A message that cannot be rendered fails with the reason (staff see it), rather
            # than being tried again and again.
            log.exception("cannot render %s", message_id)
            why = f"{type(error).__name__}: {error}"
            return Attempt(message_id, None, why, recipient, organisation=answering)
        return Attempt(message_id, outgoing, None, recipient, organisation=answering)

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

    def _answering(self, outbox: ClientOutbox, message: Message) -> str | None:
        """On whose behalf a message goes: for a staff message about a deadline, whoever
        answers for the client when it is sent (a transfer, such as the 2025 handover or a
        move, may have come after it was scheduled); otherwise whoever it was decided by."""
        scheduled_for: str | None = message.facts.get("organisation")
        if message.audience != "staff" or scheduled_for is None:
            return scheduled_for
        return self.responsible_organisation(outbox.client_id) or scheduled_for

    def addressee(
        self, outbox: ClientOutbox, message: Message, answering: str | None = None
    ) -> str:
        """Whom a message not yet sent goes to if sent now. A reminder goes to the client's
        caseworker, when the answering organisation's staff named one the directory knows,
        and otherwise to that organisation's inbox; an overdue alert to its supervisor."""
        scheduled_for = message.facts.get("organisation")
        if message.audience != "staff" or scheduled_for is None:
            return message.recipient
        organisation = answering or self._answering(outbox, message) or scheduled_for
        if message.kind == MessageKind.OVERDUE_ALERT.value:
            return f"supervisor:{organisation}"
        worker = outbox.worker_of(organisation)
        if worker is not None and self.directory is not None and worker in self.directory.workers:
            return worker
        if organisation == scheduled_for and not message.recipient.startswith("inbox:"):
            return message.recipient  # the caseworker it was scheduled for, still theirs
        return f"inbox:{organisation}"

    def recipients_now(self, outbox: ClientOutbox) -> dict[str, str]:
        """Each message's recipient as staff should see it: whom it goes to if sent now,
        while it is still to go; whom it went (or was tried) to, once it has."""
        answering = self.responsible_organisation(outbox.client_id)
        return {
            message.message_id: self.addressee(outbox, message, answering)
            if message.state in PENDING or message.state is MessageState.SENDING
            else message.recipient
            for message in outbox.messages.values()
        }

    def record_attempt(
        self,
        outbox_id: UUID,
        result: DeliveryResult,
        recipient: str | None = None,
        organisation: str | None = None,
    ) -> None:
        """``recipient`` and ``organisation``: as the attempt addressed it (``Attempt``)."""
        now = self.clock()
        policy = self.delivery.retry_policy

        def decide(outbox: ClientOutbox) -> None:
            current = outbox.messages[result.message_id]
            delay = retry_delay(policy, max(current.attempts, 1), result, self.rng)
            outbox.record_result(
                provenance=self._provenance(organisation or current.facts.get("organisation")),
                message_id=result.message_id,
                delivered=result.delivered,
                permanent=result.status is DeliveryStatus.PERMANENT,
                reason=result.reason,
                max_attempts=policy.max_attempts,
                retry_at=now + timedelta(seconds=delay),
                recipient=recipient,
            )

        self.update(outbox_id, ClientOutbox, decide)

    def _outgoing(
        self,
        outbox: ClientOutbox,
        message: Message,
        recipient: str,
        now: datetime,
        answering: str | None = None,
    ) -> OutgoingMessage:
        client_id = outbox.client_id
        kind = MessageKind(message.kind)
        facts = message.facts
        official = self.delivery.official_language
        as_of = now.astimezone(HELSINKI).date()
        reference = str(client_id)
        if message.audience == "client":
            assert message.sealed is not None and message.language is not None
            details = self.keys.open(client_id, message.sealed)
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
            worker = outbox.worker_of(answering)
            if worker and worker in directory.workers:
                worker = directory.workers[worker].name
            context = OverdueAlert(supervisor_name=name, responsible_worker=worker, **staff_context)
        else:
            context = DeadlineReminder(recipient_name=name, **staff_context)
        language = choose_language(kind, [organisation.language or official], official=official)
        return compose.email(
            render(kind, language, context), message_id=message.message_id, recipient=address
        )

    # --- staff: failed messages and resend ---

    def _follow_index(self) -> None:
        with self._index_lock:
            self._follow_index_unlocked()

    def _follow_index_unlocked(self) -> None:
        while notifications := self.recorder.select_notifications(self._index_position + 1, 1000):
            for notification in notifications:
                self._index_position = notification.id
                kind = notification.topic.rsplit(".", 1)[-1]
                if ":ClientOutbox." not in notification.topic or kind not in _INDEXED:
                    continue
                event: Any = self.mapper.to_domain_event(notification)
                if kind == "MessageScheduled":
                    self._index[event.message_id] = UUID(str(notification.originator_id))
                elif kind == "MessageFailed":
                    self._failed.add(event.message_id)
                else:  # asked to go out again
                    self._failed.discard(event.message_id)

    def find(self, message_id: str) -> tuple[ClientOutbox, Message]:
        self._follow_index()
        outbox_id = self._index.get(message_id)
        if outbox_id is None:
            raise NotFoundError(f"message {message_id}")
        outbox = self.load(outbox_id, ClientOutbox)
        return outbox, outbox.messages[message_id]

    def failed_messages(self) -> list[tuple[ClientOutbox, Message]]:
        with self._index_lock:
            self._follow_index_unlocked()
            # Only the outboxes that hold a failure are read, not every client's.
            holding = sorted({self._index[m] for m in self._failed})
        found: list[tuple[ClientOutbox, Message]] = []
        for outbox_id in holding:
            outbox = self.load(outbox_id, ClientOutbox)
            found.extend(
                (outbox, m) for m in outbox.messages.values() if m.state is MessageState.FAILED
            )
        return found

    def resend(self, message_id: str, provenance: Provenance) -> Message:
        """A failed message goes out again (at once, within its audience's hours)."""
        outbox, message = self.find(message_id)
        now = self.clock()
        if message.audience == "client":
            send_at = earliest_client_send(now, self.delivery.client_hours)
        elif message.audience == "staff":
            send_at = earliest_staff_send(now, self.delivery.staff_hours)
        else:
            send_at = now

        def decide(box: ClientOutbox) -> Message:
            if not box.resend(provenance=provenance, message_id=message_id, send_at=send_at):
                raise NotFailedError(f"{message_id} is {box.messages[message_id].state}")
            return box.messages[message_id]

        return self.decide(outbox.id, ClientOutbox, decide)[1]


_INDEXED = frozenset({"MessageScheduled", "MessageFailed", "ResendRequested"})


def _letter_of(outbox: ClientOutbox, starts_at: datetime, purpose: AppointmentPurpose) -> Message:
    """The appointment's letter, as ``schedule_appointment`` identified it (the time may be
    given in another offset than the letter's)."""
    prefix = f"appointment:{outbox.client_id}:"
    suffix = f":{purpose}"
    for message in outbox.messages.values():
        cause = message.cause
        if message.kind != MessageKind.APPOINTMENT_LETTER.value or not (
            cause.startswith(prefix) and cause.endswith(suffix)
        ):
            continue
        if datetime.fromisoformat(cause.removeprefix(prefix).removesuffix(suffix)) == starts_at:
            return message
    raise NotFoundError(f"appointment letter of client {outbox.client_id} for {starts_at}")


def with_outbox(policies: dict[str, Policy]) -> dict[str, Policy]:
    """The reminder policies, each followed by the outbox's reconciliation with the reminder
    book, plus the outbox's own policies. Chained in one policy per event type, so both effects
    are stored in one transaction with the message's tracking row."""

    def follow(policy: Policy) -> Policy:
        def chained(app: Any, message: PublicEvent) -> Sequence[Aggregate]:
            effects = list(policy(app, message))
            if isinstance(app, OutboxApplication):
                for aggregate in list(effects):
                    if isinstance(aggregate, ClientReminders):
                        outbox = app.follow_reminders(aggregate)
                        if outbox is not None:
                            effects.append(outbox)
            return effects

        return chained

    def also(
        first: Policy | None, second: Callable[[Any, PublicEvent], Sequence[Aggregate]]
    ) -> Policy:
        if first is None:
            return second

        def both(app: Any, message: PublicEvent) -> Sequence[Aggregate]:
            return [*first(app, message), *second(app, message)]

        return both

    chained: dict[str, Policy] = {name: follow(policy) for name, policy in policies.items()}
    own: dict[str, Callable[[Any, PublicEvent], Sequence[Aggregate]]] = {
        "AssessmentOverdue": OutboxApplication.on_overdue,
        "EnrolmentOverdue": OutboxApplication.on_overdue,
        "ReviewOverdue": OutboxApplication.on_overdue,
        "ReferralMade": OutboxApplication.on_referral_made,
        "ResponsibilityAssigned": OutboxApplication.on_responsibility_assigned,
        "ResponsibilityTransferred": OutboxApplication.on_responsibility_transferred,
        "WorkerAssigned": OutboxApplication.on_worker_assigned,
        "ClientErased": OutboxApplication.on_client_erased,
    }
    for name, policy in own.items():
        chained[name] = also(chained.get(name), policy)
    return chained
