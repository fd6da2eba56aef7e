"""The notifications service as an OS process on real PostgreSQL and RabbitMQ, sending to a
real aiosmtpd server and a real HTTP receiver: redelivery, a crash between send and record,
and a restart across a message's due time."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
import pytest

from services.notifications.dispatcher import SENT_BEFORE_RECORD
from services.notifications.outbox import INTERRUPTED
from shared.contracts import events as contracts
from shared.contracts.assessment import ReferralService
from shared.failpoints import CRASH_EXIT_CODE
from shared.service import message_id
from shared.settings import Settings
from shared.values import Actor, ActorKind
from tests.support import (
    ACTOR,
    AUDITOR,
    SUPERVISOR,
    ServiceProcesses,
    events_broker,
    eventually,
)
from tests.test_notification_outbox import (
    SECRET,
    Receiver,
    SmtpServer,
    receiver,
    smtp,
    write_directory,
)

pytestmark = pytest.mark.distributed
__all__ = ["receiver", "smtp"]  # fixtures, shared with the embedded tests


@pytest.fixture
def notifications(
    distributed_settings: Settings, tmp_path: Path, smtp: SmtpServer, receiver: Receiver
) -> Iterator[ServiceProcesses]:
    extra = {
        "KOTOUTUS_SMTP_HOST": "127.0.0.1",
        "KOTOUTUS_SMTP_PORT": str(smtp.port),
        "KOTOUTUS_SMTP_TLS": "none",
        "KOTOUTUS_DIRECTORY": str(write_directory(tmp_path / "directory.toml", receiver.url)),
        "KOTOUTUS_TEST_PARTNER_SECRET": SECRET,
        # Any hour will do for these tests: quiet hours have their own tests.
        "KOTOUTUS_CLIENT_HOURS_START": "00:00:00",
        "KOTOUTUS_CLIENT_HOURS_END": "23:59:59",
        "KOTOUTUS_DISPATCH_POLL_SECONDS": "0.2",
    }
    running = ServiceProcesses(distributed_settings, tmp_path, extra)
    yield running
    running.stop_all()


def appointment(not_before: datetime | None = None) -> dict[str, Any]:
    return {
        "starts_at": (datetime.now(UTC) + timedelta(days=7)).replace(microsecond=0).isoformat(),
        "place": "Kemijärven kaupungintalo, Vapaudenkatu 8",
        "purpose": "initial_assessment",
        "client_name": "Olena Kovalenko",
        "languages": ["uk", "ru"],
        "interpreter_language": "uk",
        "contact_name": "Anna Virtanen",
        "contact_phone": "+358401234567",
        "email": "olena@example.org",
        "not_before": not_before.isoformat() if not_before else None,
    }


def post_appointment(url: str, client_id: str, body: dict[str, Any]) -> dict[str, Any]:
    response = httpx.post(
        f"{url}/clients/{client_id}/appointments", json=body, headers=ACTOR, timeout=10
    )
    assert response.status_code == 202, response.text
    result: dict[str, Any] = response.json()
    return result


def messages(url: str, client_id: str) -> dict[str, dict[str, Any]]:
    # An auditor: these clients are synthetic, with no deadline that names their organisation.
    response = httpx.get(f"{url}/clients/{client_id}/messages", headers=AUDITOR, timeout=10)
    if response.status_code == 404:
        return {}
    response.raise_for_status()
    return {m["message_id"]: m for m in response.json()}


def test_a_redelivered_referral_sends_one_signed_notice(
    notifications: ServiceProcesses, distributed_settings: Settings, receiver: Receiver
) -> None:
    notifications.start("notifications")
    client_id, assessment_id = uuid4(), uuid4()
    now = datetime.now(UTC)
    event = contracts.ReferralMade(
        message_id=message_id("assessment", assessment_id, 3),
        event_type="ReferralMade",
        schema_version=1,
        source="assessment",
        position=7,
        aggregate_id=assessment_id,
        aggregate_version=3,
        occurred_at=now,
        recorded_at=now,
        actor=Actor(id="caseworker:anna.virtanen", kind=ActorKind.USER),
        organisation="municipality:320",
        data=contracts.ReferralMadeData(
            client_id=client_id,
            assessment_id=assessment_id,
            referral_id="ref-1",
            service=ReferralService.ADULT_EDUCATION_INSTITUTE,
            referred_on=date.today(),
        ),
    )
    broker = events_broker(distributed_settings)
    for _ in range(3):  # RabbitMQ redelivers, or the producer publishes again
        broker.publish(event.model_dump_json().encode(), event.routing_key, str(event.message_id))
    url = notifications.url("notifications")
    sent = eventually(
        lambda: [m for m in messages(url, str(client_id)).values() if m["state"] == "sent"],
        what="the notice sent",
    )
    time.sleep(1.0)  # room for a second notice, were one to be sent
    assert len(sent) == 1
    assert len(messages(url, str(client_id))) == 1
    assert [r["valid"] for r in receiver.requests] == [True]


def test_a_crash_between_send_and_record_fails_the_mail_for_staff_to_decide(
    notifications: ServiceProcesses, smtp: SmtpServer
) -> None:
    notifications.start("notifications", failpoint=SENT_BEFORE_RECORD)
    url = notifications.url("notifications")
    client_id = str(uuid4())
    letter = post_appointment(url, client_id, appointment())
    # The mail server accepts the letter; the process dies before recording that it did.
    assert notifications.wait_exit("notifications") == CRASH_EXIT_CODE
    assert len(smtp.inbox.received) == 1

    notifications.start("notifications")
    failed = eventually(
        lambda: messages(url, client_id)[letter["message_id"]]["state"] == "failed",
        what="the interrupted letter failed",
    )
    assert failed
    [listed] = httpx.get(f"{url}/notifications/failed", headers=SUPERVISOR, timeout=10).json()
    assert (listed["message_id"], listed["reason"]) == (letter["message_id"], INTERRUPTED)
    assert len(smtp.inbox.received) == 1  # not resent behind the staff's back

    # Staff check with the client, who never got it, and resend.
    resent = httpx.post(
        f"{url}/notifications/{letter['message_id']}/resend", headers=SUPERVISOR, timeout=10
    )
    assert resent.status_code == 200, resent.text
    eventually(
        lambda: messages(url, client_id)[letter["message_id"]]["state"] == "sent", what="resent"
    )
    assert len(smtp.inbox.received) == 2
    [(recipients, mail), _] = smtp.inbox.received
    assert recipients == ["olena@example.org"]
    assert mail["Content-Language"] == "uk"


def test_a_letter_due_while_the_service_is_down_goes_out_once_after_restart(
    notifications: ServiceProcesses, smtp: SmtpServer
) -> None:
    notifications.start("notifications")
    url = notifications.url("notifications")
    client_id = str(uuid4())
    due = datetime.now(UTC) + timedelta(seconds=3)
    letter = post_appointment(url, client_id, appointment(not_before=due))
    notifications.stop("notifications")
    while datetime.now(UTC) < due + timedelta(seconds=1):
        time.sleep(0.2)
    assert smtp.inbox.received == []

    notifications.start("notifications")
    eventually(
        lambda: messages(url, client_id)[letter["message_id"]]["state"] == "sent", what="sent"
    )
    time.sleep(1.0)
    assert len(smtp.inbox.received) == 1
    [view] = messages(url, client_id).values()
    assert view["total_attempts"] == 1


def test_two_notifications_processes_send_each_message_once_and_take_over(
    notifications: ServiceProcesses, smtp: SmtpServer, tmp_path: Path
) -> None:
    """Scaled out: both processes consume and serve, one at a time dispatches; when it goes,
    the other takes over, and nothing is sent twice or failed as interrupted."""
    (tmp_path / "second").mkdir()
    second = ServiceProcesses(notifications.settings, tmp_path / "second", notifications.extra_env)
    both = {"first": notifications, "second": second}
    for running in both.values():
        running.start("notifications")
    letters: dict[str, str] = {}  # message id → client id

    def send_batch(via: ServiceProcesses, count: int) -> None:
        url = via.url("notifications")
        due = datetime.now(UTC) + timedelta(seconds=1)
        for _ in range(count):
            client_id = str(uuid4())
            letters[post_appointment(url, client_id, appointment(not_before=due))["message_id"]] = (
                client_id
            )

    def all_sent(via: ServiceProcesses) -> bool:
        url = via.url("notifications")
        states = [messages(url, c).get(m, {}).get("state") for m, c in letters.items()]
        return all(state == "sent" for state in states)

    try:
        send_batch(notifications, 6)
        send_batch(second, 6)
        eventually(lambda: all_sent(second), what="the first twelve letters sent")
        # Whichever dispatched, each process in turn is the only one left: the first killed
        # outright (its session, and so its lock, ends with it), the second stopped.
        notifications.kill("notifications")
        send_batch(second, 4)
        eventually(lambda: all_sent(second), what="letters sent by the second alone")
        notifications.start("notifications")
        second.stop("notifications")
        send_batch(notifications, 4)
        eventually(lambda: all_sent(notifications), what="letters sent by the first alone")
        time.sleep(1.0)  # room for a second copy to arrive, were one sent
    finally:
        second.stop_all()

    assert len(smtp.inbox.received) == len(letters) == 20
    url = notifications.url("notifications")
    for message, client_id in letters.items():
        view = messages(url, client_id)[message]
        assert view["total_attempts"] == 1, view
