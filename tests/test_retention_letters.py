"""A letter's details (its address, its contents) run out on their own: two years (class
``letters``) from the day the letter went, each letter on its own day, a legal hold adding the
days it lasted. Notifications' own timer destroys that letter's key and records it; the
client's other letters stay readable and a new letter can still be written."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest

from services.notifications.delivery.templates import Appointment, AppointmentPurpose
from services.notifications.keys import RETENTION_CLASS, TABLE, ClientErasedError, KeyErasedError
from services.notifications.letters import Message
from services.notifications.outbox import ClientOutbox
from services.notifications.retention import letters_retention_watch
from shared.clock import HELSINKI
from shared.contracts import events as contracts
from shared.values import Provenance
from tests.test_notification_outbox import (  # noqa: F401 (fixtures)
    Outbox,
    outbox,
    smtp,
)

ADDRESS = "amina@example.org"


def at(day: str, hour: int = 12) -> datetime:
    return datetime.fromisoformat(f"{day}T{hour:02}:00").replace(tzinfo=HELSINKI)


def appointment(box: Outbox, client_id: UUID, on: str) -> Message:
    """An appointment letter to the client, scheduled at the clock's moment."""
    letter = Appointment(
        client_name="Amina Hassan",
        purpose=AppointmentPurpose.INITIAL_ASSESSMENT,
        starts_at=at(on, 10),
        place="Vapaudenkatu 8",
        organisation="Kemijärven kaupunki",
        contact_name="Anna Virtanen",
    )
    return box.app.schedule_appointment(
        client_id,
        Provenance.system("test", "municipality:320", box.clock.now),
        appointment=letter,
        languages=["fi"],
        email=ADDRESS,
        phone=None,
        not_before=None,
    )


def key_row(box: Outbox, client_id: UUID, key: str) -> tuple[Any, ...] | None:
    """A key's row in notifications' store, read raw: None when there is none."""
    with sqlite3.connect(box.settings.data_dir / "notifications.sqlite") as connection:
        found: tuple[Any, ...] | None = connection.execute(
            f"SELECT wrapped FROM {TABLE}_by_class WHERE client_id = ? AND retention_class = ?",
            (str(client_id), key),
        ).fetchone()
    return found


def hold(box: Outbox, client_id: UUID, placed: str, lifted: str) -> None:
    box.clock.now = at(placed)
    box.publish(
        contracts.LegalHoldPlaced,
        contracts.LegalHoldPlacedData(client_id=client_id, hold_id="audit", reason="an audit"),
        source="intake",
        aggregate=client_id,
        version=10,
    )
    box.clock.now = at(lifted)
    box.publish(
        contracts.LegalHoldLifted,
        contracts.LegalHoldLiftedData(client_id=client_id, hold_id="audit", reason="done"),
        source="intake",
        aggregate=client_id,
        version=11,
    )


