"""The four services as separate OS processes on real PostgreSQL and RabbitMQ."""

from __future__ import annotations

import json
import threading
from datetime import date
from typing import Any
from uuid import uuid4

import httpx
import pytest

from kotoutus.registry import SERVICES
from services.assessment.application import AssessmentApplication
from shared.contracts import CONTRACTS, parse_event
from shared.errors import NotFoundError
from shared.eventstore import ServiceApplication, store_env
from shared.failpoints import CRASH_EXIT_CODE
from shared.messaging.dead_letters import REASON_HEADER
from shared.messaging.topology import Topology
from shared.settings import Settings
from shared.values import Actor, ActorKind
from tests.support import (
    ACTOR,
    DECREE,
    INTERVIEW,
    Broker,
    ServiceProcesses,
    eligibility_determined,
    events_broker,
    eventually,
    queue_depth,
)

pytestmark = pytest.mark.distributed


def store(settings: Settings, name: str) -> ServiceApplication:
    """The service's own store, opened read-only in spirit for inspection."""
    return SERVICES[name].application(settings, store_env(settings, name))


def register(intake_url: str, **overrides: Any) -> str:
    # Today by default: an older start would soon be overdue, and the timer would say so.
    body = {
        "relationship_started_on": date.today().isoformat(),
        "personal": {"given_names": "Olena", "family_name": "Kovalenko"},
        "facts": {
            "mother_tongue": "uk",
            "non_temporary_social_assistance": True,
            "residence_permit": {"type": "temporary_protection", "first_permit_on": "2024-11-20"},
        },
        **overrides,
    }
    response = httpx.post(f"{intake_url}/clients", json=body, headers=ACTOR, timeout=30)
    assert response.status_code == 201, response.text
    return str(response.json()["client_id"])


def reminders(url: str, client_id: str) -> dict[str, dict[str, Any]]:
    response = httpx.get(f"{url}/clients/{client_id}/reminders", headers=ACTOR, timeout=10)
    if response.status_code == 404:
        return {}
    response.raise_for_status()
    return {r["deadline_kind"]: r for r in response.json()}


def assessment_version(settings: Settings, client_id: str) -> tuple[int, int]:
    """(version of the client's assessment, tracking rows for intake) in assessment's store."""
    from uuid import UUID

    app = store(settings, "assessment")
    try:
        assert isinstance(app, AssessmentApplication)
        try:
            assessment = app.assessment_of(UUID(client_id))
        except NotFoundError:
            return 0, 0
        events = list(app.events.get(assessment.id))
        return assessment.version, len(events)
    finally:
        app.close()


