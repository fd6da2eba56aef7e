"""The access log: who read which client's data, when, from where, why, and with what outcome.

Authorities must be able to tell afterwards who used their records (Information Management Act
906/2019 §17). A read is logged once, as one row of ``access_log`` (who, role, organisation,
what, when, from where, why, outcome), with the clients it disclosed: a read of one client
names it in the row's ``client_id`` — as every row written before reads were logged whole
does —, a read of several (a caseload page) lists them in ``access_log_clients``, one row each
under the read's id, and a read of none names none. Asked about a client, the log answers with
one entry per read that disclosed it, whichever way the read was written.

Rows are only ever added: the database itself refuses UPDATE and DELETE on both tables, so a
bug or a hand-typed statement cannot rewrite the log. Embedded mode keeps it in a SQLite file;
distributed mode in a PostgreSQL schema that every service process writes to.

The log is personal data too, with a retention class of its own (``access_log`` in
``shared.retention``): ``purge`` — the retention job's only way in — deletes the reads logged
before a day, and logs that deletion as a row of the log. The database lets a DELETE through
only inside such a purge: on PostgreSQL while the transaction-local setting
``kotoutus.access_log_purge`` is on, on SQLite (which has no such settings) for the rows older
than the cutoff that the purge's transaction wrote into ``access_log_purge``, a table that is
empty outside it."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from itertools import groupby
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from pydantic import AwareDatetime, BaseModel, Field
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Engine

from shared.settings import Settings
from shared.sqlite_cache import limit_cache

_APPEND_ONLY = "the access log is append-only"
# Set (transaction-local) by ``purge`` on PostgreSQL; the only way a DELETE passes.
PURGE_SETTING = "kotoutus.access_log_purge"
PURGER = "system:retention"  # the actor of the row that logs a purge
# Serialises the first creation of the tables by service processes starting at once.
_DDL_LOCK = 906_2019_17


class AccessRequest(BaseModel):
    """One read, less the clients it disclosed."""

    at: AwareDatetime
    actor: str | None = Field(description="Token subject (null: no valid token)")
    role: str | None
    organisation: str | None
    what: str = Field(examples=["GET /clients/{client_id}/assessment"])
    purpose: str | None = Field(description="Why, as the staff system said (X-Purpose)")
    source: str | None = Field(description="The caller's address")
    outcome: int = Field(description="HTTP status, refusals included")


class AccessEntry(BaseModel):
    at: AwareDatetime
    actor: str | None = Field(description="Token subject (null: no valid token)")
    role: str | None
    organisation: str | None
    client_id: str | None = Field(description="null: a read across clients")
    what: str = Field(examples=["GET /clients/{client_id}/assessment"])
    purpose: str | None = Field(description="Why, as the staff system said (X-Purpose)")
    source: str | None = Field(description="The caller's address")
    outcome: int = Field(description="HTTP status, refusals included")


def _tables(metadata: sa.MetaData, schema: str | None) -> tuple[sa.Table, sa.Table]:
    reads = sa.Table(
        "access_log",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False, index=True),
        sa.Column("actor", sa.String(200), index=True),
        sa.Column("role", sa.String(50)),
        sa.Column("organisation", sa.String(200)),
        # The client a read of one disclosed (null: none, or several, listed below).
        sa.Column("client_id", sa.String(100), index=True),
        sa.Column("what", sa.String(300), nullable=False),
        sa.Column("purpose", sa.String(500)),
        sa.Column("source", sa.String(100)),
        sa.Column("outcome", sa.Integer, nullable=False),
        schema=schema,
    )
    clients = sa.Table(
        "access_log_clients",
        metadata,
        sa.Column("entry_id", sa.Integer, nullable=False),  # access_log.id
        sa.Column("client_id", sa.String(100), nullable=False),
        sa.PrimaryKeyConstraint("entry_id", "client_id"),
        sa.Index("access_log_clients_client", "client_id", "entry_id"),
        schema=schema,
        sqlite_with_rowid=False,
    )
    return reads, clients


def _purge_table(metadata: sa.MetaData) -> sa.Table:
    """SQLite: the cutoff of the purge under way, written and removed by its transaction."""
    return sa.Table("access_log_purge", metadata, sa.Column("before", sa.DateTime, nullable=False))


def _utc(moment: datetime) -> datetime:
    # SQLite keeps no time zone: every stored and compared instant is UTC.
    return moment.astimezone(UTC)


class AccessLog:
    def __init__(self, engine: Engine, schema: str | None = None) -> None:
        self.engine = engine
        self.schema = schema
        metadata = sa.MetaData()
        self.table, self.clients = _tables(metadata, schema)
        self._purge = _purge_table(metadata)
        self._create()

    @classmethod
    def for_settings(cls, settings: Settings) -> AccessLog:
        if settings.database_url:
            url = sa.engine.make_url(settings.database_url).set(drivername="postgresql+psycopg")
            engine = sa.create_engine(url, pool_size=4, max_overflow=8, pool_pre_ping=True)
            return cls(engine, settings.schema_for("access"))
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(
            f"sqlite:///{settings.data_dir / 'access-log.sqlite'}",
            connect_args={"check_same_thread": False, "timeout": 30},
        )
        sa.event.listen(engine, "connect", lambda connection, _: _sqlite_pragmas(connection))
        return cls(engine)

    def _create(self) -> None:
        """Creates what is missing: a log made before reads were logged whole (one row per
        client) gets the clients' table beside it, and its rows read as they did."""
        with self.engine.begin() as conn:
            if self.engine.dialect.name == "postgresql":
                assert self.schema
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _DDL_LOCK})
                conn.execute(sa.schema.CreateSchema(self.schema, if_not_exists=True))
                for table in (self.table, self.clients):
                    table.create(conn, checkfirst=True)
                conn.execute(
                    sa.text(
                        f'CREATE OR REPLACE FUNCTION "{self.schema}".access_log_append_only() '
                        "RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                        # Only the retention job's purge deletes (never UPDATE or TRUNCATE).
                        "IF TG_OP = 'DELETE' AND "
                        f"current_setting('{PURGE_SETTING}', true) = 'on' THEN RETURN NULL; "
                        f"END IF; RAISE EXCEPTION '{_APPEND_ONLY}'; END $$"
                    )
                )
                for table in (self.table, self.clients):
                    conn.execute(
                        sa.text(
                            f"CREATE OR REPLACE TRIGGER {table.name}_append_only "
                            "BEFORE UPDATE OR DELETE OR TRUNCATE "
                            f'ON "{self.schema}".{table.name} FOR EACH STATEMENT '
                            f'EXECUTE FUNCTION "{self.schema}".access_log_append_only()'
                        )
                    )
            else:
                self._purge.create(conn, checkfirst=True)
                # A row goes only inside a purge, and only if older than its cutoff (the
                # clients of a read by their read's time); made again on every start, so that
                # a log made before its own retention gets the purge's way in.
                purged = {
                    self.table.name: "OLD.at < p.before",
                    self.clients.name: (
                        "EXISTS (SELECT 1 FROM access_log a"
                        " WHERE a.id = OLD.entry_id AND a.at < p.before)"
                    ),
                }
                for table in (self.table, self.clients):
                    table.create(conn, checkfirst=True)
                    conn.execute(
                        sa.text(
                            f"CREATE TRIGGER IF NOT EXISTS {table.name}_no_update "
                            f"BEFORE UPDATE ON {table.name} "
                            f"BEGIN SELECT RAISE(ABORT, '{_APPEND_ONLY}'); END"
                        )
                    )
                    conn.execute(sa.text(f"DROP TRIGGER IF EXISTS {table.name}_no_delete"))
                    conn.execute(
                        sa.text(
                            f"CREATE TRIGGER {table.name}_no_delete "
                            f"BEFORE DELETE ON {table.name} WHEN NOT EXISTS (SELECT 1 FROM "
                            f"access_log_purge p WHERE {purged[table.name]}) "
                            f"BEGIN SELECT RAISE(ABORT, '{_APPEND_ONLY}'); END"
                        )
                    )

    def record(self, request: AccessRequest, client_ids: Iterable[str | None]) -> None:
        """Logs one read and the clients it disclosed, in one transaction: whole or not at
        all."""
        disclosed = list(dict.fromkeys(c for c in client_ids if c is not None))
        row = {
            **request.model_dump(),
            "at": _utc(request.at),
            "client_id": disclosed[0] if len(disclosed) == 1 else None,
        }
        if len(disclosed) <= 1:
            with self.engine.begin() as conn:
                conn.execute(self.table.insert(), row)
        elif self.engine.dialect.name == "postgresql":
            # One statement: the read and its clients, with no transaction to open and close.
            read = self.table.insert().values(row).returning(self.table.c.id).cte("read")
            listed = sa.func.unnest(sa.literal(disclosed, ARRAY(sa.String)))  # a row each
            statement = self.clients.insert().from_select(
                ["entry_id", "client_id"], sa.select(read.c.id, listed)
            )
            with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(statement)
        else:
            with self.engine.begin() as conn:
                entry_id = conn.execute(
                    self.table.insert().returning(self.table.c.id), row
                ).scalar()
                conn.execute(
                    self.clients.insert(),
                    [{"entry_id": entry_id, "client_id": client_id} for client_id in disclosed],
                )

    def append(self, *entries: AccessEntry) -> None:
        """Logs the entries, those of one read (alike but for the client) as one read."""
        for request, same in groupby(entries, key=_request_of):
            self.record(request, [entry.client_id for entry in same])

    def query(
        self,
        *,
        client_id: UUID | None = None,
        actor: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 1000,
    ) -> list[AccessEntry]:
        """Oldest first, one entry per client a read disclosed (one with none for a read of
        none)."""
        t, c = self.table, self.clients
        fields = [t.c[name] for name in AccessRequest.model_fields]
        alone = sa.select(t.c.id, *fields, t.c.client_id.label("client"))
        listed = sa.select(t.c.id, *fields, c.c.client_id.label("client")).join(
            c, c.c.entry_id == t.c.id
        )
        if client_id is None:
            # A read that lists its clients is given by them; one of none, alone.
            alone = alone.where(
                t.c.client_id.is_not(None) | ~sa.exists().where(c.c.entry_id == t.c.id)
            )
        else:
            alone = alone.where(t.c.client_id == str(client_id))
            listed = listed.where(c.c.client_id == str(client_id))
        conditions: list[Any] = []
        if actor is not None:
            conditions.append(t.c.actor == actor)
        if since is not None:
            conditions.append(t.c.at >= _utc(since))
        if until is not None:
            conditions.append(t.c.at < _utc(until))
        both = sa.union_all(alone.where(*conditions), listed.where(*conditions)).subquery()
        statement = sa.select(both).order_by(both.c.id, both.c.client).limit(limit)
        with self.engine.connect() as conn:
            rows = conn.execute(statement).mappings().all()
        return [
            AccessEntry.model_validate(
                {
                    **row,
                    "client_id": row["client"],
                    "at": row["at"].replace(tzinfo=row["at"].tzinfo or UTC),
                }
            )
            for row in rows
        ]

    def count_before(self, before: datetime) -> int:
        """How many reads were logged before ``before`` (what a purge would delete)."""
        t = self.table
        statement = sa.select(sa.func.count()).select_from(t).where(t.c.at < _utc(before))
        with self.engine.connect() as conn:
            return int(conn.execute(statement).scalar_one())

    def purge(self, *, before: datetime, rule: str, now: datetime) -> int:
        """Deletes the reads logged before ``before`` and their clients — the retention job's
        only way to delete — and logs the deletion as a read of the log, in one transaction.
        Returns how many reads went (none: nothing is written, not even the log's row).
        On SQLite the write-ahead log is emptied after it, even when nothing went (so a run
        after one whose emptying failed completes it)."""
        gone = self._delete_before(before=before, rule=rule, now=now)
        if self.engine.dialect.name == "sqlite":
            self._forget_old_pages()
        return gone

    def _delete_before(self, *, before: datetime, rule: str, now: datetime) -> int:
        t, c = self.table, self.clients
        cutoff = _utc(before)
        old = sa.select(t.c.id).where(t.c.at < cutoff)
        with self.engine.begin() as conn:
            if not conn.execute(sa.select(old.exists())).scalar():
                return 0
            if self.engine.dialect.name == "postgresql":
                conn.execute(
                    sa.text("SELECT set_config(:name, 'on', true)"), {"name": PURGE_SETTING}
                )
            else:
                conn.execute(self._purge.insert(), {"before": cutoff})
            conn.execute(c.delete().where(c.c.entry_id.in_(old)))
            gone = conn.execute(t.delete().where(t.c.at < cutoff)).rowcount
            if self.engine.dialect.name == "postgresql":
                conn.execute(
                    sa.text("SELECT set_config(:name, 'off', true)"), {"name": PURGE_SETTING}
                )
            else:
                conn.execute(self._purge.delete())
            conn.execute(
                t.insert(),
                {
                    "at": _utc(now),
                    "actor": PURGER,
                    "role": None,
                    "organisation": None,
                    "client_id": None,
                    "what": f"DELETE access_log before {cutoff.isoformat()}: {gone} reads",
                    "purpose": rule[:500],
                    "source": None,
                    "outcome": 200,
                },
            )
        return int(gone)

    def _forget_old_pages(self) -> None:
        """SQLite's write-ahead log still holds the purged pages as they were: fold it into the
        file and empty it (outside any transaction, as a checkpoint must be)."""
        raw = self.engine.raw_connection()
        try:
            busy, _, _ = raw.cursor().execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        finally:
            raw.close()
        if busy:  # readers held it past the timeout: the purge is done, its pages not yet gone
            raise RuntimeError("the access log's write-ahead log could not be emptied")

    def close(self) -> None:
        self.engine.dispose()


def _sqlite_pragmas(connection: Any) -> None:
    # Every read logged is a commit on the read's path: to a write-ahead log it syncs once,
    # where a rollback journal is made, synced and deleted. What a purge deletes is
    # overwritten in the file (and the log emptied after it: ``_forget_old_pages``).
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA secure_delete=ON")
    limit_cache(connection)


def _request_of(entry: AccessEntry) -> AccessRequest:
    return AccessRequest.model_validate(entry.model_dump(exclude={"client_id"}))
