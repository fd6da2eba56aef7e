"""Deletion that happens by itself, in business time: a client closed in 2014 under the
10-year identity class goes on the right day and not before; a legal hold stops the clock and
lifting it lets the clock run on; the raw stores show what went."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

import psycopg
import pytest
from psycopg import sql
from sqlalchemy import select

from kotoutus.bootstrap import build_application
from kotoutus.embedded import EmbeddedSystem
from kotoutus.registry import SERVICES
from services.intake.api import RegisterClient
from services.intake.application import IntakeApplication
from services.intake.retention import IDENTITY, retention_watch
from services.readside.tables import client_names, name_keys
from shared.auth.access_log import PURGER, AccessLog, AccessRequest
from shared.clock import HELSINKI
from shared.identity import IdentifierKind
from shared.retention.clock_store import ClockChanges
from shared.retention.watch import RetentionWatch
from shared.settings import Settings
from shared.values import Actor, ActorKind, Provenance
from tests.support import eventually, reads_from

STAFF = Actor(id="sanna.lahtinen", kind=ActorKind.USER)


def at(day: str) -> datetime:
    return datetime.fromisoformat(f"{day}T12:00").replace(tzinfo=HELSINKI)


def staff(day: str) -> Provenance:
    return Provenance(actor=STAFF, organisation="municipality:320", occurred_at=at(day))


def register(app: IntakeApplication, code: str, given: str) -> UUID:
    """Registered in 2012 (the app's own command: the HTTP app's lifespan would start the
    background watch, which goes by the wall clock)."""
    body = {
        "relationship_started_on": "2012-02-03",
        "personal": {"given_names": given, "family_name": "Kovalenko", "identity_code": code},
        "facts": {
            "mother_tongue": "uk",
            "residence_permit": {
                "type": "A",
                "ground_section": "49",
                "first_permit_on": "2011-11-20",
            },
        },
    }
    request = RegisterClient.model_validate(body)
    client = app.register_client(
        client_id=request.client_id,
        provenance=staff("2012-02-03"),
        personal=request.personal.details(),
        facts=request.facts,
        relationship_started_on=request.relationship_started_on,
    )
    return client.client_id


def public_events(embedded: EmbeddedSystem, client_id: UUID) -> list[Any]:
    node = embedded.nodes["intake"]
    found = []
    for notification in node.app.recorder.select_notifications(1, 10_000):
        event = node.service.publishes.to_public(
            notification.id, node.app.mapper.to_domain_event(notification)
        )
        if event is not None and event.aggregate_id == client_id:
            found.append(event)
    return found


def key_row(embedded: EmbeddedSystem, client_id: UUID) -> tuple[Any, ...] | None:
    """The client's row in intake's key store, read raw."""
    path = embedded.settings.data_dir / "intake-keys.sqlite"
    with sqlite3.connect(path) as connection:
        row = connection.execute(
            "SELECT wrapped, erased_at FROM client_keys WHERE client_id = ?", (str(client_id),)
        ).fetchone()
    return None if row is None else tuple(row)


def personal_everywhere(app: IntakeApplication, client_id: UUID) -> list[Any]:
    return [getattr(e, "personal", None) for e in app.events.get(client_id)]


def test_a_client_closed_in_2014_goes_on_the_right_day_and_a_hold_stops_the_clock(
    embedded: EmbeddedSystem,
) -> None:
    app: IntakeApplication = embedded.nodes["intake"].app
    olena = register(app, "131052-308T", "Olena")
    ivan = register(app, "010180-1232", "Ivan")
    for client_id in (olena, ivan):
        app.close_client(client_id, provenance=staff("2014-03-10"), reason="moved away")
    # A dispute about Ivan's case stops his clock on 1 January 2024.
    app.place_hold(ivan, provenance=staff("2024-01-01"), hold_id="dispute-1", reason="dispute")

    now = [at("2024-03-10")]
    watch = retention_watch(app, clock=lambda: now[0])

    # The period's last day (10 years from the closure, 150/1930 §3): everything stays.
    assert watch.fire() == []
    assert key_row(embedded, olena)[0] is not None  # type: ignore[index]
    assert personal_everywhere(app, olena)[0] is not None  # the registration's, readable
    assert app.client(olena).personal is not None
    report = {(d.client_id, d.retention_class): d for d in watch.report()}
    assert report[(olena, IDENTITY)].goes_on == at("2024-03-11").date()
    assert report[(ivan, IDENTITY)].goes_on is None
    assert report[(ivan, IDENTITY)].held_by == ("dispute",)

    # The next day Olena's identity goes; Ivan's is held.
    now[0] = at("2024-03-11")
    went = watch.fire()
    assert [(d.client_id, d.retention_class) for d in went] == [(olena, IDENTITY)]
    wrapped, erased_at = key_row(embedded, olena)  # type: ignore[misc]
    assert wrapped is None and erased_at is not None  # the key is destroyed: a tombstone
    assert personal_everywhere(app, olena)
    assert all(p is None for p in personal_everywhere(app, olena))
    assert app.client(olena).personal is None
    assert app.find(IdentifierKind.IDENTITY_CODE, "131052-308T") is None  # the lookup went
    assert app.find(IdentifierKind.IDENTITY_CODE, "010180-1232") == ivan
    expired = [e for e in public_events(embedded, olena) if e.event_type == "RecordsExpired"]
    assert len(expired) == 1
    data = expired[0].data
    assert (data.retention_class, str(data.expired_on), data.forgets_personal) == (
        IDENTITY,
        "2024-03-11",
        True,
    )
    assert "10 years from client_closed" in data.rule and "municipal decision" in data.rule
    assert expired[0].actor.kind is ActorKind.SYSTEM
    assert key_row(embedded, ivan)[0] is not None  # type: ignore[index]
    assert app.client(ivan).personal is not None
    # The read side forgets her as on ClientErased: no name, no key; his stays.
    embedded.deliver_all()
    with embedded.projector.engine.connect() as connection:
        names = {row.client_id: row for row in connection.execute(select(client_names)).all()}
        keys = set(connection.execute(select(name_keys.c.client_id)).scalars())
    assert names[str(olena)].erased and names[str(olena)].given_names is None
    assert str(olena) not in keys
    assert not names[str(ivan)].erased and str(ivan) in keys

    # Lifted on 1 April: the clock ran 10 years less the 91 days it stood still.
    app.lift_hold(ivan, provenance=staff("2024-04-01"), hold_id="dispute-1", reason="settled")
    now[0] = at("2024-06-09")
    assert watch.fire() == []
    assert app.client(ivan).personal is not None
    now[0] = at("2024-06-10")
    assert [d.client_id for d in watch.fire()] == [ivan]
    assert key_row(embedded, ivan)[0] is None and app.client(ivan).personal is None

    # Rebuilt from the log (a restart, years later): nothing is due, nothing goes twice.
    now[0] = at("2030-01-01")
    again = retention_watch(app, clock=lambda: now[0])
    assert again.fire() == [] and again.report() == []
    assert [e.event_type for e in public_events(embedded, olena)].count("RecordsExpired") == 1


def test_nothing_goes_while_a_hold_is_in_force_whatever_the_clock_says(
    embedded: EmbeddedSystem,
) -> None:
    app: IntakeApplication = embedded.nodes["intake"].app
    client_id = register(app, "010180-1232", "Ivan")
    app.close_client(client_id, provenance=staff("2014-03-10"), reason="moved away")
    # Placed after the period ran out, before the job ran.
    app.place_hold(client_id, provenance=staff("2025-01-02"), hold_id="audit", reason="audit")
    now = [at("2025-01-03")]
    watch = retention_watch(app, clock=lambda: now[0])
    assert watch.fire() == [] and app.client(client_id).personal is not None
    # The aggregate refuses too, whatever a caller thinks is due.
    assert not app.expire_records(
        client_id,
        provenance=staff("2025-01-03"),
        retention_class=IDENTITY,
        rule="test",
        expired_on=now[0].date(),
        forgets_personal=True,
    )
    app.lift_hold(client_id, provenance=staff("2025-02-01"), hold_id="audit", reason="done")
    now[0] = at("2025-02-01")
    assert [d.client_id for d in watch.fire()] == [client_id]


@pytest.mark.distributed
def test_the_identity_goes_on_its_day_on_postgres(distributed_settings: Settings) -> None:
    """The same clock on intake's PostgreSQL store: the key row is a tombstone in the raw
    table once the class ran out, and the access log's purge ran in the same round."""
    app = build_application(distributed_settings, SERVICES["intake"])
    assert isinstance(app, IntakeApplication)
    log = AccessLog.for_settings(distributed_settings)
    try:
        client_id = register(app, "131052-308T", "Olena")
        app.close_client(client_id, provenance=staff("2014-03-10"), reason="moved away")
        old_read = AccessRequest(
            at=at("2018-05-02"),
            actor="anna.virtanen",
            role="caseworker",
            organisation="municipality:320",
            what="GET /clients/{client_id}",
            purpose=None,
            source=None,
            outcome=200,
        )
        log.record(old_read, [str(client_id)])
        now = [at("2024-03-10")]
        watch = retention_watch(app, clock=lambda: now[0], access_log=log)
        assert watch.fire() == []
        assert pg_key(distributed_settings, client_id) is not None
        now[0] = at("2024-03-11")
        assert [d.client_id for d in watch.fire()] == [client_id]
        assert pg_key(distributed_settings, client_id) is None
        assert app.client(client_id).personal is None
        # The first round purged the read of 2018 (5 years) and logged it; none since.
        assert [e.actor for e in log.query()] == [PURGER]
    finally:
        log.close()
        app.close()


