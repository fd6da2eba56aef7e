"""DESIGN §3, "nothing lost, nothing doubled": the broker and the database are restarted under
the running services; afterwards every stored event has reached every consumer, each effect
happened once, and nothing was dead-lettered.

The real servers are restarted (RabbitMQ's application stopped and started; the PostgreSQL
cluster stopped and started), so these tests must run alone: CI runs the suite in one
process, one test at a time."""

from __future__ import annotations

import concurrent.futures
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import pytest

from services.assessment.application import AssessmentApplication
from services.notifications.domain import ClientReminders
from shared.entrypoints.registry import SERVICES
from shared.eventstore import ServiceApplication, store_env
from shared.messaging.topology import READ_SIDE, Topology
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
        intake, read = processes.url("intake"), processes.url(READ_SIDE)
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
        register(5)  # in flight while the database goes away
        # A command that arrives while the database restarts waits for it and is stored.
        waiting = concurrent.futures.ThreadPoolExecutor(1)
        with postgresql_stopped():
            during = waiting.submit(register, 1)
            time.sleep(2)
            assert not during.done()
        during.result(timeout=120)
        waiting.shutdown()
        register(5)  # the first commands after the restart are served, not failed

        def caught_up() -> bool:
            page = httpx.get(f"{read}/caseload", params={"limit": 100}, headers=ACTOR, timeout=10)
            listed = {r["client_id"] for r in page.json()["items"]} if page.is_success else set()
            reminded = all(
                _reminder_state(processes.url("notifications"), c) == "scheduled" for c in clients
            )
            return set(clients) <= listed and reminded

        eventually(caught_up, timeout=120, what="every client in the caseload, with a reminder")
    finally:
        logs = {name: processes.log(name) for name in processes.processes}
        processes.stop_all()

    topology = Topology(settings.amqp_prefix, settings.delivery_limit)
    dead = {c: queue_depth(settings, topology.dead_letter_queue(c).name) for c in CONSUMERS}
    assert set(dead.values()) == {0}, (dead, logs)

    # Exactly once: each client's aggregates hold as many events as the calm ones do.
    assessment = store(settings, "assessment")
    notifications = store(settings, "notifications")
    assert isinstance(assessment, AssessmentApplication)
    assessments = {c: assessment.assessment_of(UUID(c)).version for c in clients}
    reminders = {
        c: notifications.repository.get(ClientReminders.create_id(UUID(c))).version for c in clients
    }
    assert set(assessments.values()) == {assessments[clients[0]]}, assessments
    assert set(reminders.values()) == {reminders[clients[0]]}, reminders


def _reminder_state(url: str, client_id: str) -> str | None:
    try:
        response = httpx.get(f"{url}/clients/{client_id}/reminders", headers=ACTOR, timeout=10)
    except httpx.HTTPError:
        return None
    if not response.is_success:
        return None
    found = {r["deadline_kind"]: r["state"] for r in response.json()}
    return found.get("assessment-start")
