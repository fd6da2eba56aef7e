"""Writes ``tests/data/v1_store/``: an embedded system's stores as the code of schema version 1
of ``PlanExtended`` (stored ``IntegrationPlan.Extended`` without ``class_version``) wrote them.

Run once, with the code *before* a change of stored events, and commit what it writes; the
fixture is then history that the later code must still read (tests/test_evolution.py). Run it
again only to make a fixture of the code as it is then (a new directory, not over this one).

    .venv/bin/python -m tests.data.make_v1_store

Everything in it is invented test data; ``master.key`` is a key made for this fixture only
(the embedded system makes one when none is set), never one used anywhere else.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import sqlite3
import sys
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from kotoutus.embedded import EmbeddedSystem
from shared.settings import Settings
from tests.support import ACTOR, DECREE, INTERVIEW, TOKEN_KEY, eventually

FIXTURE = Path(__file__).parent / "v1_store"
FINNISH = [{"kind": "finnish_study", "target_level": "B1.1", "provider": "Kansalaisopisto"}]


def _client(api: TestClient, started: str, first_permit_on: str, done: str | None) -> str:
    """A client on non-temporary social assistance (a group given an assessment); with
    ``done``, assessed with a plan needed and the plan due."""
    body = {
        "relationship_started_on": started,
        "personal": {"given_names": "Testi", "family_name": "Asiakas"},
        "facts": {
            "non_temporary_social_assistance": True,
            "residence_permit": {"type": "A", "first_permit_on": first_permit_on},
        },
    }
    registered = api.post("/clients", json=body, headers=ACTOR)
    assert registered.is_success, registered.text
    client_id = str(registered.json()["client_id"])
    base = f"/clients/{client_id}/assessment"
    eventually(lambda: api.get(base, headers=ACTOR).is_success, what="assessment")
    if done is None:
        return client_id
    start = {"started_on": started, "interview": INTERVIEW, **DECREE}
    _ok(api.post(f"{base}/start", json=start, headers=ACTOR))
    complete = {"completed_on": done, "plan_needed": True, "reason": "language and work"}
    _ok(api.post(f"{base}/complete", json=complete, headers=ACTOR))
    eventually(lambda: api.get(f"/clients/{client_id}/plan", headers=ACTOR).is_success, what="plan")
    return client_id


def _agree(api: TestClient, client_id: str, on: str, ends: str) -> None:
    body = {
        "agreed_on": on,
        "period": {"starts_on": on, "ends_on": ends},
        "goals": ["language", "employment"],
        "measures": FINNISH,
    }
    _ok(api.post(f"/clients/{client_id}/plan/agree", json=body, headers=ACTOR))


def _extend(api: TestClient, client_id: str, ends_on: str, **more: Any) -> None:
    body = {"ends_on": ends_on, "reason": "kurssi kesken", **more}
    _ok(api.post(f"/clients/{client_id}/plan/extend", json=body, headers=ACTOR))


def _ok(response: Any) -> None:
    assert response.is_success, response.text


def main() -> None:
    if FIXTURE.exists():
        sys.exit(f"{FIXTURE} exists: a fixture is history, write a new one elsewhere")
    settings = Settings(
        data_dir=FIXTURE,
        database_url=None,
        amqp_url=None,
        token_signing_key=TOKEN_KEY,
        late_entry_grace_hours=0,
    )
    clients: dict[str, str] = {}
    with TestClient(EmbeddedSystem(settings).api()) as api:
        # New law: extended within the two years (v1: no ground), then on a ground (§23(4)).
        within = _client(api, "2025-02-03", "2024-12-01", "2025-02-20")
        _agree(api, within, "2025-03-03", "2026-03-02")
        _extend(api, within, "2027-03-03")
        _extend(api, within, "2027-04-02", ground="temporary_obstacle", lost_days=30)
        clients["extended_within_then_on_ground"] = within
        # Old law (1386/2010): agreed in 2024, extended within its three years.
        old = _client(api, "2024-04-02", "2024-01-15", "2024-05-20")
        _agree(api, old, "2024-06-10", "2025-06-09")
        _extend(api, old, "2026-06-09")
        clients["old_law_extended_within"] = old
        # Agreed and never extended; registered only (assessment due).
        clients["agreed"] = _client(api, "2025-03-03", "2025-01-10", "2025-03-20")
        _agree(api, clients["agreed"], "2025-04-01", "2026-03-31")
        clients["registered"] = _client(api, "2025-05-05", "2025-04-01", None)

        def settled() -> bool:
            rows = api.get("/caseload", headers=ACTOR)
            timeline = api.get(f"/clients/{within}/timeline", headers=ACTOR).json()
            extensions = [e for e in timeline if e["event_type"] == "PlanExtended"]
            return len(rows.json()["items"]) == len(clients) and len(extensions) == 2

        eventually(settled, what="caseload of every client")
    # The read side and the logs of this run are derived or empty: whoever opens the fixture
    # rebuilds them from the services' stores. What stays is made as small as SQLite can.
    for derived in ("readside.sqlite", "access-log.sqlite", "dead-letters.sqlite"):
        (FIXTURE / derived).unlink(missing_ok=True)
    for store in FIXTURE.glob("*.sqlite"):
        with contextlib.closing(sqlite3.connect(store)) as connection:
            connection.execute("VACUUM")
    (FIXTURE / "clients.json").write_text(json.dumps(clients, indent=2) + "\n")
    shutil.rmtree(FIXTURE / "__pycache__", ignore_errors=True)


if __name__ == "__main__":
    main()
