"""Nothing lost at intake: a person's identifier lookups and their client are stored by one
transaction, so messages about the same new person at the same moment end in one client with
every fact, a crash anywhere loses no one, and lookups left by earlier versions are repaired.

Runs on the real PostgreSQL and RabbitMQ (intake as its own OS process), and embedded."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import threading
from pathlib import Path
from uuid import UUID, uuid4

import aio_pika
import httpx
import psycopg
import pytest
from fastapi.testclient import TestClient
from psycopg import sql

from kotoutus.embedded import EmbeddedSystem
from kotoutus.registry import SERVICES
from services.assessment.application import AssessmentApplication, InitialAssessment
from services.intake.application import IntakeApplication
from services.intake.errors import OrphanLookupError
from services.intake.inbound import InboundReceipt
from shared.contracts.inbound import ResidencePermitGranted, SocialAssistanceGranted, example
from shared.eventstore import store_env
from shared.identity import IdentifierKind, lookup_digest
from shared.messaging.topology import Topology
from shared.settings import Settings
from tests.support import ACTOR, INTEGRATION, ServiceProcesses, eventually, queue_depth
from tests.test_intake import identity_code
from tests.test_intake_distributed import cli

PAIRS = 200


def person_code(n: int) -> str:
    # Born on one of 28 days of 1990, individual numbers 002…: a valid code per person.
    return identity_code(f"{n % 28 + 1:02d}0190", "-", f"{n // 28 + 2:03d}")


def pair(n: int, tag: str) -> list[bytes]:
    """Two registries learn of person ``n`` the same day: Migri's residence permit and the
    wellbeing county's non-temporary social assistance; each alone would register them."""
    code = person_code(n)
    permit = example(ResidencePermitGranted, f"migri-{tag}-{n}")
    permit["data"]["person"] = {"identity_code": code, "given_names": "Amina", "family_name": "P"}
    assistance = example(SocialAssistanceGranted, f"wellbeing-{tag}-{n}")
    assistance["data"]["person"] = {"identity_code": code}
    bodies = [json.dumps(permit).encode(), json.dumps(assistance).encode()]
    return bodies if n % 2 else bodies[::-1]  # both orders


def publish(settings: Settings, bodies: list[bytes]) -> None:
    """Publishes with publisher confirms, as a sender would: each is stored by the broker."""

    async def send() -> None:
        connection = await aio_pika.connect(settings.amqp_url or "")
        async with connection:
            channel = await connection.channel(publisher_confirms=True)
            exchange = await channel.get_exchange(f"{settings.amqp_prefix}.inbound")
            await asyncio.gather(
                *(
                    exchange.publish(
                        aio_pika.Message(
                            body,
                            message_id=json.loads(body)["id"],
                            content_type="application/json",
                            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                        ),
                        routing_key="registry",
                    )
                    for body in bodies
                )
            )

    asyncio.run(send())


def intake_store(settings: Settings) -> IntakeApplication:
    app = SERVICES["intake"].application(settings, store_env(settings, "intake"))
    assert isinstance(app, IntakeApplication)
    return app


def topics(app: IntakeApplication) -> list[str]:
    found: list[str] = []
    position = 0
    while notifications := app.recorder.select_notifications(position + 1, 1000):
        position = notifications[-1].id
        found += [n.topic for n in notifications]
    return found


def assert_one_client_each_with_both_facts(app: IntakeApplication, persons: range) -> list[UUID]:
    """Every person is one client, with the permit and the assistance, and every message
    has its one receipt."""
    clients = []
    for n in persons:
        owner = app.find(IdentifierKind.IDENTITY_CODE, person_code(n))
        assert owner is not None, f"person {n} has no client"
        client = app.client(owner)
        assert client.facts.residence_permit is not None, n
        assert client.facts.non_temporary_social_assistance, n
        clients.append(owner)
    stored = topics(app)
    assert sum(t.endswith("Client.Registered") for t in stored) == len(persons)
    assert sum(t.endswith("InboundReceipt.Received") for t in stored) == 2 * len(persons)
    return clients


def all_received(settings: Settings, count: int, within: float = 120) -> None:
    """Waits until intake has stored ``count`` receipts (each message is applied once)."""
    app = intake_store(settings)
    try:

        def received() -> bool:
            return sum(t.endswith("InboundReceipt.Received") for t in topics(app)) >= count

        eventually(received, within, f"{count} messages received")
    finally:
        app.close()


def dead_letters(settings: Settings, consumer: str) -> int:
    return queue_depth(settings, Topology.of(settings).dead_letter_queue(consumer).name)


# --- embedded: the same store, concurrent threads ---


