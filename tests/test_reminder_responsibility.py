"""Reminders follow a change of responsibility: a reminder goes to whoever answers for the
step on the day it is sent. Through the embedded API (SQLite, delivery in-process); only
notifications' clock is set, so that reminders of 2024 deadlines are still ahead of it."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest
from fastapi.testclient import TestClient

from kotoutus.embedded import EmbeddedSystem
from kotoutus.registry import SERVICES
from services.notifications.application import NotificationsApplication
from services.notifications.delivery.config import DeliverySettings
from services.notifications.domain import ClientReminders
from services.notifications.letters import MessageState
from services.notifications.outbox import ClientOutbox
from shared.clock import HELSINKI
from shared.eventstore import ServiceApplication
from shared.settings import Settings
from shared.values import Provenance
from tests.support import ACTOR, AUDITOR, SUPERVISOR, bearer, eventually

PERMIT = {"type": "A", "ground_section": "87", "first_permit_on": "2024-06-01"}
TE = "te_office:lappi"
EMPLOYMENT = "employment_authority:320"
DIRECTORY = """
[organisations."te_office:lappi"]
name = "Lapin TE-toimisto"
inbox = "kotoutus@te-lappi.example"
supervisor = { name = "Tea Laine", email = "tea.laine@te-lappi.example" }

[organisations."employment_authority:320"]
name = "Kemijärven työllisyyspalvelut"
inbox = "tyollisyys@kemijarvi.example"
supervisor = { name = "Timo Tervo", email = "timo.tervo@kemijarvi.example" }

[organisations."municipality:320"]
name = "Kemijärven kaupunki"
inbox = "kotoutus@kemijarvi.example"
supervisor = { name = "Liisa Lehto", email = "liisa.lehto@kemijarvi.example" }

[organisations."municipality:698"]
name = "Rovaniemen kaupunki"
inbox = "kotoutus@rovaniemi.example"
supervisor = { name = "Risto Rovio", email = "risto.rovio@rovaniemi.example" }

