"""DESIGN §3, "nothing lost, nothing doubled": the broker and the database are restarted under
the running services, and every process is killed mid-stream; afterwards every stored event
has reached every consumer, each effect happened once, and nothing was dead-lettered.

The real servers are restarted (RabbitMQ's application stopped and started; the PostgreSQL
cluster stopped and started), so these tests must run alone: CI runs the suite in one
process, one test at a time."""

from __future__ import annotations

import concurrent.futures
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest

from kotoutus.registry import SERVICES
from services.assessment.application import AssessmentApplication
from services.notifications.domain import ClientReminders
from services.readside.service import READ_SIDE
from shared.eventstore import ServiceApplication, store_env
from shared.messaging.topology import Topology
from shared.settings import Settings
from tests.support import ACTOR, ServiceProcesses, eventually, queue_depth

pytestmark = [
    pytest.mark.distributed,
    pytest.mark.skipif(
        not (shutil.which("rabbitmqctl") and shutil.which("pg_ctlcluster")),
        reason="needs to restart the local RabbitMQ and PostgreSQL servers",
    ),
]

CONSUMERS = ("assessment", "plans", "notifications", READ_SIDE)


def _run(*command: str) -> None:
    subprocess.run(command, check=True, capture_output=True, timeout=120)


@contextmanager
def rabbitmq_stopped() -> Iterator[None]:
    """Every connection to the broker drops and new ones are refused until the block ends."""
    _run("rabbitmqctl", "stop_app")
    try:
        yield
    finally:
        _run("rabbitmqctl", "start_app")
        _run("rabbitmqctl", "await_startup")


@contextmanager
def postgresql_stopped() -> Iterator[None]:
    """A fast shutdown: every session is cut and connections are refused until the block ends."""
    version = sorted(p.name for p in Path("/etc/postgresql").iterdir())[0]
    cluster = ("pg_ctlcluster", "--skip-systemctl-redirect", version, "main")
    _run(*cluster, "stop", "-m", "fast")
    try:
        yield
    finally:
        _run(*cluster, "start")
        _run("pg_isready", "-h", "127.0.0.1", "-p", "5432", "-t", "60")


def registration(n: int) -> dict[str, Any]:
    return {
        "relationship_started_on": "2026-11-02",
        "personal": {"given_names": "Amina", "family_name": f"Outage-{n}"},
        "facts": {
            "home_municipality": "320",
            "mother_tongue": "so",
            "non_temporary_social_assistance": True,
            "residence_permit": {"type": "A", "first_permit_on": "2026-06-01"},
        },
    }


def store(settings: Settings, name: str) -> ServiceApplication:
    return SERVICES[name].application(settings, store_env(settings, name))


@pytest.fixture
def settings(distributed_settings: Settings) -> Settings:
    # The deployment's own delivery limit, not the fixture's 3 (meant for poison messages):
    # what is measured here is whether the default rides out a restart.
    return distributed_settings.model_copy(update={"delivery_limit": Settings().delivery_limit})


def test_restarting_rabbitmq_and_postgresql_loses_and_doubles_nothing(
    settings: Settings, tmp_path: Path
) -> None:
    processes = ServiceProcesses(settings, tmp_path)
    try:
        for name in (*SERVICES, READ_SIDE):
            processes.start(name, wait=False)
        for name in (*SERVICES, READ_SIDE):
            processes.wait_ready(name)
        intake = processes.url("intake")
        clients: list[str] = []

        def register(count: int) -> None:
            for _ in range(count):
                response = httpx.post(
                    f"{intake}/clients",
                    json=registration(len(clients)),
                    headers=ACTOR,
                    timeout=30,
                )
                assert response.status_code == 201, response.text
                clients.append(str(response.json()["client_id"]))

        register(5)  # in calm: the measure of what one registration leaves in each store
        with rabbitmq_stopped():
            register(5)  # stored while nothing can be published
        register(5)  # their events still on their way through the consumers
        # A command that arrives while the database restarts waits for it and is stored.
        waiting = concurrent.futures.ThreadPoolExecutor(1)
        with postgresql_stopped():
            during = waiting.submit(register, 1)
            time.sleep(2)
            assert not during.done()
        during.result(timeout=120)
        waiting.shutdown()
        register(5)  # the first commands after the restart are served, not failed

        wait_until_caught_up(processes, clients)
    finally:
        logs = {name: processes.log(name) for name in processes.processes}
        processes.stop_all()

    assert_once_each(settings, clients, logs)


