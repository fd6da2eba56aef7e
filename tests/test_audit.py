"""Tamper evidence: a stored event altered behind the system's back is named by the chain."""

from __future__ import annotations

from pathlib import Path
from uuid import uuid4

import psycopg
import pytest
from psycopg import sql

from kotoutus.registry import SERVICES
from services.intake.application import IntakeApplication
from services.intake.model import ClientFacts, PersonalDetails
from shared.audit import HashChain
from shared.clock import utc_now
from shared.eventstore import store_env
from shared.settings import Settings
from shared.values import Provenance


def intake_with_clients(settings: Settings, count: int = 3) -> IntakeApplication:
    app = SERVICES["intake"].application(settings, store_env(settings, "intake"))
    assert isinstance(app, IntakeApplication)
    for _ in range(count):
        app.register_client(
            client_id=uuid4(),
            provenance=Provenance.system("test", "municipality:320", utc_now()),
            personal=PersonalDetails(given_names="A", family_name="B"),
            facts=ClientFacts(),
            relationship_started_on=utc_now().date(),
        )
    return app


@pytest.mark.distributed
def test_an_event_altered_in_postgresql_is_named(pg_database: str) -> None:
    settings = Settings(
        database_url=pg_database,
        schema_prefix=f"t{uuid4().hex[:10]}_",
        master_key="MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
    )
    app = intake_with_clients(settings)
    chain = HashChain(app)
    assert chain.extend() == 9  # three clients: Registered, EligibilityDetermined, Assigned
    assert chain.verify().intact
    # An erasure destroys a key, not stored bytes: the chain stays intact.
    first = next(iter(app.client_ids()))
    app.erase(first, provenance=Provenance.system("test", "m", utc_now()), legal_ground="test")
    chain.extend()
    assert chain.verify().intact

    table = sql.Identifier(settings.schema_for("intake"), app.recorder.events_table_name)  # type: ignore[attr-defined]
    with psycopg.connect(pg_database, autocommit=True) as conn:
        conn.execute(
            sql.SQL(
                "UPDATE {} SET state = state || '\\x20'::bytea WHERE notification_id = 5"
            ).format(table)
        )
    result = HashChain(app).verify()
    app.close()
    assert result.first_altered == 5
    assert "does not match its chain" in result.detail


def test_an_event_removed_from_sqlite_is_named(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, database_url=None)
    app = intake_with_clients(settings)
    HashChain(app).extend()
    import sqlite3

    with sqlite3.connect(tmp_path / "intake.sqlite") as conn:
        conn.execute("DELETE FROM stored_events WHERE rowid = 9")
    result = HashChain(app).verify()
    app.close()
    assert (result.first_altered, result.detail) == (9, "event removed")


def test_kotoutus_audit_verify_names_the_altered_event(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sqlite3

    from typer.testing import CliRunner

    from kotoutus.cli import app as cli

    for name in list(__import__("os").environ):
        if name.startswith("KOTOUTUS_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("KOTOUTUS_DATA_DIR", str(tmp_path))
    application = intake_with_clients(Settings(data_dir=tmp_path, database_url=None), count=1)
    HashChain(application).extend()
    application.close()
    intact = CliRunner().invoke(cli, ["audit", "verify"])
    assert intact.exit_code == 0, intact.output
    assert "intake: 3 events, chain intact" in intact.output
    with sqlite3.connect(tmp_path / "intake.sqlite") as conn:
        conn.execute("UPDATE stored_events SET topic = topic || 'x' WHERE rowid = 2")
    altered = CliRunner().invoke(cli, ["audit", "verify"])
    assert altered.exit_code == 1
    assert "intake: ALTERED at notification 2" in altered.output


def test_replay_as_of_an_instant_across_services(embedded_settings: Settings) -> None:
    import json
    import time as clock

    from fastapi.testclient import TestClient

    from kotoutus.embedded import EmbeddedSystem
    from tests.support import ACTOR, AUDITOR, eventually

    system = EmbeddedSystem(embedded_settings)
    with TestClient(system.api()) as api:
        body = {
            "relationship_started_on": utc_now().date().isoformat(),
            "personal": {"given_names": "Olena", "family_name": "Kovalenko"},
            "facts": {
                "non_temporary_social_assistance": True,
                "residence_permit": {"type": "A", "first_permit_on": "2025-06-01"},
            },
        }
        client_id = api.post("/clients", json=body, headers=ACTOR).json()["client_id"]
        other = api.post("/clients", json=body, headers=ACTOR).json()["client_id"]

        def replayed(**params: str) -> list[dict[str, object]]:
            response = api.get("/audit/replay", params=params, headers=AUDITOR)
            return [json.loads(line) for line in response.text.splitlines()]

        eventually(
            lambda: any(e["event_type"] == "ReminderScheduled" for e in replayed()),
            what="the thread",
        )
        clock.sleep(0.01)
        before_erasure = utc_now().isoformat()
        clock.sleep(0.01)
        erase = {"legal_ground": "test"}
        assert api.post(f"/clients/{client_id}/erase", json=erase, headers=ACTOR).is_success

        mine = replayed(client_id=client_id)
        kinds = [e["event_type"] for e in mine]
        assert kinds[:3] == ["ClientRegistered", "EligibilityDetermined", "ResponsibilityAssigned"]
        assert {"AssessmentDue", "ReminderScheduled", "ClientErased"} <= set(kinds)
        assert all(e["data"]["client_id"] == client_id for e in mine)
        stamps = [e["recorded_at"] for e in mine]
        assert stamps == sorted(stamps)
        then = replayed(client_id=client_id, as_of=before_erasure)
        assert "ClientErased" not in [e["event_type"] for e in then]
        assert len(then) == len(mine) - 1
        assert other not in {e["data"]["client_id"] for e in mine}
        assert "Olena" not in json.dumps(replayed())  # public events only
    system.close()