async def test_each_letter_goes_two_years_after_it_went_a_hold_adding_its_days(
    outbox: Outbox,  # noqa: F811
) -> None:
    client_id = uuid4()
    outbox.clock.now = at("2025-03-10", 22)
    first = appointment(outbox, client_id, "2025-03-17")
    assert await outbox.tick(at("2025-03-11", 9)) == 1  # sent on 11 March 2025
    outbox.clock.now = at("2025-08-29")
    second = appointment(outbox, client_id, "2025-09-05")
    assert await outbox.tick(at("2025-09-01", 9)) == 1  # sent on 1 September 2025
    assert first.sealed_key and second.sealed_key and first.sealed_key != second.sealed_key
    hold(outbox, client_id, "2026-01-01", "2026-01-31")  # 30 days

    now = [at("2027-04-10")]
    watch = letters_retention_watch(outbox.app, clock=lambda: now[0])
    report = {item.record: item for item in watch.report()}
    # Two years from the day after it went (2027-03-12), and the hold's 30 days.
    assert report[first.message_id].goes_on.isoformat() == "2027-04-11"  # type: ignore[union-attr]
    assert report[second.message_id].goes_on.isoformat() == "2027-10-02"  # type: ignore[union-attr]
    assert {item.retention_class for item in report.values()} == {RETENTION_CLASS}
    assert watch.fire() == []
    assert key_row(outbox, client_id, first.sealed_key)[0] is not None  # type: ignore[index]

    now[0] = at("2027-04-11")
    assert [(d.client_id, d.record) for d in watch.fire()] == [(client_id, first.message_id)]
    assert key_row(outbox, client_id, first.sealed_key) == (None,)  # a tombstone
    assert first.sealed is not None and second.sealed is not None
    with pytest.raises(KeyErasedError):
        outbox.app.keys.open(client_id, first.sealed, first.sealed_key)
    # The other letter stays readable, and a new letter can be written: the client is not
    # erased, only one letter's details went.
    assert outbox.app.keys.open(client_id, second.sealed, second.sealed_key)["address"] == ADDRESS
    outbox.clock.now = now[0]
    third = appointment(outbox, client_id, "2027-04-20")
    assert outbox.app.keys.open(client_id, third.sealed or "", third.sealed_key)["address"]

    # What went is recorded once, with the rule; a timer rebuilt from the log has nothing to do.
    letters = outbox.app.letters_of(client_id)
    assert letters.expired_keys == {first.sealed_key}
    assert watch.fire() == []
    assert letters_retention_watch(outbox.app, clock=lambda: now[0]).fire() == []
    expired = [
        outbox.app.mapper.to_domain_event(n)
        for n in outbox.app.recorder.select_notifications(1, 10_000)
        if n.topic.endswith("ClientOutbox.DetailsExpired")
    ]
    assert [(e.key, e.expired_on.isoformat()) for e in expired] == [
        (first.sealed_key, "2027-04-11")
    ]
    assert "letters" in expired[0].rule

    now[0] = at("2027-10-02")
    assert [d.record for d in watch.fire()] == [second.message_id]
    assert key_row(outbox, client_id, second.sealed_key) == (None,)


async def test_letters_sealed_before_letters_had_keys_go_together_from_the_last(
    outbox: Outbox,  # noqa: F811
) -> None:
    """A store written before: its letters were sealed under the client's letters key. They go
    when the period has run from the last of them; the key is destroyed without a tombstone,
    so the client's next letter is still written (under its own key)."""
    client_id = uuid4()
    outbox.clock.now = at("2025-03-10")
    provenance = Provenance.system("test", "municipality:320", outbox.clock.now)
    old = outbox.app.keys.seal(client_id, {"address": ADDRESS})  # the client's letters key
    letters = ClientOutbox(client_id=client_id, provenance=provenance)
    for message_id, sent in (("m1", "2025-03-10"), ("m2", "2025-06-01")):
        letters.schedule(
            provenance=provenance,
            message_id=message_id,
            kind="appointment_letter",
            audience="client",
            channel="email",
            recipient="client",
            language="fi",
            send_at=at(sent),
            cause=message_id,
            facts={},
            sealed=old,
        )
        letters.start(provenance=provenance, message_id=message_id, now=at(sent))
        letters.record_result(
            provenance=Provenance.system("test", "municipality:320", at(sent)),
            message_id=message_id,
            delivered=True,
            permanent=False,
            reason="250 OK",
            max_attempts=3,
            retry_at=at(sent),
        )
    outbox.app.save(letters)

    now = [at("2027-06-01")]
    watch = letters_retention_watch(outbox.app, clock=lambda: now[0])
    assert watch.fire() == []  # kept through 1 June 2027: two years from the last
    assert key_row(outbox, client_id, RETENTION_CLASS) is not None
    now[0] = at("2027-06-02")
    assert [(d.client_id, d.record) for d in watch.fire()] == [(client_id, None)]
    assert key_row(outbox, client_id, RETENTION_CLASS) is None  # gone, no tombstone
    with pytest.raises(KeyErasedError):
        outbox.app.keys.open(client_id, old)
    outbox.clock.now = now[0] + timedelta(days=1)
    later = appointment(outbox, client_id, "2027-06-10")
    assert outbox.app.keys.open(client_id, later.sealed or "", later.sealed_key)["address"]