def test_concurrent_messages_about_one_new_person_make_one_client_embedded(
    embedded_settings: Settings,
) -> None:
    app = intake_store(embedded_settings)
    try:
        for n in range(40):
            outcomes: list[str] = []

            def receive(body: bytes, into: list[str] = outcomes) -> None:
                into.append(app.receive(body))

            threads = [threading.Thread(target=receive, args=(b,)) for b in pair(n, "embedded")]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            assert sorted(outcomes) == ["registered", "updated"], outcomes
        assert_one_client_each_with_both_facts(app, range(40))
    finally:
        app.close()


# --- distributed: intake as its own process on PostgreSQL and RabbitMQ ---


@pytest.mark.distributed
def test_pairs_about_the_same_new_person_at_the_same_moment_lose_nothing(
    processes: ServiceProcesses, distributed_settings: Settings
) -> None:
    processes.start("intake")
    processes.start("assessment")
    publish(distributed_settings, [body for n in range(PAIRS) for body in pair(n, "calm")])
    all_received(distributed_settings, 2 * PAIRS)
    assert dead_letters(distributed_settings, "intake.inbound") == 0, processes.log("intake")
    app = intake_store(distributed_settings)
    try:
        clients = assert_one_client_each_with_both_facts(app, range(PAIRS))
    finally:
        app.close()

    assessment = SERVICES["assessment"].application(
        distributed_settings, store_env(distributed_settings, "assessment")
    )
    assert isinstance(assessment, AssessmentApplication)
    try:

        def assessed() -> bool:
            return all(
                assessment.stored(InitialAssessment.create_id(c), InitialAssessment) is not None
                for c in clients
            )

        eventually(assessed, 120, "an assessment for every client")
        # Opened once each (the overdue marker may come and go with the clock: not counted).
        opened = {
            c: [
                type(e).__name__ for e in assessment.events.get(InitialAssessment.create_id(c))
            ].count("Due")
            for c in clients
        }
        assert set(opened.values()) == {1}, opened
    finally:
        assessment.close()
    assert dead_letters(distributed_settings, "assessment") == 0


@pytest.mark.distributed
def test_a_crash_between_the_key_and_the_client_loses_no_one(
    processes: ServiceProcesses, distributed_settings: Settings
) -> None:
    """The client's key is made just before its events are stored (its own transaction):
    intake is killed there, and the messages it held are redelivered and applied."""
    processes.start("intake", failpoint="intake.key_made")
    publish(distributed_settings, pair(0, "crash"))
    assert processes.wait_exit("intake") == 97  # killed at the failpoint
    processes.processes.pop("intake")
    processes.start("intake")
    all_received(distributed_settings, 2)
    assert dead_letters(distributed_settings, "intake.inbound") == 0
    app = intake_store(distributed_settings)
    try:
        assert_one_client_each_with_both_facts(app, range(1))
    finally:
        app.close()


@pytest.mark.distributed
def test_staff_registration_killed_before_its_client_is_stored_can_be_asked_again(
    processes: ServiceProcesses, distributed_settings: Settings
) -> None:
    processes.start("intake", failpoint="intake.key_made")
    url = processes.url("intake")
    client_id = str(uuid4())
    body = {
        "client_id": client_id,
        "relationship_started_on": "2026-11-02",
        "personal": {"given_names": "Olena", "family_name": "K", "identity_code": person_code(1)},
    }
    with pytest.raises(httpx.TransportError):
        httpx.post(f"{url}/clients", json=body, headers=ACTOR, timeout=30)
    assert processes.wait_exit("intake") == 97
    processes.processes.pop("intake")
    processes.start("intake")
    # The identity code names no one: the caller's retry registers the person.
    again = httpx.post(f"{url}/clients", json=body, headers=ACTOR, timeout=30)
    assert again.status_code == 201, again.text
    assert again.json()["client_id"] == client_id
    twice = httpx.post(f"{url}/clients", json=body, headers=ACTOR, timeout=30)
    assert twice.json()["code"] == "client_already_registered"
    # Another registration with the same code, and a message about the person, find them.
    other = {**body, "client_id": str(uuid4())}
    clash = httpx.post(f"{url}/clients", json=other, headers=ACTOR, timeout=30)
    assert clash.json()["code"] == "identifier_in_use", clash.text
    publish(distributed_settings, pair(1, "after")[:1])
    all_received(distributed_settings, 1)
    app = intake_store(distributed_settings)
    try:
        assert app.find(IdentifierKind.IDENTITY_CODE, person_code(1)) == UUID(client_id)
        assert sum(t.endswith("Client.Registered") for t in topics(app)) == 1
    finally:
        app.close()