def test_the_thread_through_four_processes(
    processes: ServiceProcesses, distributed_settings: Settings
) -> None:
    broker = events_broker(distributed_settings)
    tap = f"{distributed_settings.amqp_prefix}.tap"
    broker.tap(tap)
    for name in SERVICES:
        processes.start(name, wait=False)
    for name in SERVICES:
        processes.wait_ready(name)

    client_id = register(processes.url("intake"), relationship_started_on="2024-12-31")
    due = eventually(
        lambda: reminders(processes.url("notifications"), client_id).get("assessment-start"),
        what="assessment reminder",
    )
    # 31 Dec 2024 + 2 months = 28 Feb 2025 (month end), by Act 1386/2010 in force on 31 Dec.
    assert due["state"] == "scheduled"
    assert due["due"] == "2025-02-28"
    assert due["responsible_organisation"] == "municipality:320"

    assessment = f"{processes.url('assessment')}/clients/{client_id}/assessment"
    started = httpx.post(
        f"{assessment}/start",
        json={"started_on": "2025-01-15", "interview": INTERVIEW, **DECREE},
        headers=ACTOR,
    )
    assert started.status_code == 200, started.text
    completed = httpx.post(
        f"{assessment}/complete",
        json={"completed_on": "2025-01-24", "plan_needed": True, "reason": "Finnish A1.1"},
        headers=ACTOR,
    )
    assert completed.status_code == 200, completed.text

    def both() -> dict[str, dict[str, Any]] | None:
        found = reminders(processes.url("notifications"), client_id)
        done = found.get("assessment-start", {}).get("state") == "cancelled"
        return found if done and "plan-preparation" in found else None

    found = eventually(both, what="assessment reminder cancelled and plan reminder scheduled")
    # Decided on 24 Jan 2025: Act 681/2023, preparation without delay.
    assert found["plan-preparation"]["due"] == "2025-01-24"
    plan = httpx.get(f"{processes.url('plans')}/clients/{client_id}/plan", headers=ACTOR).json()
    assert plan["deadline"]["rule"]["law"] == "681/2023"

    drafted = httpx.post(
        f"{processes.url('plans')}/clients/{client_id}/plan/draft",
        json={"drafted_on": "2025-01-24"},
        headers=ACTOR,
    )
    assert drafted.status_code == 200, drafted.text
    eventually(
        lambda: (
            reminders(processes.url("notifications"), client_id)["plan-preparation"]["state"]
            == "cancelled"
        ),
        what="plan reminder cancelled",
    )

    # Every public event carries who, for whom, when (business and record time) and why.
    def all_types() -> list[Any] | None:
        taken.extend(broker.drain(tap))
        types = {m.type for m in taken}
        expected = {
            "ClientRegistered",
            "AssessmentDue",
            "AssessmentStarted",
            "AssessmentCompleted",
            "PlanNeedDecided",
            "PlanPreparationDue",
            "PlanDrafted",
            "ReminderScheduled",
            "ReminderCancelled",
        }
        return taken if expected <= types else None

    taken: list[Any] = []
    for message in eventually(all_types, what="every event type on the tap"):
        assert message.delivery_mode == 2  # persistent
        event = parse_event(message.body, CONTRACTS)
        assert message.message_id == str(event.message_id)
        assert event.actor.id and event.organisation
        assert event.occurred_at and event.recorded_at
        if event.event_type in {"ClientRegistered", "AssessmentDue", "PlanPreparationDue"}:
            assert event.legal_basis, event.event_type
    by_type = {parse_event(m.body, CONTRACTS).event_type: m for m in taken}
    started_event = parse_event(by_type["AssessmentStarted"].body, CONTRACTS)
    assert started_event.actor == Actor(id="anna.virtanen", kind=ActorKind.USER)


def test_relay_killed_after_publishing_republishes_and_the_effect_happens_once(
    processes: ServiceProcesses, distributed_settings: Settings
) -> None:
    broker = events_broker(distributed_settings)
    tap = f"{distributed_settings.amqp_prefix}.tap"
    broker.tap(tap)
    processes.start("assessment")
    processes.start("intake", failpoint="relay.after_publish")
    client_id = register(processes.url("intake"))
    # The relay published the event, then died before it saved its position.
    assert processes.wait_exit("intake") == CRASH_EXIT_CODE
    processes.start("intake")

    def published_twice() -> list[Any] | None:
        seen.extend(m for m in broker.drain(tap) if m.type == "ClientRegistered")
        return seen if len(seen) >= 2 else None

    seen: list[Any] = []
    copies = eventually(published_twice, what="ClientRegistered published again")
    assert len({m.message_id for m in copies}) == 1  # the same stable id both times

    eventually(lambda: assessment_version(distributed_settings, client_id) == (1, 1), what="due")
    # Give the duplicate time to arrive and be dropped: still exactly one event.
    processes.stop("assessment")
    assert assessment_version(distributed_settings, client_id) == (1, 1)


def test_consumer_killed_before_ack_gets_the_message_again_and_the_effect_happens_once(
    processes: ServiceProcesses, distributed_settings: Settings
) -> None:
    processes.start("assessment", failpoint="consumer.before_ack")
    processes.start("intake")
    client_id = register(processes.url("intake"))
    # Assessment stored its effect and its tracking row, then died before acknowledging.
    assert processes.wait_exit("assessment") == CRASH_EXIT_CODE
    assert assessment_version(distributed_settings, client_id) == (1, 1)

    processes.start("assessment")
    queue = Topology(distributed_settings.amqp_prefix, 3).queue("assessment").name

    def redelivered_and_acked() -> bool:
        return queue_depth(distributed_settings, queue) == 0

    eventually(redelivered_and_acked, what="the redelivered message to be acknowledged")
    processes.stop("assessment")
    assert assessment_version(distributed_settings, client_id) == (1, 1)


