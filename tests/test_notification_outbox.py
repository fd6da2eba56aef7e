"""The notifications outbox in one process (SQLite), against real servers: an aiosmtpd SMTP
server and an HTTP receiver that checks the webhook signature. Time is injected."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest
from pydantic import BaseModel
from typer.testing import CliRunner

from kotoutus.cli import app as cli
from services.notifications.application import NotificationsApplication
from services.notifications.delivery.config import DeliverySettings
from services.notifications.dispatcher import Dispatcher
from services.notifications.letters import MessageState
from services.notifications.outbox import INTERRUPTED
from services.notifications.service import SERVICE
from shared.clock import HELSINKI
from shared.contracts import PublicEvent
from shared.contracts import events as contracts
from shared.contracts.assessment import ReferralService
from shared.contracts.plans import MeasureKind
from shared.eventstore import store_env
from shared.law.deadlines import Deadline
from shared.law.rulebook import RuleRef
from shared.service import message_id
from shared.settings import Settings
from shared.values import Actor, ActorKind
from tests.servers import SmtpServer, running_receiver, running_smtp
from tests.servers import WebhookReceiver as Receiver

SECRET = "partner-secret-9"
RULE = RuleRef(
    id="enrolment",
    law="1386/2010",
    section="13",
    valid_from=date(2011, 9, 1),
    confirmed=True,
    citation="test",
)
# Monday 10 March 2025, 07:00 in Helsinki: before staff hours.
MONDAY_7 = datetime(2025, 3, 10, 7, 0, tzinfo=HELSINKI)


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with running_smtp() as server:
        yield server


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver(SECRET) as state:
        yield state


def write_directory(path: Path, webhook_url: str = "http://127.0.0.1:9/none") -> Path:
    path.write_text(
        f"""
case_link = "https://kotoutus.example/clients/{{client_id}}"

[organisations."municipality:320"]
name = "Kemijärven kaupunki"
language = "fi"
inbox = "kotoutus@kemijarvi.example"
supervisor = {{ name = "Liisa Lehto", email = "liisa.lehto@kemijarvi.example" }}

[organisations."employment_authority:320"]
name = "Kemijärven työllisyyspalvelut"
language = "fi"
inbox = "tyollisyys@kemijarvi.example"
supervisor = {{ name = "Timo Tervo", email = "timo.tervo@kemijarvi.example" }}

[workers."caseworker:anna.virtanen"]
name = "Anna Virtanen"
email = "anna.virtanen@kemijarvi.example"