@pytest.mark.distributed
def test_staff_and_a_registry_registering_one_person_at_once_make_one_client(
    processes: ServiceProcesses, distributed_settings: Settings
) -> None:
    processes.start("intake")
    url = processes.url("intake")
    answers: dict[int, int] = {}

    def staff(n: int) -> None:
        body = {
            "client_id": str(uuid4()),
            "relationship_started_on": "2026-11-02",
            "personal": {"given_names": "A", "family_name": "B", "identity_code": person_code(n)},
            "facts": {"non_temporary_social_assistance": True},
        }
        answers[n] = httpx.post(f"{url}/clients", json=body, headers=ACTOR, timeout=60).status_code

    persons = range(30)
    permits = [pair(n, "race")[n % 2 == 0] for n in persons]  # Migri's message of each pair
    callers = [threading.Thread(target=staff, args=(n,)) for n in persons]
    sender = threading.Thread(target=publish, args=(distributed_settings, permits))
    sender.start()
    for caller in callers:
        caller.start()
    for thread in [sender, *callers]:
        thread.join()
    assert set(answers.values()) <= {201, 409}, (answers, processes.log("intake"))
    all_received(distributed_settings, len(persons))
    assert dead_letters(distributed_settings, "intake.inbound") == 0
    app = intake_store(distributed_settings)
    try:
        registered = sum(t.endswith("Client.Registered") for t in topics(app))
        assert registered == len(persons)
        for n in persons:
            owner = app.find(IdentifierKind.IDENTITY_CODE, person_code(n))
            assert owner is not None
            assert app.client(owner).facts.residence_permit is not None
    finally:
        app.close()


def _postgres_cluster() -> tuple[str, ...]:
    version = sorted(p.name for p in Path("/etc/postgresql").iterdir())[0]
    return ("pg_ctlcluster", "--skip-systemctl-redirect", version, "main")


@pytest.mark.distributed
@pytest.mark.skipif(not shutil.which("pg_ctlcluster"), reason="needs the local cluster")
def test_a_postgresql_crash_under_load_loses_no_one(
    distributed_settings: Settings, tmp_path: Path
) -> None:
    # The deployment's delivery limit: what is tested is that it rides out the crash.
    settings = distributed_settings.model_copy(update={"delivery_limit": 12})
    processes = ServiceProcesses(settings, tmp_path)
    try:
        processes.start("intake")
        persons = range(120)
        bodies = [body for n in persons for body in pair(n, "pg")]
        sender = threading.Thread(target=publish, args=(settings, bodies))
        sender.start()
        app = intake_store(settings)
        try:  # the crash comes while intake is storing: some messages are in, not all
            eventually(
                lambda: any(t.endswith("InboundReceipt.Received") for t in topics(app)),
                60,
                "intake to be at work",
            )
        finally:
            app.close()
        subprocess.run([*_postgres_cluster(), "stop", "-m", "immediate"], check=True, timeout=60)
        subprocess.run([*_postgres_cluster(), "start"], check=True, timeout=120)
        subprocess.run(["pg_isready", "-h", "127.0.0.1", "-t", "60"], check=True, timeout=90)
        sender.join()
        all_received(settings, len(bodies), 300)
        assert dead_letters(settings, "intake.inbound") == 0, processes.log("intake")
        app = intake_store(settings)
        try:
            assert_one_client_each_with_both_facts(app, persons)
        finally:
            app.close()
    finally:
        processes.stop_all()


# --- lookups left by earlier versions ---


def _orphan_as_earlier_versions_left_it(settings: Settings, code: str) -> UUID:
    """A claim in the key store's own table, naming a client that was never stored."""
    app = intake_store(settings)
    digest = lookup_digest(app.keys.lookup_secret, IdentifierKind.IDENTITY_CODE, code)
    app.close()
    orphan = uuid4()
    statement = (
        "CREATE TABLE IF NOT EXISTS identifier_lookup (digest TEXT PRIMARY KEY,"
        " client_id TEXT NOT NULL)"
    )
    if settings.database_url:
        with psycopg.connect(settings.database_url, autocommit=True) as conn:
            schema = sql.Identifier(settings.schema_for("intake_keys"))
            conn.execute(sql.SQL("SET search_path TO {}").format(schema))
            conn.execute(statement)
            conn.execute("INSERT INTO identifier_lookup VALUES (%s, %s)", (digest, str(orphan)))
    else:
        import sqlite3

        with sqlite3.connect(settings.data_dir / "intake-keys.sqlite") as conn:
            conn.execute(statement)
            conn.execute("INSERT INTO identifier_lookup VALUES (?, ?)", (digest, str(orphan)))
    return orphan


