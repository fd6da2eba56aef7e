"""Channels against real servers: an aiosmtpd SMTP server and an HTTP receiver on free local
ports, started here. The tests assert what arrived, not which calls were made."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from pydantic import SecretStr

from services.notifications.delivery.message import (
    Attachment,
    DeliveryStatus,
    OutgoingMessage,
)
from services.notifications.delivery.retry import RetryPolicy, deliver_with_retries
from services.notifications.delivery.sms import SmsFileChannel
from services.notifications.delivery.smtp import EmlFolderChannel, SmtpChannel, SmtpSettings
from services.notifications.delivery.webhook import WebhookChannel
from tests.servers import SmtpInbox, WebhookReceiver, running_receiver, running_smtp
from tests.support import free_port

FROM = "kotoutus@kemijarvi.example"
NOW = datetime(2025, 3, 14, 10, 0, tzinfo=UTC)


# --- SMTP ---------------------------------------------------------------------------------


@pytest.fixture
def smtp_server() -> Iterator[tuple[SmtpInbox, int]]:
    with running_smtp() as server:
        yield server.inbox, server.port


def smtp_channel(port: int) -> SmtpChannel:
    settings = SmtpSettings(
        host="127.0.0.1", port=port, tls="none", timeout_seconds=5, from_address=FROM
    )
    return SmtpChannel(settings, clock=lambda: NOW)


def letter(message_id: str = "letter-1", recipient: str = "amina@example.org") -> OutgoingMessage:
    return OutgoingMessage(
        message_id=message_id,
        channel="email",
        recipient=recipient,
        language="ar",
        subject="موعدك في خدمات الاندماج",
        text="مرحبًا أمينة،\nموعدك يوم الجمعة.",
        html='<!DOCTYPE html><html lang="ar" dir="rtl"><body><p>مرحبًا أمينة</p></body></html>',
        attachments=(
            Attachment(
                filename="kutsu-دعوة.pdf", content_type="application/pdf", content=b"%PDF-1.4 x"
            ),
            Attachment(filename="kartta.txt", content_type="text/plain", content=b"Kirkkokatu 2"),
        ),
        headers=(("X-Kotoutus-Kind", "appointment_letter"),),
    )


async def test_smtp_delivers_text_html_and_attachments(smtp_server: tuple[SmtpInbox, int]) -> None:
    inbox, port = smtp_server
    result = await smtp_channel(port).send(letter())
    assert result.status is DeliveryStatus.DELIVERED, result.reason

    [(recipients, mail)] = inbox.received
    assert inbox.senders == [FROM]
    assert recipients == ["amina@example.org"]
    assert mail["To"] == "amina@example.org"
    assert mail["Subject"] == "موعدك في خدمات الاندماج"
    assert mail["Content-Language"] == "ar"
    assert mail["Message-ID"] == "<letter-1@kemijarvi.example>"
    assert mail["Auto-Submitted"] == "auto-generated"
    assert mail["X-Kotoutus-Kind"] == "appointment_letter"
    text = mail.get_body(preferencelist=("plain",))
    html = mail.get_body(preferencelist=("html",))
    assert text is not None and html is not None
    # The wire has CRLF line ends; the parser keeps them.
    assert text.get_content().replace("\r\n", "\n").strip() == "مرحبًا أمينة،\nموعدك يوم الجمعة."
    assert '<html lang="ar" dir="rtl">' in html.get_content()
    attachments = {a.get_filename(): a for a in mail.iter_attachments()}
    assert set(attachments) == {"kutsu-دعوة.pdf", "kartta.txt"}
    assert attachments["kutsu-دعوة.pdf"].get_content_type() == "application/pdf"
    assert attachments["kutsu-دعوة.pdf"].get_payload(decode=True) == b"%PDF-1.4 x"
    assert attachments["kartta.txt"].get_payload(decode=True) == b"Kirkkokatu 2"


async def test_smtp_resend_carries_the_same_message_id(smtp_server: tuple[SmtpInbox, int]) -> None:
    inbox, port = smtp_server
    channel = smtp_channel(port)
    await channel.send(letter())
    await channel.send(letter())
    assert [mail["Message-ID"] for _, mail in inbox.received] == [
        "<letter-1@kemijarvi.example>"
    ] * 2


async def test_smtp_refusals_are_permanent_or_transient_by_code(
    smtp_server: tuple[SmtpInbox, int],
) -> None:
    inbox, port = smtp_server
    inbox.refuse["gone@example.org"] = "550 5.1.1 No such user"
    inbox.refuse["full@example.org"] = "452 4.2.2 Mailbox full"
    channel = smtp_channel(port)

    gone = await channel.send(letter("l-gone", "gone@example.org"))
    assert gone.status is DeliveryStatus.PERMANENT
    assert "550" in gone.reason and "No such user" in gone.reason

    full = await channel.send(letter("l-full", "full@example.org"))
    assert full.status is DeliveryStatus.TRANSIENT
    assert "452" in full.reason
    assert inbox.received == []

    # A permanent refusal is not retried; one attempt.
    outcome = await deliver_with_retries(
        channel, letter("l-gone2", "gone@example.org"), RetryPolicy(max_attempts=5)
    )
    assert (outcome.status, outcome.attempts) == (DeliveryStatus.PERMANENT, 1)


async def test_smtp_connection_refused_is_transient() -> None:
    result = await smtp_channel(free_port()).send(letter())
    assert result.status is DeliveryStatus.TRANSIENT


# --- Files ---------------------------------------------------------------------------------


def listing(folder: Path) -> list[Path]:
    return sorted(folder.iterdir())


def read(path: Path) -> bytes:
    return path.read_bytes()


async def test_eml_folder_writes_one_file_per_message_id(tmp_path: Path) -> None:
    channel = EmlFolderChannel(tmp_path / "outbox", from_address=FROM, clock=lambda: NOW)
    first = await channel.send(letter())
    second = await channel.send(letter())
    await channel.send(letter("letter-2"))
    assert first.delivered and second.delivered
    assert "already written" in second.reason
    assert [p.name for p in listing(tmp_path / "outbox")] == [
        "letter-1.eml",
        "letter-2.eml",
    ]
    mail = message_from_bytes(
        (tmp_path / "outbox/letter-1.eml").read_bytes(), policy=policy.default
    )
    assert isinstance(mail, EmailMessage)
    assert mail["Message-ID"] == "<letter-1@kemijarvi.example>"
    assert mail["Subject"] == "موعدك في خدمات الاندماج"
    assert {a.get_filename() for a in mail.iter_attachments()} == {"kutsu-دعوة.pdf", "kartta.txt"}


async def test_sms_file_channel(tmp_path: Path) -> None:
    channel = SmsFileChannel(tmp_path, clock=lambda: NOW)
    sms = OutgoingMessage(
        message_id="sms-1",
        channel="sms",
        recipient="+358 40 123 4567",
        language="uk",
        subject="Нагадування",
        text="Нагадуємо про зустріч у п'ятницю о 9:30.",
    )
    assert (await channel.send(sms)).delivered
    assert (await channel.send(sms)).delivered
    [written] = listing(tmp_path)
    content = read(written).decode("utf-8")
    assert written.name == "sms-1.txt"
    assert content.startswith("To: +358401234567\nLanguage: uk\n")
    assert content.endswith("\nНагадуємо про зустріч у п'ятницю о 9:30.\n")

    bad = sms.model_copy(update={"message_id": "sms-2", "recipient": "040 123"})
    assert (await channel.send(bad)).status is DeliveryStatus.PERMANENT


# --- Webhook -------------------------------------------------------------------------------

SECRET = "partner-secret-1"


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with running_receiver(SECRET, "/kotoutus/notices") as state:
        yield state


def notice(url: str, message_id: str = "notice-1") -> OutgoingMessage:
    body = {"kind": "referral_notice", "client_reference": "KT-2025-0042", "service": "Suomi 1"}
    return OutgoingMessage(
        message_id=message_id,
        channel="webhook",
        recipient=url,
        language="fi",
        subject="Uusi ohjaus",
        text=json.dumps(body, ensure_ascii=False),
    )


def webhook(url: str, secret: str = SECRET) -> WebhookChannel:
    # The real clock: the receiver checks the timestamp against its own.
    return WebhookChannel({url: SecretStr(secret)}, timeout_seconds=5)


async def test_webhook_is_signed_and_idempotent(receiver: WebhookReceiver) -> None:
    message = notice(receiver.url)
    result = await webhook(receiver.url).send(message)
    assert result.delivered, result.reason
    [request] = receiver.requests
    assert request["valid"]
    assert json.loads(request["body"]) == json.loads(message.text)
    assert request["headers"]["Idempotency-Key"] == "notice-1"
    assert request["headers"]["Content-Type"] == "application/json; charset=utf-8"
    assert request["headers"]["X-Kotoutus-Signature"].startswith("sha256=")


async def test_webhook_with_the_wrong_secret_is_refused(receiver: WebhookReceiver) -> None:
    result = await webhook(receiver.url, secret="not-the-secret").send(notice(receiver.url))
    assert result.status is DeliveryStatus.PERMANENT
    assert not receiver.requests[0]["valid"]


async def test_webhook_retries_server_errors_with_backoff(receiver: WebhookReceiver) -> None:
    receiver.answers = [500, 503]
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    policy = RetryPolicy(base_seconds=0.5, cap_seconds=4, max_attempts=5)
    outcome = await deliver_with_retries(
        webhook(receiver.url), notice(receiver.url), policy, sleep=sleep
    )
    assert (outcome.status, outcome.attempts) == (DeliveryStatus.DELIVERED, 3)
    assert [r.status for r in outcome.results] == [
        DeliveryStatus.TRANSIENT,
        DeliveryStatus.TRANSIENT,
        DeliveryStatus.DELIVERED,
    ]
    assert "500" in outcome.results[0].reason
    assert len(waits) == 2 and 0 <= waits[0] <= 0.5 and 0 <= waits[1] <= 1.0
    # The same message three times: one key, every attempt signed afresh.
    assert len(receiver.requests) == 3
    assert {r["headers"]["Idempotency-Key"] for r in receiver.requests} == {"notice-1"}
    assert all(r["valid"] for r in receiver.requests)


async def test_webhook_client_error_is_permanent(receiver: WebhookReceiver) -> None:
    receiver.answers = [400]
    outcome = await deliver_with_retries(
        webhook(receiver.url), notice(receiver.url), RetryPolicy(base_seconds=0.01)
    )
    assert (outcome.status, outcome.attempts) == (DeliveryStatus.PERMANENT, 1)
    assert "400" in outcome.reason
    assert len(receiver.requests) == 1


async def test_webhook_too_many_requests_is_transient(receiver: WebhookReceiver) -> None:
    receiver.answers = [429, 408]
    first = await webhook(receiver.url).send(notice(receiver.url))
    second = await webhook(receiver.url).send(notice(receiver.url))
    assert (first.status, second.status) == (DeliveryStatus.TRANSIENT, DeliveryStatus.TRANSIENT)


async def test_webhook_connection_refused_is_transient() -> None:
    url = f"http://127.0.0.1:{free_port()}/hook"
    result = await webhook(url).send(notice(url))
    assert result.status is DeliveryStatus.TRANSIENT
    assert "ConnectError" in result.reason


async def test_webhook_without_a_secret_is_not_called(receiver: WebhookReceiver) -> None:
    channel = WebhookChannel({}, timeout_seconds=5)
    result = await channel.send(notice(receiver.url))
    assert result.status is DeliveryStatus.TRANSIENT
    assert receiver.requests == []


async def test_a_refusal_that_echoes_the_address_is_recorded_without_it(
    smtp_server: tuple[SmtpInbox, int],
) -> None:
    inbox, port = smtp_server
    inbox.refuse["amina.hassan@example.org"] = (
        "550 5.1.1 <amina.hassan@example.org>: Recipient address rejected"
    )
    result = await smtp_channel(port).send(letter("l-echo", "amina.hassan@example.org"))
    assert result.status is DeliveryStatus.PERMANENT
    assert "550" in result.reason and "Recipient address rejected" in result.reason
    # The reason goes into NotificationFailed and the client's timeline: no address there.
    assert "amina.hassan" not in result.reason