def test_the_same_message_delivered_twice_changes_nothing(
    processes: ServiceProcesses, distributed_settings: Settings
) -> None:
    processes.start("assessment")
    broker = events_broker(distributed_settings)
    client_id = str(uuid4())
    event = eligibility_determined(client_id, position=7)
    for _ in range(2):
        broker.publish(event.model_dump_json().encode(), event.routing_key, str(event.message_id))
    queue = Topology(distributed_settings.amqp_prefix, 3).queue("assessment").name
    eventually(lambda: queue_depth(distributed_settings, queue) == 0, what="both handled")
    processes.stop("assessment")
    assert assessment_version(distributed_settings, client_id) == (1, 1)


def test_malformed_and_invalid_messages_are_dead_lettered_with_a_reason(
    processes: ServiceProcesses, distributed_settings: Settings
) -> None:
    processes.start("assessment")
    processes.start("intake")
    prefix = distributed_settings.amqp_prefix
    broker = events_broker(distributed_settings)
    malformed = b'{"event_type": "EligibilityDetermined", '
    invalid = eligibility_determined(str(uuid4()), position=1).model_dump(mode="json")
    del invalid["data"]["decided_on"]
    invalid_body = json.dumps(invalid).encode()
    broker.publish(malformed, "other.EligibilityDetermined", "malformed-1")
    broker.publish(invalid_body, "other.EligibilityDetermined", "invalid-1")

    dead_letter_queue = Topology(prefix, 3).dead_letter_queue("assessment").name
    dead = Broker(distributed_settings.amqp_url or "", f"{prefix}.dead-letter")
    letters: list[Any] = []

    def two_letters() -> list[Any] | None:
        letters.extend(dead.drain(dead_letter_queue))
        return letters if len(letters) >= 2 else None

    by_id = {m.message_id: m for m in eventually(two_letters, what="two dead letters")}
    assert by_id["malformed-1"].body == malformed  # the original body, intact
    assert "not JSON" in str(by_id["malformed-1"].headers[REASON_HEADER])
    reason = str(by_id["invalid-1"].headers[REASON_HEADER])
    assert "data.decided_on" in reason and "Field required" in reason
    assert by_id["invalid-1"].body == invalid_body

    # The consumer kept running: the next good message is handled.
    client_id = register(processes.url("intake"))
    eventually(lambda: assessment_version(distributed_settings, client_id) == (1, 1), what="ok")


def test_two_concurrent_commands_on_one_assessment_one_wins_the_other_gets_409(
    processes: ServiceProcesses, distributed_settings: Settings
) -> None:
    processes.start("assessment")
    processes.start("intake")
    client_id = register(processes.url("intake"))
    eventually(lambda: assessment_version(distributed_settings, client_id) == (1, 1), what="due")
    url = f"{processes.url('assessment')}/clients/{client_id}/assessment"
    httpx.post(
        f"{url}/start",
        json={"started_on": "2025-01-10", "interview": INTERVIEW, **DECREE},
        headers=ACTOR,
    ).raise_for_status()

    barrier = threading.Barrier(2)
    statuses: list[int] = []

    def complete(reason: str) -> None:
        barrier.wait()
        body = {"completed_on": "2025-01-20", "plan_needed": True, "reason": reason}
        statuses.append(httpx.post(f"{url}/complete", json=body, headers=ACTOR).status_code)

    threads = [threading.Thread(target=complete, args=(r,)) for r in ("first", "second")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [200, 409]
    # Due, Started, InterviewRecorded, Completed, PlanNeedDecided: one completion, nothing
    # lost, nothing doubled.
    assert assessment_version(distributed_settings, client_id) == (5, 5)