[partners.adult_education_institute]
name = "Lapin kansanopisto"
webhook_url = "{webhook_url}"
secret_env = "KOTOUTUS_TEST_PARTNER_SECRET"
language = "fi"
""",
        encoding="utf-8",
    )
    return path


class FakeClock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Outbox:
    app: NotificationsApplication
    clock: FakeClock
    dispatcher: Dispatcher
    settings: Settings
    position: int = 0

    def publish(
        self,
        contract: type[PublicEvent],
        data: BaseModel,
        *,
        source: str = "plans",
        aggregate: UUID | None = None,
        version: int = 1,
        organisation: str = "municipality:320",
    ) -> PublicEvent:
        """A public event from upstream, handled as the consumer would (exactly once)."""
        self.position += 1
        aggregate = aggregate or uuid4()
        event = contract(
            message_id=message_id(source, aggregate, version),
            event_type=contract.EVENT_TYPE,
            schema_version=1,
            source=source,
            position=self.position,
            aggregate_id=aggregate,
            aggregate_version=version,
            occurred_at=self.clock.now,
            recorded_at=self.clock.now,
            actor=Actor(id="system:plans", kind=ActorKind.SYSTEM),
            organisation=organisation,
            data=data,
        )
        self.deliver(event)
        return event

    def deliver(self, event: PublicEvent) -> bool:
        return self.app.process(event, SERVICE.policies)

    async def tick(self, at: datetime | None = None) -> int:
        if at is not None:
            self.clock.now = at
        return await self.dispatcher.tick()

    def public(self, event_type: str) -> list[PublicEvent]:
        found = []
        for notification in self.app.recorder.select_notifications(1, 10_000):
            event = SERVICE.publishes.to_public(
                notification.id, self.app.mapper.to_domain_event(notification)
            )
            if event is not None and event.event_type == event_type:
                found.append(event)
        return found


def make_outbox(settings: Settings, delivery: DeliverySettings, now: datetime) -> Outbox:
    clock = FakeClock(now)
    app = NotificationsApplication(
        settings, store_env(settings, "notifications"), delivery=delivery, clock=clock
    )
    return Outbox(app, clock, Dispatcher(app), settings)


@pytest.fixture
def outbox(
    embedded_settings: Settings, smtp: SmtpServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Outbox]:
    monkeypatch.setenv("KOTOUTUS_TEST_PARTNER_SECRET", SECRET)
    delivery = DeliverySettings(
        smtp_host="127.0.0.1",
        smtp_port=smtp.port,
        smtp_tls="none",
        directory=write_directory(tmp_path / "directory.toml"),
        retry_base_seconds=1,
        retry_cap_seconds=2,
        retry_max_attempts=3,
        outbox_dir=tmp_path / "outbox",
    )
    made = make_outbox(embedded_settings, delivery, MONDAY_7)
    yield made
    made.app.close()


@pytest.fixture
def made(
    embedded_settings: Settings,
    receiver: Receiver,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Outbox]:
    """An outbox whose partners' webhooks go to the test's HTTP receiver (now: real time)."""
    monkeypatch.setenv("KOTOUTUS_TEST_PARTNER_SECRET", SECRET)
    delivery = DeliverySettings(
        directory=write_directory(tmp_path / "directory.toml", receiver.url),
        outbox_dir=tmp_path / "outbox",
    )
    outbox = make_outbox(embedded_settings, delivery, datetime.now(UTC))
    yield outbox
    outbox.app.close()


def deadline(due: date) -> Deadline:
    return Deadline(starts_on=due - timedelta(days=30), nominal=due, due=due, rule=RULE)


def enrolment_due(client_id: UUID, plan_id: UUID, due: date) -> contracts.PlanDeadlineData:
    return contracts.PlanDeadlineData(client_id=client_id, plan_id=plan_id, deadline=deadline(due))


def body_of(mail: EmailMessage) -> str:
    part = mail.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())


async def test_reminder_and_overdue_alert_reach_the_smtp_server_once(
    outbox: Outbox, smtp: SmtpServer
) -> None:
    client_id, plan_id = uuid4(), uuid4()
    due = date(2025, 3, 13)  # Thursday
    event = outbox.publish(contracts.EnrolmentDue, enrolment_due(client_id, plan_id, due))
    # 14 days before has passed already; 3 days before is today (Monday), then the due day.
    messages = outbox.app.letters_of(client_id).messages
    assert sorted(m.send_at.astimezone(HELSINKI) for m in messages.values()) == [
        datetime(2025, 3, 10, 8, 0, tzinfo=HELSINKI),
        datetime(2025, 3, 13, 8, 0, tzinfo=HELSINKI),
    ]
    # Redelivered, and announced again in a new event: nothing new is decided.
    assert outbox.deliver(event) is False
    outbox.publish(contracts.EnrolmentDue, enrolment_due(client_id, plan_id, due))
    assert len(outbox.app.letters_of(client_id).messages) == 2

    assert await outbox.tick() == 0  # 07:00: before staff hours
    assert await outbox.tick(datetime(2025, 3, 10, 8, 1, tzinfo=HELSINKI)) == 1
    assert await outbox.tick() == 0
    [(recipients, mail)] = smtp.inbox.received
    assert recipients == ["kotoutus@kemijarvi.example"]
    assert mail["Content-Language"] == "fi"
    assert mail["Subject"].startswith("Muistutus: ")
    assert str(client_id) in mail["Subject"]
    text = body_of(mail)
    assert "Hei Kemijärven kaupunki" in text
    assert "torstai 13. maaliskuuta 2025" in text
    assert "Aikaa on 3 päivää" in text
    assert f"https://kotoutus.example/clients/{client_id}" in text

    # A caseworker is named: the due day's reminder goes to her instead of the inbox.
    worker = contracts.WorkerAssignedData(client_id=client_id, worker="caseworker:anna.virtanen")
    outbox.publish(contracts.WorkerAssigned, worker, source="intake")
    assert await outbox.tick(datetime(2025, 3, 13, 8, 0, tzinfo=HELSINKI)) == 1
    recipients, mail = smtp.inbox.received[-1]
    assert recipients == ["anna.virtanen@kemijarvi.example"]
    assert "Hei Anna Virtanen" in body_of(mail)
    assert "määräaika on tänään" in body_of(mail)

    # The deadline passes without enrolment (Friday, 09:30): the supervisor is alerted.
    outbox.clock.now = datetime(2025, 3, 14, 9, 30, tzinfo=HELSINKI)
    outbox.publish(contracts.EnrolmentOverdue, enrolment_due(client_id, plan_id, due))
    assert await outbox.tick() >= 1
    alerts = [m for r, m in smtp.inbox.received if r == ["liisa.lehto@kemijarvi.example"]]
    [alert] = alerts
    assert "Hei Liisa Lehto" in body_of(alert) or "Liisa Lehto" in body_of(alert)
    assert alert["Content-Language"] == "fi"

    sent = outbox.public("NotificationSent")
    assert [e.data.recipient for e in sent] == [  # type: ignore[attr-defined]
        "inbox:municipality:320",
        "caseworker:anna.virtanen",
        "supervisor:municipality:320",
    ]
    for e in sent:
        assert e.data.client_id == client_id  # type: ignore[attr-defined]
        assert "@" not in e.data.recipient  # type: ignore[attr-defined]


async def test_after_a_transfer_the_inbox_reminders_go_to_the_new_organisation(
    outbox: Outbox, smtp: SmtpServer
) -> None:
    client_id, plan_id = uuid4(), uuid4()
    due = date(2025, 3, 13)
    outbox.publish(contracts.EnrolmentDue, enrolment_due(client_id, plan_id, due))
    outbox.clock.now += timedelta(minutes=5)  # the transfer is the newer news
    transfer = contracts.ResponsibilityTransferredData(
        client_id=client_id,
        from_organisation="municipality:320",
        to_organisation="employment_authority:320",
        reason="2025 handover",
    )
    outbox.publish(contracts.ResponsibilityTransferred, transfer, source="intake")
    assert outbox.app.responsible_organisation(client_id) == "employment_authority:320"
    assert await outbox.tick(datetime(2025, 3, 13, 8, 1, tzinfo=HELSINKI)) >= 1
    recipients = [r for r, _ in smtp.inbox.received]
    assert ["tyollisyys@kemijarvi.example"] in recipients
    assert ["kotoutus@kemijarvi.example"] not in recipients
    # The deadline passes: the new organisation's supervisor is alerted, not the old one's.
    outbox.clock.now = datetime(2025, 3, 14, 9, 30, tzinfo=HELSINKI)
    outbox.publish(contracts.EnrolmentOverdue, enrolment_due(client_id, plan_id, due))
    assert await outbox.tick() >= 1
    sent = outbox.public("NotificationSent")
    assert {e.data.recipient for e in sent} == {  # type: ignore[attr-defined]
        "inbox:employment_authority:320",
        "supervisor:employment_authority:320",
    }


async def test_older_news_does_not_undo_a_transfer(outbox: Outbox) -> None:
    """The transfer is the first the book hears of the client, told by the new organisation
    itself (its supervisor runs the handover); a deadline the old one announced earlier, but
    handled later, does not take the client back."""
    client_id, plan_id = uuid4(), uuid4()
    announced = outbox.clock.now
    outbox.clock.now += timedelta(minutes=5)
    transfer = contracts.ResponsibilityTransferredData(
        client_id=client_id,
        from_organisation="te_office:lappi",
        to_organisation="municipality:320",  # publish() sends as municipality:320
        reason="2025 handover",
    )
    outbox.publish(contracts.ResponsibilityTransferred, transfer, source="intake")
    late = enrolment_due(client_id, plan_id, date(2025, 4, 30))
    outbox.clock.now = announced  # recorded before the transfer, handled after it
    outbox.publish(contracts.EnrolmentDue, late, organisation="te_office:lappi")
    book = outbox.app.reminders_of(client_id)
    assert outbox.app.responsible_organisation(client_id) == "municipality:320"
    assert book.responsible_known_at is not None


async def test_step_done_cancels_and_moved_deadline_moves_reminders(outbox: Outbox) -> None:
    client_id, plan_id = uuid4(), uuid4()
    outbox.publish(contracts.EnrolmentDue, enrolment_due(client_id, plan_id, date(2025, 4, 30)))
    first = dict(outbox.app.letters_of(client_id).messages)
    assert len(first) == 3
    # The deadline moves: the old reminders are cancelled, new ones scheduled.
    outbox.publish(contracts.EnrolmentDue, enrolment_due(client_id, plan_id, date(2025, 5, 30)))
    moved = outbox.app.letters_of(client_id).messages
    assert all(moved[i].state is MessageState.CANCELLED for i in first)
    assert {moved[i].reason for i in first} == {"deadline moved to 2025-05-30"}
    pending = [m for m in moved.values() if m.state is MessageState.SCHEDULED]
    assert len(pending) == 3
    # The step is done: every pending reminder is cancelled.
    enrolled = contracts.PlanEnrolledData(
        client_id=client_id,
        plan_id=plan_id,
        enrolled_on=date(2025, 3, 10),
        service=MeasureKind("integration_training"),
    )
    outbox.publish(contracts.PlanEnrolled, enrolled, aggregate=plan_id, version=2)
    done = outbox.app.letters_of(client_id).messages
    assert all(m.state is MessageState.CANCELLED for m in done.values())


async def test_partner_notice_is_a_signed_webhook(made: Outbox, receiver: Receiver) -> None:
    client_id = uuid4()
    referral = contracts.ReferralMadeData(
        client_id=client_id,
        assessment_id=uuid4(),
        referral_id="r-1",
        service=ReferralService("adult_education_institute"),
        referred_on=date(2025, 3, 10),
    )
    event = made.publish(contracts.ReferralMade, referral, source="assessment")
    made.deliver(event)
    assert await made.tick() == 1
    assert await made.tick() == 0
    [request] = receiver.requests
    assert request["valid"]
    body = json.loads(request["body"])
    assert body["type"] == "referral_notice"
    assert body["data"]["partner_name"] == "Lapin kansanopisto"
    assert request["headers"]["Idempotency-Key"] == body["message_id"]
    [sent] = made.public("NotificationSent")
    assert sent.data.channel == "webhook"  # type: ignore[attr-defined]
    assert sent.data.recipient == "partner:adult_education_institute"  # type: ignore[attr-defined]


async def test_retries_then_failed_then_resend_by_cli(
    outbox: Outbox, smtp: SmtpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    smtp.stop()
    client_id = uuid4()
    outbox.clock.now = datetime(2025, 3, 10, 9, 0, tzinfo=HELSINKI)
    outbox.publish(contracts.EnrolmentDue, enrolment_due(client_id, uuid4(), date(2025, 3, 10)))
    [message] = outbox.app.letters_of(client_id).messages.values()
    for attempt in range(1, 4):
        assert await outbox.tick() == 1
        state = outbox.app.letters_of(client_id).messages[message.message_id]
        assert state.attempts == attempt
        outbox.clock.now += timedelta(seconds=3)  # past any retry_at (capped at 2 s)
    assert state.state is MessageState.FAILED
    assert state.reason is not None and state.reason.startswith("gave up after 3 attempts")
    [failed] = outbox.public("NotificationFailed")
    assert failed.data.attempts == 3  # type: ignore[attr-defined]
    assert await outbox.tick() == 0

    # Staff list and resend it with the CLI, which opens the store itself.
    monkeypatch.setenv("KOTOUTUS_DATA_DIR", str(outbox.settings.data_dir))
    runner = CliRunner()
    assert [m.message_id for _, m in outbox.app.failed_messages()] == [message.message_id]
    listed = runner.invoke(cli, ["notifications", "failed"])
    assert listed.exit_code == 0, listed.output
    assert message.message_id in listed.stdout
    smtp.start()
    resent = runner.invoke(
        cli, ["notifications", "resend", message.message_id, "--actor", "caseworker:anna"]
    )
    assert resent.exit_code == 0, resent.output
    # The CLI reads the real clock: it goes out within the next staff hours from now.
    again_at = outbox.app.letters_of(client_id).messages[message.message_id].send_at
    assert await outbox.tick(again_at) == 1
    assert len(smtp.inbox.received) == 1
    assert outbox.app.letters_of(client_id).messages[message.message_id].state is MessageState.SENT
    assert outbox.app.failed_messages() == []  # the list follows the resend
    again = runner.invoke(
        cli, ["notifications", "resend", message.message_id, "--actor", "caseworker:anna"]
    )
    assert again.exit_code == 1  # only a failed message can be resent


async def test_an_smtp_attempt_interrupted_by_a_crash_fails_rather_than_resends(
    outbox: Outbox, smtp: SmtpServer
) -> None:
    client_id = uuid4()
    outbox.clock.now = datetime(2025, 3, 10, 9, 0, tzinfo=HELSINKI)
    outbox.publish(contracts.EnrolmentDue, enrolment_due(client_id, uuid4(), date(2025, 3, 10)))
    [message] = outbox.app.letters_of(client_id).messages.values()
    outbox_id = outbox.app.letters_of(client_id).id
    # The first process recorded SendingStarted and died (its result never recorded).
    assert outbox.app.begin_attempt(outbox_id, message.message_id) is not None
    restarted = Dispatcher(outbox.app)
    assert await restarted.tick() == 0
    after = outbox.app.letters_of(client_id).messages[message.message_id]
    assert (after.state, after.reason) == (MessageState.FAILED, INTERRUPTED)
    assert smtp.inbox.received == []


async def test_an_interrupted_webhook_is_sent_again_under_the_same_idempotency_key(
    made: Outbox, receiver: Receiver
) -> None:
    client_id = uuid4()
    transfer = contracts.ResponsibilityTransferredData(
        client_id=client_id,
        from_organisation="municipality:320",
        to_organisation="adult_education_institute",
        reason="moved to the partner's programme",
    )
    made.publish(contracts.ResponsibilityTransferred, transfer, source="intake")
    outbox = made.app.letters_of(client_id)
    [message] = outbox.messages.values()
    # A process sent it and died before recording the result.
    attempt = made.app.begin_attempt(outbox.id, message.message_id)
    assert attempt is not None and attempt.outgoing is not None
    assert (await made.dispatcher.channels.send(attempt.outgoing)).delivered
    restarted = Dispatcher(made.app)
    assert await restarted.tick() == 1
    after = made.app.letters_of(client_id).messages[message.message_id]
    assert (after.state, after.total_attempts) == (MessageState.SENT, 2)
    keys = {r["headers"]["Idempotency-Key"] for r in receiver.requests}
    assert keys == {message.message_id}  # the partner sees one notice, twice at most
    body = json.loads(receiver.requests[-1]["body"])
    assert body["type"] == "responsibility_notice"


async def test_client_letters_wait_for_the_morning_and_erasure_shreds_the_address(
    outbox: Outbox,
) -> None:
    from services.notifications.delivery.templates import Appointment, AppointmentPurpose
    from services.notifications.keys import ClientErasedError, KeyErasedError
    from shared.values import Provenance

    client_id = uuid4()
    outbox.clock.now = datetime(2025, 3, 10, 22, 30, tzinfo=HELSINKI)
    letter = Appointment(
        client_name="Amina Hassan",
        purpose=AppointmentPurpose.INITIAL_ASSESSMENT,
        starts_at=datetime(2025, 3, 17, 10, 0, tzinfo=HELSINKI),
        place="Vapaudenkatu 8",
        organisation="Kemijärven kaupunki",
        contact_name="Anna Virtanen",
    )
    provenance = Provenance.system("test", "municipality:320", outbox.clock.now)
    message = outbox.app.schedule_appointment(
        client_id,
        provenance,
        appointment=letter,
        languages=["so"],
        email="amina@example.org",
        phone=None,
        not_before=None,
    )
    assert message.send_at == datetime(2025, 3, 11, 8, 0, tzinfo=HELSINKI)  # not at night
    assert message.language == "so"
    compressor = outbox.app.compressor  # stored compressed: scanned as a reader opens it
    stored = [
        compressor.decompress(bytes(n.state))
        for n in outbox.app.recorder.select_notifications(1, 100)
    ]
    assert not any(b"amina@example.org" in state for state in stored)
    assert not any(b"Amina" in state for state in stored)
    # Asked again (a retried request): the same letter, not a second one.
    again = outbox.app.schedule_appointment(
        client_id,
        provenance,
        appointment=letter,
        languages=["so"],
        email="amina@example.org",
        phone=None,
        not_before=None,
    )
    assert again.message_id == message.message_id
    assert len(outbox.app.letters_of(client_id).messages) == 1

    outbox.publish(
        contracts.ClientErased,
        contracts.ClientErasedData.model_validate(
            {"client_id": client_id, "legal_ground": "GDPR 17"}
        ),
        source="intake",
    )
    assert message.sealed is not None
    with pytest.raises(KeyErasedError):  # the letter's own key went with every other
        outbox.app.keys.open(client_id, message.sealed, message.sealed_key)
    erased = outbox.app.letters_of(client_id).messages[message.message_id]
    assert erased.state is MessageState.CANCELLED
    assert await outbox.tick(datetime(2025, 3, 11, 9, 0, tzinfo=HELSINKI)) == 0
    # A tombstone remembers the erasure: a new letter is refused, not sealed under a new key
    # (its address would be readable again).
    later = letter.model_copy(update={"starts_at": letter.starts_at + timedelta(days=7)})
    with pytest.raises(ClientErasedError):
        outbox.app.schedule_appointment(
            client_id,
            provenance,
            appointment=later,
            languages=["so"],
            email="amina@example.org",
            phone=None,
            not_before=None,
        )
    assert len(outbox.app.letters_of(client_id).messages) == 1


def test_embedded_letter_becomes_an_eml_file_and_shows_on_the_timeline(
    embedded_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fastapi.testclient import TestClient

    from kotoutus.embedded import EmbeddedSystem
    from tests.support import ACTOR, AUDITOR, SUPERVISOR, eventually

    monkeypatch.setenv("KOTOUTUS_CLIENT_HOURS_START", "00:00:00")
    monkeypatch.setenv("KOTOUTUS_CLIENT_HOURS_END", "23:59:59")
    monkeypatch.setenv("KOTOUTUS_DISPATCH_POLL_SECONDS", "0.1")
    system = EmbeddedSystem(embedded_settings)
    client_id = str(uuid4())
    body = {
        "starts_at": "2030-03-17T10:00:00+02:00",
        "place": "Vapaudenkatu 8",
        "purpose": "guidance",
        "client_name": "Amina Hassan",
        "languages": ["ar"],
        "contact_name": "Anna Virtanen",
        "phone": "+358 40 123 4567",
    }
    try:
        with TestClient(system.api()) as api:
            posted = api.post(f"/clients/{client_id}/appointments", json=body, headers=ACTOR)
            assert posted.status_code == 202, posted.text
            letter = posted.json()
            assert (letter["channel"], letter["recipient"]) == ("sms", "client")
            sms = embedded_settings.data_dir / "outbox" / "sms" / f"{letter['message_id']}.txt"
            eventually(sms.exists, timeout=10, what="the SMS file")
            assert "+358401234567" in sms.read_text(encoding="utf-8")

            def sent_on_timeline() -> list[dict[str, Any]]:
                # An auditor: the read side knows no organisation of this unregistered client.
                response = api.get(f"/clients/{client_id}/timeline", headers=AUDITOR)
                entries = response.json() if response.status_code == 200 else []
                return [e for e in entries if e["event_type"] == "NotificationSent"]

            [entry] = eventually(sent_on_timeline, timeout=10, what="NotificationSent")
            assert entry["data"]["kind"] == "appointment_letter"
            assert entry["data"]["channel"] == "sms"
            assert entry["data"]["recipient"] == "client"
            assert api.get("/notifications/failed", headers=SUPERVISOR).json() == []
    finally:
        system.close()


async def test_daily_digest_instead_of_single_reminders(
    embedded_settings: Settings, smtp: SmtpServer, tmp_path: Path
) -> None:
    delivery = DeliverySettings(
        smtp_host="127.0.0.1",
        smtp_port=smtp.port,
        smtp_tls="none",
        directory=write_directory(tmp_path / "directory.toml"),
        staff_daily_digest=True,
        outbox_dir=tmp_path / "outbox",
    )
    made = make_outbox(embedded_settings, delivery, MONDAY_7)
    try:
        clients = [uuid4(), uuid4()]
        for client_id, due in zip(clients, (date(2025, 3, 13), date(2025, 3, 10)), strict=True):
            made.publish(contracts.EnrolmentDue, enrolment_due(client_id, uuid4(), due))
        assert await made.tick(datetime(2025, 3, 10, 8, 0, tzinfo=HELSINKI)) == 2
        [(recipients, mail)] = smtp.inbox.received  # one mail for both clients' reminders
        assert recipients == ["kotoutus@kemijarvi.example"]
        assert mail["Subject"].startswith("Päivän määräajat")
        text = body_of(mail)
        assert all(str(client_id) in text for client_id in clients)
        assert "(tänään)" in text
        sent = made.public("NotificationSent")
        assert sorted(e.data.client_id for e in sent) == sorted(clients)  # type: ignore[attr-defined]
    finally:
        made.app.close()


def test_the_store_keeps_its_name_whatever_class_serves_it() -> None:
    # eventsourcing names PostgreSQL tables after the application: a subclass named otherwise
    # would leave every stored notification behind in a table nobody reads.
    assert SERVICE.application is NotificationsApplication
    assert NotificationsApplication.name == "notifications"


def test_the_books_keep_their_stored_names(outbox: Outbox) -> None:
    # A stored event's topic names its aggregate's module and class. The client's letters are
    # still ClientOutbox in services.notifications.outbox, whatever the code calls them, so
    # the events of existing stores load.
    client_id = uuid4()
    outbox.publish(contracts.EnrolmentDue, enrolment_due(client_id, uuid4(), date(2025, 4, 30)))
    topics = {n.topic for n in outbox.app.recorder.select_notifications(1, 100)}
    assert topics == {
        "services.notifications.domain:ClientReminders.Opened",
        "services.notifications.domain:ClientReminders.ReminderScheduled",
        "services.notifications.outbox:ClientOutbox.Opened",
        "services.notifications.outbox:ClientOutbox.MessageScheduled",
    }
    assert outbox.app.reminders_of(client_id).reminders
    assert outbox.app.letters_of(client_id).messages
