"""The read side as its own OS process, fed over real RabbitMQ from the services' relays on
PostgreSQL: it catches up after a stop, and a rebuild from history equals what it built live."""

from __future__ import annotations

import subprocess
import sys
import time
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from kotoutus.registry import SERVICES
from services.readside.database import engine_for
from services.readside.service import READ_SIDE
from services.readside.tables import caseload, client_names, events, name_keys
from shared.settings import Settings
from tests.support import ACTOR, ServiceProcesses, env_for, eventually

pytestmark = pytest.mark.distributed


def registration(family_name: str) -> dict[str, Any]:
    return {
        "relationship_started_on": "2026-11-02",
        "personal": {"given_names": "Mariam", "family_name": family_name},
        "facts": {
            "home_municipality": "320",
            "mother_tongue": "ar",
            "non_temporary_social_assistance": True,
            "residence_permit": {"type": "A", "first_permit_on": "2026-06-01"},
        },
    }


def test_projections_fed_over_rabbitmq_rebuild_to_the_same_rows(
    processes: ServiceProcesses, distributed_settings: Settings
) -> None:
    for name in (*SERVICES, READ_SIDE):
        processes.start(name, wait=False)
    for name in (*SERVICES, READ_SIDE):
        processes.wait_ready(name)
    intake, read = processes.url("intake"), processes.url(READ_SIDE)

    def register(family_name: str) -> str:
        response = httpx.post(f"{intake}/clients", json=registration(family_name), headers=ACTOR)
        assert response.status_code == 201, response.text
        return str(response.json()["client_id"])

    def listed(client_id: str, **expected: Any) -> dict[str, Any] | None:
        page = httpx.get(f"{read}/caseload", params={"limit": 500}, headers=ACTOR).json()
        row = next((r for r in page["items"] if r["client_id"] == client_id), None)
        if row and all(row[key] == value for key, value in expected.items()):
            return row
        return None

    first = register("Haddad")
    row = eventually(lambda: listed(first, assessment_state="due"), what="first in caseload")
    assert (row["family_name"], row["organisation"]) == ("Haddad", "municipality:320")
    assert row["next_deadline_kind"] == "assessment_start"

    # Stopped, the read side misses nothing: its queue keeps the events until it is back.
    processes.stop(READ_SIDE)
    second = register("Nasser")
    correction = {"personal": {"family_name": "Haddad-Saleh"}, "reason": "marriage"}
    corrected = httpx.post(f"{intake}/clients/{first}/corrections", json=correction, headers=ACTOR)
    assert corrected.is_success, corrected.text
    processes.start(READ_SIDE)
    eventually(lambda: listed(second, assessment_state="due"), what="second after restart")
    eventually(lambda: listed(first, family_name="Haddad-Saleh"), what="the corrected name")
    timeline = httpx.get(f"{read}/clients/{first}/timeline", headers=ACTOR).json()
    assert "ClientDetailsCorrected" in [entry["event_type"] for entry in timeline]

    engine = engine_for(distributed_settings)

    def rows() -> dict[str, list[Any]]:
        with engine.connect() as connection:
            return {
                table.name: sorted(connection.execute(select(table)).all(), key=repr)
                for table in (caseload, client_names, name_keys, events)
            }

    # Quiet: every event stored so far has reached the read side.
    eventually(lambda: len(timeline_types(read, second)) >= 5, what="second's timeline")

    def unchanged_for_a_second() -> dict[str, list[Any]] | None:
        before = rows()
        time.sleep(1)
        return before if rows() == before else None

    live = eventually(unchanged_for_a_second, what="the read side to be quiet")
    assert len(live["caseload"]) == 2
    processes.stop(READ_SIDE)  # rebuilding is a maintenance step
    rebuild = subprocess.run(
        [sys.executable, "-m", "kotoutus.cli", "projections", "rebuild"],
        env=env_for(distributed_settings),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert rebuild.returncode == 0, rebuild.stderr
    assert rows() == live
    engine.dispose()


def timeline_types(read: str, client_id: str) -> list[str]:
    response = httpx.get(f"{read}/clients/{client_id}/timeline", headers=ACTOR)
    return [entry["event_type"] for entry in response.json()] if response.is_success else []
