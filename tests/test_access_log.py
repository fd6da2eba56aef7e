"""The access log records a read once — who, what, when, why, outcome — with the clients it
disclosed, and still answers per client (Act 906/2019 §17); a log made before, one row per
client, keeps being read alongside; both tables refuse UPDATE and DELETE."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from uuid import UUID, uuid4

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from kotoutus.embedded import EmbeddedSystem
from shared.auth.access_log import AccessEntry, AccessLog, AccessRequest
from shared.clock import utc_now
from shared.settings import Settings
from tests.support import ACTOR, AUDITOR
from tests.test_readside import register, settled


@pytest.fixture
def client(embedded: EmbeddedSystem) -> Iterator[TestClient]:
    with TestClient(embedded.api()) as test_client:
        yield test_client


def _log(api: TestClient) -> AccessLog:
    log = api.app.state.access_log  # type: ignore[attr-defined]
    assert isinstance(log, AccessLog)
    return log


def _stored(log: AccessLog) -> tuple[int, int]:
    with log.engine.connect() as connection:
        reads = connection.execute(sa.select(sa.func.count()).select_from(log.table)).scalar()
        clients = connection.execute(sa.select(sa.func.count()).select_from(log.clients)).scalar()
    return int(reads or 0), int(clients or 0)


def test_a_caseload_page_is_logged_once_and_answers_per_client(client: TestClient) -> None:
    ids = [register(client, "Amina", f"Hassan {n}", "2026-01-05", "so") for n in range(3)]
    for client_id in ids:
        settled(client, client_id, assessment_state="due")
    log = _log(client)
    reads, listed = _stored(log)
    headers = {**ACTOR, "X-Purpose": "weekly review"}
    page = client.get("/caseload", params={"limit": 500}, headers=headers)
    assert page.status_code == 200
    assert {item["client_id"] for item in page.json()["items"]} == set(ids)
    assert _stored(log) == (reads + 1, listed + 3)  # one read, three clients

    for client_id in ids:
        found = client.get(
            "/audit/access-log", params={"client_id": client_id}, headers=AUDITOR
        ).json()
        assert [(e["client_id"], e["actor"], e["what"], e["purpose"], e["outcome"]) for e in found][
            -1
        ] == (client_id, "anna.virtanen", "GET /caseload", "weekly review", 200)
    # Without a client: the read once per client it disclosed, as before.
    everyone = [e for e in log.query(actor="anna.virtanen") if e.what == "GET /caseload"]
    assert sorted(e.client_id or "" for e in everyone[-3:]) == sorted(ids)
    assert len({e.at for e in everyone[-3:]}) == 1
    # A read of one client is one row naming it; a read of none, one row naming none.
    reads, listed = _stored(log)
    assert client.get(f"/clients/{ids[0]}", headers=ACTOR).status_code == 200
    assert client.get("/caseload", params={"worker": "nobody"}, headers=ACTOR).is_success
    assert _stored(log) == (reads + 2, listed)
    last = log.query(actor="anna.virtanen")[-2:]
    assert [(e.what, e.client_id) for e in last] == [
        ("GET /clients/{client_id}", ids[0]),
        ("GET /caseload", None),
    ]


# The table as the version before this one made it, and the rows it wrote: one per client.
OLD_TABLE = """CREATE TABLE {name} (
    id INTEGER NOT NULL {serial}, at TIMESTAMP{tz} NOT NULL, actor VARCHAR(200),
    role VARCHAR(50), organisation VARCHAR(200), client_id VARCHAR(100), what VARCHAR(300) NOT NULL,
    purpose VARCHAR(500), source VARCHAR(100), outcome INTEGER NOT NULL, PRIMARY KEY (id))"""


def _old_rows(clients: list[str]) -> list[dict[str, object]]:
    at = utc_now() - timedelta(days=30)
    common = {
        "at": at,
        "actor": "old.reader",
        "role": "caseworker",
        "organisation": "municipality:320",
        "what": "GET /caseload",
        "purpose": None,
        "source": "10.0.0.1",
        "outcome": 200,
    }
    return [{**common, "client_id": client_id} for client_id in clients]


def _reads_old_and_new(log: AccessLog, clients: list[str]) -> None:
    # The old rows answer per client, as they did.
    for client_id in clients:
        (old,) = log.query(client_id=UUID(client_id))
        assert (old.actor, old.what, old.client_id) == ("old.reader", "GET /caseload", client_id)
    # New reads go beside them, and both answer.
    log.record(
        AccessRequest(
            at=utc_now(),
            actor="new.reader",
            role="caseworker",
            organisation="municipality:320",
            what="GET /caseload",
            purpose="review",
            source="127.0.0.1",
            outcome=200,
        ),
        clients,
    )
    for client_id in clients:
        assert [e.actor for e in log.query(client_id=UUID(client_id))] == [
            "old.reader",
            "new.reader",
        ]
    assert [e.actor for e in log.query()] == ["old.reader"] * 2 + ["new.reader"] * 2
    assert log.query(since=utc_now() - timedelta(days=1))[0].purpose == "review"
    # Neither table can be rewritten.
    for statement in (
        log.table.update().values(outcome=404),
        log.table.delete(),
        log.clients.update().values(client_id="someone"),
        log.clients.delete(),
    ):
        with pytest.raises(sa.exc.DBAPIError, match="append-only"), log.engine.begin() as conn:
            conn.execute(statement)
    assert len(log.query()) == 4


def test_a_log_made_before_is_read_as_before_sqlite(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, database_url=None)
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'access-log.sqlite'}")
    clients = [str(uuid4()), str(uuid4())]
    with engine.begin() as conn:
        conn.execute(sa.text(OLD_TABLE.format(name="access_log", serial="", tz="")))
        for verb in ("UPDATE", "DELETE"):
            conn.execute(
                sa.text(
                    f"CREATE TRIGGER access_log_no_{verb.lower()} BEFORE {verb} ON access_log "
                    "BEGIN SELECT RAISE(ABORT, 'the access log is append-only'); END"
                )
            )
        old = sa.Table("access_log", sa.MetaData(), autoload_with=conn)
        conn.execute(
            old.insert(), [{**r, "at": r["at"].replace(tzinfo=None)} for r in _old_rows(clients)]
        )
    engine.dispose()
    log = AccessLog.for_settings(settings)
    try:
        _reads_old_and_new(log, clients)
    finally:
        log.close()


@pytest.mark.distributed
def test_a_log_made_before_is_read_as_before_postgres(pg_database: str) -> None:
    settings = Settings(database_url=pg_database, schema_prefix=f"t{uuid4().hex[:10]}_")
    schema = settings.schema_for("access")
    engine = sa.create_engine(sa.engine.make_url(pg_database).set(drivername="postgresql+psycopg"))
    clients = [str(uuid4()), str(uuid4())]
    with engine.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        name = f'"{schema}".access_log'
        conn.execute(
            sa.text(
                OLD_TABLE.format(
                    name=name, serial="GENERATED BY DEFAULT AS IDENTITY", tz=" WITH TIME ZONE"
                )
            )
        )
        conn.execute(
            sa.text(
                f'CREATE FUNCTION "{schema}".access_log_append_only() RETURNS trigger '
                "LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'the access log is append-only'; "
                "END $$"
            )
        )
        conn.execute(
            sa.text(
                "CREATE TRIGGER access_log_append_only BEFORE UPDATE OR DELETE OR TRUNCATE "
                f'ON {name} FOR EACH STATEMENT EXECUTE FUNCTION "{schema}".access_log_append_only()'
            )
        )
        old = sa.Table("access_log", sa.MetaData(), schema=schema, autoload_with=conn)
        conn.execute(old.insert(), _old_rows(clients))
    engine.dispose()
    log = AccessLog.for_settings(settings)
    try:
        _reads_old_and_new(log, clients)
        with pytest.raises(sa.exc.DBAPIError, match="append-only"), log.engine.begin() as conn:
            conn.execute(sa.text(f'TRUNCATE "{schema}".access_log_clients'))
    finally:
        log.close()


def test_entries_of_one_read_are_appended_as_one(tmp_path: Path) -> None:
    """``append`` (the command line's reports use it): entries alike but for the client are
    one read."""
    log = AccessLog.for_settings(Settings(data_dir=tmp_path, database_url=None))
    try:
        at = utc_now()
        entries = [
            AccessEntry(
                at=at,
                actor="os:root",
                role="cli",
                organisation=None,
                client_id=client_id,
                what="report compensation",
                purpose=None,
                source="cli",
                outcome=200,
            )
            for client_id in (str(uuid4()), str(uuid4()), str(uuid4()))
        ]
        log.append(*entries)
        assert _stored(log) == (1, 3)
        assert log.query() == sorted(entries, key=lambda e: e.client_id or "")
    finally:
        log.close()