def test_killing_every_process_mid_stream_loses_and_doubles_nothing(
    settings: Settings, tmp_path: Path
) -> None:
    processes = ServiceProcesses(settings, tmp_path)
    names = (*SERVICES, READ_SIDE)
    clients: list[str] = []
    try:
        for name in names:
            processes.start(name, wait=False)
        for name in names:
            processes.wait_ready(name)
        intake = processes.url("intake")

        kills_done = threading.Event()

        def register_all() -> None:
            # A caller that retries with the client id it chose, as the API asks; it goes on
            # until every process has been killed once, and a few more after.
            after = 0
            while after < 5:
                after += kills_done.is_set()
                body = {**registration(len(clients)), "client_id": str(uuid4())}
                while True:
                    try:
                        response = httpx.post(
                            f"{intake}/clients", json=body, headers=ACTOR, timeout=30
                        )
                    except httpx.TransportError:
                        time.sleep(0.2)  # intake is down: ask again
                        continue
                    done = response.status_code == 201 or (
                        response.status_code == 409
                        and response.json()["code"] == "client_already_registered"
                    )
                    if done:
                        clients.append(body["client_id"])
                        break
                    assert response.status_code >= 500, response.text
                    time.sleep(0.2)
                time.sleep(0.05)

        caller = concurrent.futures.ThreadPoolExecutor(1)
        stream = caller.submit(register_all)
        for name in names:  # each in turn, while registrations flow
            time.sleep(0.5)
            processes.kill(name)
            processes.start(name)
        kills_done.set()
        stream.result(timeout=300)
        caller.shutdown()

        wait_until_caught_up(processes, clients)
    finally:
        logs = {name: processes.log(name) for name in processes.processes}
        processes.stop_all()

    assert len(clients) >= 20  # registered across the kills (about 3 s of restarts each)
    assert_once_each(settings, clients, logs)


def assert_once_each(settings: Settings, clients: list[str], logs: dict[str, str]) -> None:
    """Nothing dead-lettered; each client's assessment holds as many events as the first
    client's (registered before any trouble), and each has one reminder scheduled."""
    topology = Topology(settings.amqp_prefix, settings.delivery_limit)
    dead = {c: queue_depth(settings, topology.dead_letter_queue(c).name) for c in CONSUMERS}
    assert set(dead.values()) == {0}, (dead, logs)

    assessment = store(settings, "assessment")
    notifications = store(settings, "notifications")
    assert isinstance(assessment, AssessmentApplication)
    assessments = {c: assessment.assessment_of(UUID(c)).version for c in clients}
    # The book's own events depend on the order news arrives in (older news of the
    # responsibility is not recorded), so what is counted is the effect: one reminder each.
    reminders = {
        c: [
            type(e).__name__ for e in notifications.events.get(ClientReminders.create_id(UUID(c)))
        ].count("ReminderScheduled")
        for c in clients
    }
    assessment.close()
    notifications.close()
    assert set(assessments.values()) == {assessments[clients[0]]}, assessments
    assert set(reminders.values()) == {1}, reminders


def wait_until_caught_up(processes: ServiceProcesses, clients: list[str]) -> None:
    read, notifications = processes.url(READ_SIDE), processes.url("notifications")

    def caught_up() -> bool:
        reminded = all(_reminder_state(notifications, c) == "scheduled" for c in clients)
        return reminded and set(clients) <= caseload_ids(read)

    eventually(caught_up, timeout=120, what="every client in the caseload, with a reminder")


def caseload_ids(read: str) -> set[str]:
    """Every client in the caseload, page by page (empty while the read side is away)."""
    found: set[str] = set()
    params: dict[str, Any] = {"limit": 100}
    while True:
        try:
            page = httpx.get(f"{read}/caseload", params=params, headers=ACTOR, timeout=10)
        except httpx.TransportError:
            return set()
        if not page.is_success:
            return set()
        found |= {row["client_id"] for row in page.json()["items"]}
        if not page.json().get("next_cursor"):
            return found
        params["cursor"] = page.json()["next_cursor"]


def _reminder_state(url: str, client_id: str) -> str | None:
    try:
        response = httpx.get(f"{url}/clients/{client_id}/reminders", headers=ACTOR, timeout=10)
    except httpx.HTTPError:
        return None
    if not response.is_success:
        return None
    found = {r["deadline_kind"]: r["state"] for r in response.json()}
    return found.get("assessment-start")
