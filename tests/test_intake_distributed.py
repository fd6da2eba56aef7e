"""Intake on real PostgreSQL and RabbitMQ: the inbound exchange, its dead letters and the CLI
that re-submits them, and no plaintext identity code anywhere in the database."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date
from typing import Any

import httpx
import pytest

from kotoutus.registry import SERVICES
from services.readside.service import READ_SIDE
from shared.contracts.inbound import INBOUND, HomeMunicipalityRegistered, example
from shared.eventstore import store_env
from shared.messaging.topology import Topology
from shared.settings import Settings
from tests.support import (
    ACTOR,
    Broker,
    ServiceProcesses,
    dump_decompressed,
    env_for,
    eventually,
    queue_depth,
)
from tests.test_intake import identity_code

pytestmark = pytest.mark.distributed


def lookup(url: str, code: str) -> str | None:
    body = {"kind": "identity_code", "value": code}
    found = httpx.post(f"{url}/clients/lookup", json=body, headers=ACTOR, timeout=10).json()
    return found["client_id"]  # type: ignore[no-any-return]


def cli(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kotoutus.cli", *args],
        env=env_for(settings),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def staff_register(url: str, given_names: str, family_name: str, code: str) -> str:
    person = {"given_names": given_names, "family_name": family_name, "identity_code": code}
    created = httpx.post(
        f"{url}/clients",
        json={"relationship_started_on": "2025-01-02", "personal": person},
        headers=ACTOR,
    )
    assert created.status_code == 201, created.text
    return str(created.json()["client_id"])


def test_inbound_messages_over_amqp_are_applied_once_or_dead_lettered_and_resubmitted(
    processes: ServiceProcesses, distributed_settings: Settings
) -> None:
    processes.start("intake")
    url = processes.url("intake")
    prefix = distributed_settings.amqp_prefix
    inbound = Broker(distributed_settings.amqp_url or "", f"{prefix}.inbound")
    code = identity_code("150390", "-", "211")

    registered = example(HomeMunicipalityRegistered, "dvv-42")
    registered["data"]["person"] = {"identity_code": code, "given_names": "Amina"}
    body = json.dumps(registered).encode()
    for _ in range(2):  # the same message twice
        inbound.publish(body, "dvv.home-municipality", "dvv-42")
    client_id = eventually(lambda: lookup(url, code), what="the client registered from DVV")
    queue = Topology(prefix, 3).queue("intake.inbound").name
    eventually(lambda: queue_depth(distributed_settings, queue) == 0, what="both handled")
    client = httpx.get(f"{url}/clients/{client_id}", headers=ACTOR).json()
    assert client["version"] == 3  # Registered, EligibilityDetermined, ResponsibilityAssigned

    # A death notice for someone intake does not know, and a message that is not one.
    stranger = identity_code("010101", "-", "303")
    died = example(INBOUND["fi.dvv.died.v1"], "dvv-43")
    died["data"]["person"] = {"identity_code": stranger}
    died_body = json.dumps(died).encode()
    inbound.publish(died_body, "dvv.died", "dvv-43")
    inbound.publish(b"<xml/>", "dvv.died", "garbage-1")

    def listed() -> str | None:
        result = cli(distributed_settings, "dead-letters", "list", "intake.inbound")
        return result.stdout if result.stdout.count("\n") >= 2 else None

    listing = eventually(listed, what="two dead letters listed")
    reasons = {line.split("\t")[0]: line.split("\t")[2] for line in listing.splitlines()}
    assert reasons["dvv-43"].startswith("UnknownPersonError")
    assert stranger not in reasons["dvv-43"]  # reasons name no identity code
    # A body that is not JSON: the reason names it so (a kind of ContractError).
    assert reasons["garbage-1"].startswith(
        "MalformedBodyError: not a CloudEvents 1.0 JSON message: the body is not JSON"
    )

    # Staff register the person; the death notice is re-submitted and now applies.
    client_id = staff_register(url, "Pekka", "Virtanen", stranger)
    resubmitted = cli(distributed_settings, "dead-letters", "resubmit", "intake.inbound", "dvv-43")
    assert resubmitted.stdout.split() == ["dvv-43"], resubmitted.stderr

    def deceased() -> bool:
        view = httpx.get(f"{url}/clients/{client_id}", headers=ACTOR).json()
        return bool(view["facts"]["deceased"])

    eventually(deceased, what="the re-submitted death notice applied")
    remaining = cli(distributed_settings, "dead-letters", "list", "intake.inbound").stdout
    assert "garbage-1" in remaining and "dvv-43" not in remaining


def test_no_plaintext_identity_code_anywhere_in_the_database(
    processes: ServiceProcesses, distributed_settings: Settings
) -> None:
    for name in ("intake", "assessment", "notifications"):
        processes.start(name)
    code = identity_code("240680", "-", "123")
    response = httpx.post(
        f"{processes.url('intake')}/clients",
        json={
            "relationship_started_on": date.today().isoformat(),
            "personal": {"given_names": "Olena", "family_name": "Kovalenko", "identity_code": code},
            "facts": {
                "non_temporary_social_assistance": True,
                "residence_permit": {"type": "A", "first_permit_on": "2024-12-01"},
            },
        },
        headers=ACTOR,
    )
    assert response.status_code == 201, response.text
    client_id = response.json()["client_id"]

    def reminded() -> Any:
        return (
            httpx.get(
                f"{processes.url('notifications')}/clients/{client_id}/reminders", headers=ACTOR
            ).status_code
            == 200
        )

    eventually(reminded, what="the thread to reach notifications")
    dump = subprocess.run(
        # This test's schemas only: the database is the session's (others' events are there,
        # some altered on purpose by the audit's tests).
        [
            "pg_dump",
            "--data-only",
            f"--schema={distributed_settings.schema_prefix}*",
            distributed_settings.database_url or "",
        ],
        capture_output=True,
        check=True,
        timeout=120,
    ).stdout
    dump = dump_decompressed(dump)  # stored compressed values as a reader sees them
    assert client_id.encode() in dump  # the dump does hold this client's events …
    for form in (code, code.lower()):  # … but not the code, neither as text nor as bytea hex
        assert form.encode() not in dump
        assert form.encode().hex().encode() not in dump
    assert b"Kovalenko".hex().encode() not in dump


def test_erasure_reaches_the_dead_letter_queues(
    processes: ServiceProcesses, distributed_settings: Settings
) -> None:
    processes.start("intake")
    url, prefix = processes.url("intake"), distributed_settings.amqp_prefix
    inbound = Broker(distributed_settings.amqp_url or "", f"{prefix}.inbound")
    dead_letters = Broker(distributed_settings.amqp_url or "", f"{prefix}.dead-letter")
    code, stranger = identity_code("311275", "-", "234"), identity_code("010203", "A", "345")
    for message_id, person in (("dvv-1", code), ("dvv-2", stranger)):
        died = example(INBOUND["fi.dvv.died.v1"], message_id)
        died["data"]["person"] = {"identity_code": person}  # not known yet: dead-lettered
        inbound.publish(json.dumps(died).encode(), "dvv.died", message_id)

    def listed(consumer: str, count: int) -> str | None:
        result = cli(distributed_settings, "dead-letters", "list", consumer)
        return result.stdout if result.stdout.count("\n") >= count else None

    eventually(lambda: listed("intake.inbound", 2), what="two death notices dead-lettered")
    client_id = staff_register(url, "Zahra", "Hosseini", code)
    # An event about her that the read side could not apply, as its queue would hold it.
    intake = SERVICES["intake"].application(
        distributed_settings, store_env(distributed_settings, "intake")
    )
    publishes = SERVICES["intake"].publishes
    try:
        registered = next(
            event
            for n in intake.recorder.select_notifications(1, 100)
            if (event := publishes.to_public(n.id, intake.mapper.to_domain_event(n))) is not None
            and event.event_type == "ClientRegistered"
            and str(event.aggregate_id) == client_id
        )
    finally:
        intake.close()
    body = registered.model_dump_json().encode()
    assert b"Zahra" in body
    dead_letters.publish(body, READ_SIDE, "m-registered")
    eventually(lambda: listed(READ_SIDE, 1), what="the read side's dead letter")

    erased = httpx.post(
        f"{url}/clients/{client_id}/erase", json={"legal_ground": "GDPR 17(1)(a)"}, headers=ACTOR
    )
    assert erased.status_code == 200, erased.text

    remaining = cli(distributed_settings, "dead-letters", "list", "intake.inbound").stdout
    assert "dvv-2" in remaining and "dvv-1" not in remaining
    topology = Topology(prefix, 3)
    kept = Broker(distributed_settings.amqp_url or "", "").drain(
        topology.dead_letter_queue(READ_SIDE).name
    )
    assert [m.message_id for m in kept] == ["m-registered"]
    event = json.loads(kept[0].body)
    assert event["data"]["name"] is None and event["data"]["client_id"] == client_id
