"""Events evolve and history still reads (docs/versioning.md): a store written before
``IntegrationPlan.Extended`` became version 2 (tests/data/v1_store, made by
tests/data/make_v1_store.py with the code of that time) loads, replays and rebuilds with the code
of now, and a version 1 ``PlanExtended`` message still in a queue or a dead letter is read."""

from __future__ import annotations

import json
import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from fastapi.testclient import TestClient

from kotoutus.embedded import EmbeddedSystem
from services.plans.domain import IntegrationPlan
from services.readside.tables import PROJECTIONS
from shared.audit import HashChain
from shared.compression.codec import decompress
from shared.contracts import CONTRACTS, ContractError, parse_event
from shared.contracts.events import PlanExtended, PlanExtendedV1
from shared.contracts.plans import WITHIN_TOTAL, ExtensionGround
from shared.replay import replay
from shared.settings import Settings
from tests.support import ACTOR, SUPERVISOR, TOKEN_KEY, eventually, sqlite_dictionaries

FIXTURE = Path(__file__).parent / "data" / "v1_store"
CLIENTS: dict[str, str] = json.loads((FIXTURE / "clients.json").read_text())
WITHIN_THEN_GROUND = UUID(CLIENTS["extended_within_then_on_ground"])
OLD_LAW = UUID(CLIENTS["old_law_extended_within"])
EXTENDED_TOPIC = "services.plans.domain:IntegrationPlan.Extended"


@pytest.fixture
def old_store(tmp_path: Path) -> Path:
    """A copy of the fixture: the code under test may write to it, the fixture stays."""
    data = tmp_path / "data"
    shutil.copytree(FIXTURE, data, ignore=shutil.ignore_patterns("clients.json"))
    return data


@pytest.fixture
def system(old_store: Path) -> Iterator[EmbeddedSystem]:
    settings = Settings(
        data_dir=old_store,
        database_url=None,
        amqp_url=None,
        token_signing_key=TOKEN_KEY,
        late_entry_grace_hours=0,
    )
    embedded = EmbeddedSystem(settings)
    yield embedded
    embedded.close()


def _stored_extensions(store: Path) -> list[dict[str, Any]]:
    """The stored states of the plans' Extended events, as the library wrote them."""
    with sqlite3.connect(store / "plans.sqlite") as connection:
        rows = connection.execute(
            "SELECT state FROM stored_events WHERE topic = ? ORDER BY rowid", (EXTENDED_TOPIC,)
        ).fetchall()
        dictionaries = sqlite_dictionaries(connection)
    return [json.loads(decompress(state, dictionaries.get)) for (state,) in rows]


def _nodes(system: EmbeddedSystem) -> dict[str, Any]:
    return {name: (node.service, node.app) for name, node in system.nodes.items()}


def test_the_fixture_is_history_of_version_1(old_store: Path) -> None:
    """Guards the fixture: made again with today's code, it would test nothing."""
    with sqlite3.connect(old_store / "plans.sqlite") as connection:
        raw = connection.execute("SELECT state FROM stored_events").fetchall()
    assert all(state[:1] == b"{" for (state,) in raw)  # as JSON, before compression
    stored = _stored_extensions(old_store)
    assert len(stored) == 3
    assert all("class_version" not in state for state in stored)
    assert [state["ground"] for state in stored] == [None, "temporary_obstacle", None]


def test_a_version_1_plan_loads_with_its_extensions_upcast(system: EmbeddedSystem) -> None:
    plans = system.applications["plans"]
    plan_id = IntegrationPlan.create_id(WITHIN_THEN_GROUND)
    extended = [e for e in plans.events.get(plan_id) if isinstance(e, IntegrationPlan.Extended)]
    # v1's None (within the total) is read as v2's ``within_total``; a ground stays itself.
    assert [e.ground for e in extended] == [WITHIN_TOTAL, "temporary_obstacle"]
    plan = plans.load(plan_id, IntegrationPlan)
    assert plan.period is not None and str(plan.period.ends_on) == "2027-04-02"