def test_an_orphan_lookup_is_retried_not_blamed_on_the_sender_and_doctor_repairs_it(
    embedded_settings: Settings,
) -> None:
    code = person_code(3)
    orphan = _orphan_as_earlier_versions_left_it(embedded_settings, code)
    app = intake_store(embedded_settings)  # takes the old lookups over
    try:
        message = pair(3, "orphan")[0]
        with pytest.raises(OrphanLookupError):
            app.receive(message)
        assert [lookup.client_id for lookup in app.repair_orphan_lookups(apply=False)] == [orphan]
        assert [lookup.client_id for lookup in app.repair_orphan_lookups(apply=True)] == [orphan]
        assert app.repair_orphan_lookups(apply=False) == []
        assert app.receive(message) == "registered"
        assert app.find(IdentifierKind.IDENTITY_CODE, code) not in (None, orphan)
    finally:
        app.close()


def test_an_orphan_lookup_over_http_is_a_503_the_sender_may_retry(
    embedded_settings: Settings,
) -> None:
    _orphan_as_earlier_versions_left_it(embedded_settings, person_code(5))
    system = EmbeddedSystem(embedded_settings)
    try:
        with TestClient(system.api()) as api:
            body = json.loads(pair(5, "http")[0])
            answer = api.post("/inbound", json=body, headers=INTEGRATION)
            assert answer.status_code == 503, answer.text
            assert answer.json()["code"] == "inconsistent_state"
            assert set(answer.json()["messages"]) == {"fi", "sv", "en"}
            assert answer.headers["Retry-After"]
            assert sum(api.get("/health").json()["inconsistencies"].values()) >= 1
    finally:
        system.close()


@pytest.mark.distributed
def test_doctor_repairs_an_orphan_lookup_and_its_dead_letter_then_resubmits(
    processes: ServiceProcesses, distributed_settings: Settings
) -> None:
    code = person_code(4)
    orphan = _orphan_as_earlier_versions_left_it(distributed_settings, code)
    processes.start("intake")
    body = pair(4, "orphan")[0]
    publish(distributed_settings, [body])
    # Retried (our inconsistency, not the sender's fault) until the delivery limit parks it.
    eventually(lambda: dead_letters(distributed_settings, "intake.inbound") == 1, 60, "parked")
    health = httpx.get(f"{processes.url('intake')}/health", timeout=10).json()
    assert sum(health["inconsistencies"].values()) >= 1
    assert "INCONSISTENCY" in processes.log("intake")

    found = cli(distributed_settings, "doctor")
    assert found.returncode == 1, found.stderr
    assert str(orphan) in found.stdout
    repaired = cli(distributed_settings, "doctor", "--repair")
    assert repaired.returncode == 0, repaired.stderr
    assert cli(distributed_settings, "doctor").returncode == 0

    message_id = json.loads(body)["id"]
    resubmitted = cli(distributed_settings, "dead-letters", "resubmit", "intake.inbound")
    assert resubmitted.stdout.split() == [message_id], resubmitted.stderr
    app = intake_store(distributed_settings)
    try:
        receipt = InboundReceipt.create_id(json.loads(body)["source"], message_id)
        eventually(lambda: receipt in app.repository, 60, "the resubmitted message applied")
        assert app.find(IdentifierKind.IDENTITY_CODE, code) not in (None, orphan)
    finally:
        app.close()


# --- the prefetch, as the broker sees it ---


def _consumer_prefetch(prefix: str) -> dict[str, list[int]]:
    listed = subprocess.run(
        ["rabbitmqctl", "list_consumers", "-q", "--formatter", "json"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    found: dict[str, list[int]] = {}
    for consumer in json.loads(listed or "[]"):
        name = consumer["queue_name"]
        if name.startswith(prefix + "."):
            found.setdefault(name[len(prefix) + 1 :], []).append(int(consumer["prefetch_count"]))
    return found


@pytest.mark.distributed
@pytest.mark.skipif(not shutil.which("rabbitmqctl"), reason="needs rabbitmqctl")
def test_every_consumer_channel_has_the_prefetch(
    processes: ServiceProcesses, distributed_settings: Settings
) -> None:
    for name in ("intake", "assessment", "plans", "notifications", "readside"):
        processes.start(name)
    expected = {"intake.inbound", "assessment", "plans", "notifications", "readside"}
    prefetch = distributed_settings.consumer_prefetch

    def consumers() -> dict[str, list[int]] | None:
        found = _consumer_prefetch(distributed_settings.amqp_prefix)
        return found if set(found) >= expected else None

    found = eventually(consumers, 60, "every consumer subscribed")
    assert found == {name: [prefetch] for name in expected}, found