def pg_key(settings: Settings, client_id: UUID) -> bytes | None:
    assert settings.database_url
    schema = settings.schema_for("intake_keys")
    with psycopg.connect(settings.database_url) as conn:
        row = conn.execute(
            sql.SQL("SELECT wrapped FROM {}.client_keys WHERE client_id = %s").format(
                sql.Identifier(schema)
            ),
            (str(client_id),),
        ).fetchone()
    assert row is not None
    return None if row[0] is None else bytes(row[0])


async def test_the_running_system_deletes_by_itself(embedded: EmbeddedSystem) -> None:
    """Intake's background task, as the service declares it, by the wall clock (long after
    2024): the identity of a client closed in 2014 goes without anyone asking."""
    app: IntakeApplication = embedded.nodes["intake"].app
    client_id = register(app, "131052-308T", "Olena")
    app.close_client(client_id, provenance=staff("2014-03-10"), reason="moved away")
    assert retention_watch in SERVICES["intake"].background
    stop = asyncio.Event()
    task = asyncio.create_task(retention_watch(app).run(stop))
    try:
        await asyncio.to_thread(
            eventually,
            lambda: app.client(client_id).personal is None,
            what="the identity gone by itself",
        )
    finally:
        stop.set()
        await task
    assert key_row(embedded, client_id)[0] is None  # type: ignore[index]


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_the_clocks_are_kept_in_the_store_and_a_restart_reads_only_what_is_new(
    backend: str, embedded_settings: Settings, distributed_settings: Settings
) -> None:
    settings = embedded_settings if backend == "sqlite" else distributed_settings
    app = build_application(settings, SERVICES["intake"])
    assert isinstance(app, IntakeApplication)
    try:
        closed, held = register(app, "131052-308T", "Olena"), register(app, "010190-123M", "Iryna")
        for client_id in (closed, held):
            app.close_client(client_id, provenance=staff("2014-03-10"), reason="moved away")
        first = retention_watch(app, clock=lambda: at("2024-03-10"), sweep_access_log=False)
        assert first.fire() == []
        app.place_hold(held, provenance=staff("2020-01-02"), hold_id="h1", reason="audit")
        read_to = app.recorder.max_notification_id() or 0
        first.follow()
        # A watch started again, as after a restart: the clocks are in the store, and it
        # reads the log from where the first got to.
        starts = reads_from(app)
        again = retention_watch(app, clock=lambda: at("2024-03-11"), sweep_access_log=False)
        assert [d.client_id for d in again.fire()] == [closed]  # the held one stays
        assert starts[0] == read_to + 1
        assert [d.held_by for d in again.report()] == [("audit",)]
    finally:
        app.close()


def test_a_destruction_that_fails_holds_back_neither_the_others_nor_the_purges(
    embedded_settings: Settings,
) -> None:
    app = build_application(embedded_settings, SERVICES["intake"])
    failing, other = uuid4(), uuid4()
    destroyed: list[UUID] = []
    purged: list[datetime] = []

    def destroy(client_id: UUID, name: str) -> None:
        if client_id == failing:
            raise OSError("the key store is away")
        destroyed.append(client_id)

    try:
        watch = RetentionWatch(
            app,
            {},
            lambda *_: None,
            lambda *_: False,
            clock=lambda: at("2030-01-01"),
            sweeps=[purged.append],
            destroy=destroy,
        )
        # Two recorded expiries whose destruction is still to be confirmed.
        position = watch.store.position()
        changes = ClockChanges(expired=[(failing, IDENTITY), (other, IDENTITY)])
        assert watch.store.advance(position, position, changes)
        watch.fire()
        assert destroyed == [other] and purged == [at("2030-01-01")]
        assert watch.store.unconfirmed() == [(failing, IDENTITY)]  # tried again next round
    finally:
        app.close()