def test_the_audit_replay_of_a_version_1_store_gives_version_2(system: EmbeddedSystem) -> None:
    for _, app in _nodes(system).values():
        verification = HashChain(app).verify()
        assert verification.intact, verification
    # An auditor's view (no personal fields), where each extension is the newest version.
    history = list(replay(_nodes(system)))
    extensions = [e for e in history if isinstance(e, PlanExtended)]
    assert len(extensions) == len([e for e in history if e.event_type == "PlanExtended"])
    assert [(e.aggregate_id, e.schema_version, e.data.ground) for e in extensions] == [
        (IntegrationPlan.create_id(WITHIN_THEN_GROUND), 2, WITHIN_TOTAL),
        (IntegrationPlan.create_id(WITHIN_THEN_GROUND), 2, ExtensionGround.TEMPORARY_OBSTACLE),
        (IntegrationPlan.create_id(OLD_LAW), 2, WITHIN_TOTAL),
    ]


def test_the_read_side_rebuilds_from_a_version_1_store(system: EmbeddedSystem) -> None:
    # As `kotoutus projections rebuild` does it: every projection, from every history.
    system.projector.rebuild(replay(_nodes(system), personal=True), PROJECTIONS)
    with TestClient(system.api()) as api:
        timeline = api.get(f"/clients/{WITHIN_THEN_GROUND}/timeline", headers=ACTOR).json()
        grounds = [e["data"]["ground"] for e in timeline if e["event_type"] == "PlanExtended"]
        assert grounds == ["within_total", "temporary_obstacle"]
        caseload = api.get("/caseload", headers=ACTOR).json()["items"]
        assert {row["client_id"] for row in caseload} == set(CLIENTS.values())
        params = {"client_id": str(WITHIN_THEN_GROUND)}
        report = api.get("/reports/national-data-store", params=params, headers=SUPERVISOR)
        (record,) = report.json()["records"]
        (plan,) = record["plans"]
        # The report's own shape is unchanged: null is an extension within the total.
        extensions = plan["other_content"]["extensions"]
        assert [e["ground"] for e in extensions] == [None, "temporary_obstacle"]


def test_new_commands_apply_to_old_clients(system: EmbeddedSystem, old_store: Path) -> None:
    agreed = CLIENTS["agreed"]
    with TestClient(system.api()) as api:
        longer = {"ends_on": "2026-09-30", "reason": "kurssi kesken"}
        response = api.post(f"/clients/{agreed}/plan/extend", json=longer, headers=ACTOR)
        assert response.is_success, response.text
        enrol = {"enrolled_on": "2025-07-01", "service": "finnish_study"}
        response = api.post(f"/clients/{OLD_LAW}/plan/enrol", json=enrol, headers=ACTOR)
        assert response.is_success, response.text

        def extended() -> list[Any] | None:
            timeline = api.get(f"/clients/{agreed}/timeline", headers=ACTOR).json()
            found = [e for e in timeline if e["event_type"] == "PlanExtended"]
            return found or None

        (entry,) = eventually(extended, what="the new extension on the read side")
        assert entry["data"]["ground"] == "within_total"
    # Stored as version 2 beside the version 1 events of the same store.
    *old, new = _stored_extensions(old_store)
    assert new["class_version"] == 2 and new["ground"] == "within_total"
    assert all("class_version" not in state for state in old)


