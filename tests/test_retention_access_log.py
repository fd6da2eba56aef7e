"""The access log's own retention: the reads logged before the class's cutoff go, only through
the retention job's purge, which logs itself; every other DELETE and every UPDATE is still
refused by the database. On SQLite (a log made before its retention too) and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import uuid4

import pytest
import sqlalchemy as sa

from shared.auth.access_log import PURGER, AccessLog, AccessRequest
from shared.clock import HELSINKI
from shared.retention import load_classes
from shared.retention.access_log import ACCESS_LOG, access_log_due, purge_access_log
from shared.settings import Settings

NOW = datetime(2031, 6, 15, 9, 0, tzinfo=HELSINKI)  # business time: the job's day
CLASS = load_classes()[ACCESS_LOG]  # 5 years from the row written: cutoff 15 June 2026


def read(at: datetime, actor: str) -> AccessRequest:
    return AccessRequest(
        at=at,
        actor=actor,
        role="caseworker",
        organisation="municipality:320",
        what="GET /caseload",
        purpose="review",
        source="10.0.0.1",
        outcome=200,
    )


def counts(log: AccessLog) -> tuple[int, int]:
    with log.engine.connect() as conn:
        reads = conn.execute(sa.select(sa.func.count()).select_from(log.table)).scalar_one()
        listed = conn.execute(sa.select(sa.func.count()).select_from(log.clients)).scalar_one()
    return reads, listed


def refuses_every_other_change(log: AccessLog) -> None:
    for statement in (
        log.table.update().values(outcome=404),
        log.table.delete(),
        log.table.delete().where(log.table.c.actor == "kept.reader"),
        log.clients.update().values(client_id="someone"),
        log.clients.delete(),
    ):
        with pytest.raises(sa.exc.DBAPIError, match="append-only"), log.engine.begin() as conn:
            conn.execute(statement)


def purges_what_ran_out(log: AccessLog) -> None:
    clients = [str(uuid4()), str(uuid4())]
    last_kept_day = datetime(2026, 6, 15, 0, 0, tzinfo=HELSINKI)  # the cutoff day's first moment
    log.record(read(last_kept_day - timedelta(days=400), "old.reader"), clients)  # several
    log.record(read(last_kept_day - timedelta(seconds=1), "old.reader"), clients[:1])  # one
    log.record(read(last_kept_day, "kept.reader"), clients)
    log.record(read(NOW.astimezone(UTC), "new.reader"), [])
    assert counts(log) == (4, 4)
    refuses_every_other_change(log)

    due = access_log_due(log, CLASS, NOW)
    assert (str(due.written_before), due.reads) == ("2026-06-15", 2)
    assert counts(log) == (4, 4)  # a dry run changes nothing

    went = purge_access_log(log, CLASS, NOW)
    assert went.reads == 2
    # What ran out went, from both tables; the rest stays, and the purge is itself logged.
    assert counts(log) == (3, 2)
    entries = log.query()
    assert [e.actor for e in entries] == ["kept.reader", "kept.reader", "new.reader", PURGER]
    purge = entries[-1]
    assert purge.what.startswith("DELETE access_log before 2026-06-14T21:00:00+00:00: 2 reads")
    assert purge.purpose is not None and "retention.access_log" in purge.purpose
    # The purge opened no door: every other change is refused as before.
    refuses_every_other_change(log)
    # Nothing more to go: nothing is written, not even a row of the log.
    assert purge_access_log(log, CLASS, NOW).reads == 0
    assert counts(log) == (3, 2)


def test_the_access_log_runs_out_only_through_the_purge_sqlite(tmp_path: Path) -> None:
    log = AccessLog.for_settings(Settings(data_dir=tmp_path, database_url=None))
    try:
        purges_what_ran_out(log)
        with log.engine.connect() as conn:  # the purge's cutoff is gone with its transaction
            assert conn.execute(sa.text("SELECT count(*) FROM access_log_purge")).scalar() == 0
        # What went is gone from the files too: not left in free pages or in a log beside.
        files = b"".join(f.read_bytes() for f in tmp_path.glob("access-log.sqlite*"))
        assert b"old.reader" not in files and b"kept.reader" in files
    finally:
        log.close()


def test_a_log_made_before_its_retention_gets_the_purge_sqlite(tmp_path: Path) -> None:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'access-log.sqlite'}")
    with engine.begin() as conn:  # the tables and triggers as the version before made them
        conn.execute(
            sa.text(
                "CREATE TABLE access_log (id INTEGER NOT NULL, at DATETIME NOT NULL,"
                " actor VARCHAR(200), role VARCHAR(50), organisation VARCHAR(200),"
                " client_id VARCHAR(100), what VARCHAR(300) NOT NULL, purpose VARCHAR(500),"
                " source VARCHAR(100), outcome INTEGER NOT NULL, PRIMARY KEY (id))"
            )
        )
        conn.execute(
            sa.text(
                "CREATE TABLE access_log_clients (entry_id INTEGER NOT NULL,"
                " client_id VARCHAR(100) NOT NULL, PRIMARY KEY (entry_id, client_id))"
            )
        )
        for table in ("access_log", "access_log_clients"):
            for verb in ("UPDATE", "DELETE"):
                conn.execute(
                    sa.text(
                        f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
                        "BEGIN SELECT RAISE(ABORT, 'the access log is append-only'); END"
                    )
                )
    engine.dispose()
    log = AccessLog.for_settings(Settings(data_dir=tmp_path, database_url=None))
    try:
        purges_what_ran_out(log)
    finally:
        log.close()


@pytest.mark.distributed
def test_the_access_log_runs_out_only_through_the_purge_postgres(pg_database: str) -> None:
    settings = Settings(database_url=pg_database, schema_prefix=f"t{uuid4().hex[:10]}_")
    log = AccessLog.for_settings(settings)
    try:
        purges_what_ran_out(log)
        # The setting that lets the purge through is the transaction's own: gone after it.
        with log.engine.begin() as conn:
            found = conn.execute(
                sa.text("SELECT current_setting('kotoutus.access_log_purge', true)")
            )
            assert found.scalar() in (None, "", "off")
    finally:
        with log.engine.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{settings.schema_for("access")}" CASCADE'))
        log.close()