async def test_a_crash_between_the_record_and_the_destruction_is_mended_by_the_next_round(
    outbox: Outbox,  # noqa: F811
) -> None:
    client_id = uuid4()
    outbox.clock.now = at("2025-03-10", 22)
    letter = appointment(outbox, client_id, "2025-03-17")
    assert await outbox.tick(at("2025-03-11", 9)) == 1
    assert letter.sealed_key is not None
    # The expiry is recorded, and the process dies before it destroys the key.
    letters = outbox.app.letters_of(client_id)
    assert letters.expire_details(
        provenance=Provenance.system("notifications", "municipality:320", at("2027-03-12")),
        key=letter.sealed_key,
        retention_class=RETENTION_CLASS,
        rule="letters: 2 years",
        on=at("2027-03-12").date(),
    )
    outbox.app.save(letters)
    assert key_row(outbox, client_id, letter.sealed_key)[0] is not None  # type: ignore[index]

    restarted = letters_retention_watch(outbox.app, clock=lambda: at("2027-03-13"))
    assert restarted.fire() == []  # nothing new went: the record stands already
    assert key_row(outbox, client_id, letter.sealed_key) == (None,)  # but the key is gone now


async def test_an_erased_client_s_old_letters_key_stays_a_tombstone_after_its_period(
    outbox: Outbox,  # noqa: F811
) -> None:
    """Erased with no letter pending: the erasure is on record, the clocks stop for good, and
    no later round turns the erasure's tombstone into a missing key (which would let a new
    letter be sealed for the person)."""
    client_id = uuid4()
    outbox.clock.now = at("2025-03-10")
    provenance = Provenance.system("test", "municipality:320", outbox.clock.now)
    old = outbox.app.keys.seal(client_id, {"address": ADDRESS})  # the client's letters key
    letters = ClientOutbox(client_id=client_id, provenance=provenance)
    letters.schedule(
        provenance=provenance,
        message_id="m1",
        kind="appointment_letter",
        audience="client",
        channel="email",
        recipient="client",
        language="fi",
        send_at=at("2025-03-10"),
        cause="m1",
        facts={},
        sealed=old,
    )
    letters.start(provenance=provenance, message_id="m1", now=at("2025-03-10"))
    letters.record_result(
        provenance=provenance,
        message_id="m1",
        delivered=True,
        permanent=False,
        reason="250 OK",
        max_attempts=3,
        retry_at=at("2025-03-10"),
    )
    outbox.app.save(letters)
    outbox.publish(
        contracts.ClientErased,
        contracts.ClientErasedData.model_validate({"client_id": client_id, "legal_ground": "x"}),
        source="intake",
        aggregate=client_id,
    )
    assert outbox.app.letters_of(client_id).erased

    watch = letters_retention_watch(outbox.app, clock=lambda: at("2030-01-01"))
    assert watch.report() == [] and watch.fire() == []
    assert key_row(outbox, client_id, RETENTION_CLASS) == (None,)
    with pytest.raises(ClientErasedError):
        appointment(outbox, client_id, "2030-01-10")


async def test_a_letter_sent_again_keeps_its_details_while_it_waits(
    outbox: Outbox,  # noqa: F811
) -> None:
    client_id = uuid4()
    outbox.clock.now = at("2025-03-10", 22)
    letter = appointment(outbox, client_id, "2025-03-17")
    letters = outbox.app.letters_of(client_id)
    provenance = Provenance.system("test", "municipality:320", at("2025-03-11", 9))
    letters.start(provenance=provenance, message_id=letter.message_id, now=at("2025-03-11", 9))
    letters.record_result(
        provenance=provenance,
        message_id=letter.message_id,
        delivered=False,
        permanent=True,
        reason="550 no such mailbox",
        max_attempts=3,
        retry_at=at("2025-03-11", 9),
    )
    outbox.app.save(letters)  # failed on 11 March 2025: its clock starts
    watch = letters_retention_watch(outbox.app, clock=lambda: at("2027-03-01"))
    assert [item.record for item in watch.report()] == [letter.message_id]

    letters = outbox.app.letters_of(client_id)
    later = at("2027-06-01", 9)
    assert letters.resend(provenance=provenance, message_id=letter.message_id, send_at=later)
    outbox.app.save(letters)
    # Waiting to go again: no clock runs, nothing goes, whatever the day.
    waiting = letters_retention_watch(outbox.app, clock=lambda: at("2027-04-01"))
    assert waiting.report() == [] and waiting.fire() == []
    assert outbox.app.keys.open(client_id, letter.sealed or "", letter.sealed_key)["address"]