def _v1_body(ground: str | None) -> dict[str, Any]:
    """A PlanExtended of version 1 as the relay published it before version 2."""
    plan_id, client_id = (
        "3f0c3a53-4f0d-5b8e-9a4e-2d3c1b0a9f8e",
        "c9521532-6cda-4b8d-8a64-aee03e16c3a5",
    )
    return {
        "message_id": "0f6f3c52-1d1c-5c1e-8f4b-6f7c0a3e2b1d",
        "event_type": "PlanExtended",
        "schema_version": 1,
        "source": "plans",
        "position": 42,
        "aggregate_id": plan_id,
        "aggregate_version": 7,
        "occurred_at": "2025-03-10T09:00:00+02:00",
        "recorded_at": "2025-03-10T07:00:01+00:00",
        "actor": {"id": "anna.virtanen", "kind": "user"},
        "organisation": "municipality:320",
        "data": {
            "client_id": client_id,
            "plan_id": plan_id,
            "period": {"starts_on": "2025-03-03", "ends_on": "2027-03-03"},
            "reason": "kurssi kesken",
            "ground": ground,
        },
    }


@pytest.mark.parametrize(
    ("ground", "read_as"),
    [(None, WITHIN_TOTAL), ("temporary_obstacle", ExtensionGround.TEMPORARY_OBSTACLE)],
)
def test_a_version_1_message_is_read_as_version_2(ground: str | None, read_as: str) -> None:
    body = _v1_body(ground)
    event = parse_event(json.dumps(body), CONTRACTS)
    assert isinstance(event, PlanExtended)
    assert (event.schema_version, event.data.ground) == (2, read_as)
    # Everything else as it was sent: the same message, the same id (duplicates still drop).
    assert str(event.message_id) == body["message_id"] and event.position == 42
    assert event.data.reason == "kurssi kesken"
    assert PlanExtendedV1.model_validate(body).upcast() == event


def test_a_version_the_consumer_does_not_know_is_refused_with_the_reason() -> None:
    body = {**_v1_body(None), "schema_version": 3}
    with pytest.raises(
        ContractError, match=r"PlanExtended v3 is not a version read here \(v1, v2\)"
    ):
        parse_event(json.dumps(body), CONTRACTS)
    v2_body_as_v1 = {**_v1_body("within_total"), "schema_version": 1}
    with pytest.raises(ContractError, match=r"PlanExtended v1 is invalid: data\.ground"):
        parse_event(json.dumps(v2_body_as_v1), CONTRACTS)


def test_a_version_1_dead_letter_is_taken_after_version_2(system: EmbeddedSystem) -> None:
    """A v1 message dead-lettered before the change (here: the read side's), resubmitted
    after it, is applied by the consumer that now reads v2."""
    system.deliver_all()
    body = _v1_body(None)
    body["aggregate_id"] = body["data"]["plan_id"] = str(
        IntegrationPlan.create_id(UUID(CLIENTS["agreed"]))
    )
    body["data"]["client_id"] = CLIENTS["agreed"]
    body["position"] = 10_000  # after anything the read side has of plans
    system.dead_letters.add(
        "readside", body["message_id"], "plans.PlanExtended", json.dumps(body).encode(), "test"
    )
    assert system.resubmit("readside") == [body["message_id"]]
    assert system.dead_letters.all() == []
    with TestClient(system.api()) as api:
        timeline = api.get(f"/clients/{CLIENTS['agreed']}/timeline", headers=ACTOR).json()
    (entry,) = [e for e in timeline if e["event_type"] == "PlanExtended"]
    assert entry["data"]["ground"] == "within_total"


def test_every_earlier_version_is_complete() -> None:
    """Each kept version names its type, comes in order and upcasts to the next one (a missing
    ``upcast`` would fail every message of that version)."""
    for contract in CONTRACTS.values():
        versions = [*contract.EARLIER, contract]
        assert [c.SCHEMA_VERSION for c in versions] == list(range(1, len(versions) + 1))
        for earlier, following in zip(contract.EARLIER, versions[1:], strict=True):
            assert earlier.EVENT_TYPE == contract.EVENT_TYPE
            assert "upcast" in vars(earlier), earlier.__name__
            assert earlier.upcast.__annotations__["return"] in (following.__name__, following)
    assert PlanExtendedV1 in PlanExtended.EARLIER