[workers."tea.laine"]
name = "Tea Laine"
email = "tea.laine@te-lappi.example"
"""


class SetClock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@dataclasses.dataclass
class System:
    api: TestClient
    clock: SetClock
    outbox_dir: Path
    notifications: NotificationsApplication


@pytest.fixture
def system(embedded_settings: Settings, tmp_path: Path) -> Iterator[System]:
    directory = tmp_path / "directory.toml"
    directory.write_text(DIRECTORY, encoding="utf-8")
    outbox_dir = tmp_path / "outbox"
    delivery = DeliverySettings(
        directory=directory, outbox_dir=outbox_dir, dispatch_poll_seconds=0.05
    )
    # Wednesday 6 Nov 2024, before staff hours.
    clock = SetClock(datetime(2024, 11, 6, 7, 0, tzinfo=HELSINKI))

    def notifications(settings: Settings, env: dict[str, str]) -> ServiceApplication:
        return NotificationsApplication(settings, env, delivery=delivery, clock=clock)

    services = {
        **SERVICES,
        "notifications": dataclasses.replace(SERVICES["notifications"], application=notifications),
    }
    embedded = EmbeddedSystem(embedded_settings, services)
    app = embedded.nodes["notifications"].app
    assert isinstance(app, NotificationsApplication)
    with TestClient(embedded.api()) as api:
        yield System(api, clock, outbox_dir, app)


def register(api: TestClient, started: str, **facts: Any) -> str:
    body = {
        "relationship_started_on": started,
        "occurred_at": f"{started}T10:00:00+02:00",
        "personal": {"given_names": "A", "family_name": "B"},
        "facts": {"residence_permit": PERMIT, **facts},
    }
    response = api.post("/clients", json=body, headers=ACTOR)
    assert response.status_code == 201, response.text
    return str(response.json()["client_id"])


def reminder(api: TestClient, client_id: str, kind: str = "assessment-start") -> dict[str, Any]:
    response = api.get(f"/clients/{client_id}/reminders", headers=AUDITOR)
    found = {r["deadline_kind"]: r for r in response.json()} if response.is_success else {}
    return dict(found.get(kind) or {})


def messages(api: TestClient, client_id: str) -> list[dict[str, Any]]:
    response = api.get(f"/clients/{client_id}/messages", headers=AUDITOR)
    return list(response.json()) if response.is_success else []


def reminder_messages(api: TestClient, client_id: str) -> list[dict[str, Any]]:
    return [m for m in messages(api, client_id) if m["kind"] == "deadline_reminder"]


def reminders_sent(api: TestClient, client_id: str) -> list[dict[str, Any]]:
    return [m for m in reminder_messages(api, client_id) if m["state"] == "sent"]


def letter(outbox_dir: Path, message_id: str) -> str:
    mail = message_from_bytes(
        (outbox_dir / "email" / f"{message_id}.eml").read_bytes(), policy=policy.default
    )
    assert isinstance(mail, EmailMessage)
    body = mail.get_body(preferencelist=("plain",))
    assert body is not None
    return f"To: {mail['To']}\n{body.get_content()}"


def test_after_the_2025_handover_reminders_name_the_employment_authority(system: System) -> None:
    api, clock = system.api, system.clock
    # A jobseeker whose relationship started on 1 Nov 2024: the TE office answers; the
    # assessment is due on Thu 2 Jan 2025 (reminders on 19 Dec, 30 Dec and 2 Jan).
    client_id = register(api, "2024-11-01", registered_jobseeker=True)
    scheduled = eventually(lambda: reminder(api, client_id), what="the reminder")
    assert (scheduled["due"], scheduled["responsible_organisation"]) == ("2025-01-02", TE)
    eventually(lambda: len(reminder_messages(api, client_id)) == 3, what="reminder messages")
    # The office names its caseworker: its reminders go to her from now on.
    te = bearer(organisation=TE, subject="tea.laine")
    named = api.post(f"/clients/{client_id}/worker", json={"worker": "tea.laine"}, headers=te)
    assert named.is_success, named.text
    outbox = system.notifications.letters_of
    eventually(lambda: outbox(UUID(client_id)).worker, what="notifications to hear of her")

    # 19 Dec 2024: the fourteen-day reminder goes to the office, which still answers.
    clock.now = datetime(2024, 12, 19, 8, 0, tzinfo=HELSINKI)
    [early] = eventually(lambda: reminders_sent(api, client_id), what="the early reminder")
    assert early["recipient"] == "tea.laine"
    assert "Lapin TE-toimisto" in letter(system.outbox_dir, early["message_id"])

    handover = api.post("/handover/2025", json={"dry_run": False}, headers=SUPERVISOR)
    assert handover.is_success, handover.text
    assert [i["to_organisation"] for i in handover.json()["transferred"]] == [EMPLOYMENT]

    def followed() -> dict[str, Any] | None:
        found = reminder(api, client_id)
        return found if found.get("responsible_organisation") == EMPLOYMENT else None

    assert eventually(followed, what="the reminder to follow")["state"] == "scheduled"
    # The new organisation's staff see it; the pending messages name its inbox (the office's
    # caseworker no longer handles the client), while the one already sent stays as sent.
    employment = bearer(organisation=EMPLOYMENT, subject="eero.employment")
    seen = api.get(f"/clients/{client_id}/reminders", headers=employment)
    assert seen.is_success, seen.text
    listed = {m["message_id"]: m for m in messages(api, client_id)}
    assert listed[early["message_id"]]["recipient"] == "tea.laine"
    pending = [m for m in reminder_messages(api, client_id) if m["state"] == "scheduled"]
    assert len(pending) == 2
    assert {m["recipient"] for m in pending} == {f"inbox:{EMPLOYMENT}"}

    # 2 Jan 2025: the due day's reminder goes to the employment authority and names it.
    clock.now = datetime(2025, 1, 2, 8, 0, tzinfo=HELSINKI)
    sent = eventually(
        lambda: (
            [m for m in reminders_sent(api, client_id) if m["message_id"] != early["message_id"]]
            if len(reminders_sent(api, client_id)) == 3
            else None
        ),
        what="the later reminders",
    )
    for message in sent:
        assert message["recipient"] == f"inbox:{EMPLOYMENT}"
        text = letter(system.outbox_dir, message["message_id"])
        assert "tyollisyys@kemijarvi.example" in text
        assert "Kemijärven työllisyyspalvelut" in text
        assert "Lapin TE-toimisto" not in text
    assert reminder(api, client_id)["responsible_organisation"] == EMPLOYMENT


def test_after_a_move_reminders_name_the_new_municipality(system: System) -> None:
    api, clock = system.api, system.clock
    clock.now = datetime(2025, 3, 3, 7, 0, tzinfo=HELSINKI)
    client_id = register(
        api, "2025-03-03", home_municipality="320", non_temporary_social_assistance=True
    )
    scheduled = eventually(lambda: reminder(api, client_id), what="the reminder")
    assert scheduled["responsible_organisation"] == "municipality:320"
    eventually(lambda: reminder_messages(api, client_id), what="reminder messages")

    move = {
        "changes": {"home_municipality": "698"},
        "cause": "moved to Rovaniemi",
        "effective_on": "2025-03-04",
        "occurred_at": "2025-03-04T10:00:00+02:00",
    }
    moved = api.post(f"/clients/{client_id}/facts", json=move, headers=ACTOR)
    assert moved.status_code == 200, moved.text
    assert moved.json()["responsible_organisation"] == "municipality:698"

    def followed() -> dict[str, Any] | None:
        found = reminder(api, client_id)
        return found if found.get("responsible_organisation") == "municipality:698" else None

    eventually(followed, what="the reminder to follow the move")
    pending = [m for m in reminder_messages(api, client_id) if m["state"] == "scheduled"]
    assert pending
    assert {m["recipient"] for m in pending} == {"inbox:municipality:698"}

    # Its due day's reminder goes to Rovaniemi and names it.
    clock.now = datetime.fromisoformat(f"{scheduled['due']}T08:00:00").replace(tzinfo=HELSINKI)
    sent = eventually(lambda: reminders_sent(api, client_id), what="the reminders")
    for message in sent:
        assert message["recipient"] == "inbox:municipality:698"
        text = letter(system.outbox_dir, message["message_id"])
        assert "Rovaniemen kaupunki" in text
        assert "Kemijärven kaupunki" not in text


# --- the same rules on the aggregates themselves ---

AT = datetime(2025, 1, 2, 9, 0, tzinfo=HELSINKI)


def by(organisation: str, minutes: int = 0) -> Provenance:
    return Provenance.system("test", organisation, AT + timedelta(minutes=minutes))


def test_a_deadline_recorded_before_a_transfer_names_the_new_organisation() -> None:
    """Handled after the transfer, a deadline its source recorded before it is reminded of to
    the organisation answering now, in the book and in the event it publishes; a reminder
    cancelled before the transfer keeps the organisation it had."""
    book = ClientReminders(client_id=uuid4(), provenance=by(TE))
    book.schedule(
        provenance=by(TE),
        reminder_key="assessment-start:a",
        deadline_kind="assessment-start",
        due=date(2025, 1, 2),
        remind_on=date(2025, 1, 2),
        responsible_organisation=TE,
        known_at=AT,
    )
    book.cancel(provenance=by(TE), reminder_key="assessment-start:a", reason="started")
    book.note_responsibility(
        provenance=by(EMPLOYMENT), organisation=EMPLOYMENT, known_at=AT + timedelta(minutes=5)
    )
    book.schedule(
        provenance=by(TE),
        reminder_key="plan-preparation:b",
        deadline_kind="plan-preparation",
        due=date(2025, 1, 20),
        remind_on=date(2025, 1, 20),
        responsible_organisation=TE,
        known_at=AT + timedelta(minutes=1),
    )
    assert book.reminders["plan-preparation:b"].responsible_organisation == EMPLOYMENT
    assert book.reminders["assessment-start:a"].responsible_organisation == TE
    scheduled = [e for e in book.collect_events() if type(e).__name__ == "ReminderScheduled"]
    assert [getattr(e, "responsible_organisation", None) for e in scheduled] == [TE, EMPLOYMENT]


def test_a_failed_attempt_keeps_whom_it_was_tried_to() -> None:
    outbox = ClientOutbox(client_id=uuid4(), provenance=by(TE))
    outbox.schedule(
        provenance=by(TE),
        message_id="m",
        kind="deadline_reminder",
        audience="staff",
        channel="email",
        recipient=f"inbox:{TE}",
        language=None,
        send_at=AT,
        cause="reminder:x",
        facts={"organisation": TE},
    )
    assert outbox.start(provenance=by(EMPLOYMENT), message_id="m", now=AT)
    outbox.record_result(
        provenance=by(EMPLOYMENT),
        message_id="m",
        delivered=False,
        permanent=True,
        reason="no inbox",
        max_attempts=3,
        retry_at=AT,
        recipient=f"inbox:{EMPLOYMENT}",
    )
    failed = outbox.messages["m"]
    assert (failed.state, failed.recipient) == (MessageState.FAILED, f"inbox:{EMPLOYMENT}")
