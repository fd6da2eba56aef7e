"""Which client an identifier names, written by the same transaction as the client's events.

A lookup row maps a keyed digest of an identifier (an HMAC under a secret derived from the
master key, see ``shared.identity``) to a client. The rows live in intake's event store — a
table beside the events in the same PostgreSQL schema or SQLite file — and every change to
them travels with the events it belongs to: ``save(..., identifier_lookups=LookupChanges(...))``
writes both or neither. So a claim never points at a client that was not stored, and two
messages about the same new person at once meet at the primary key: the second transaction
fails as a whole with the library's ``IntegrityError``, and its command decides again on what
the first stored.

Erasure deletes the client's rows in the transaction that records the erasure.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import PostgresDatastore
from eventsourcing.sqlite import SQLiteCursor
from eventsourcing.utils import get_topic
from psycopg import Cursor, sql
from psycopg.rows import DictRow

from shared.batching import PostgresBatchRecorder, SQLiteBatchRecorder, retried

# The keyword of ``Application.save`` that carries the changes to the recorder.
LOOKUPS = "identifier_lookups"
TABLE = "identifier_lookup"


@dataclass(frozen=True)
class LookupChanges:
    """What one transaction does to the lookups: releases first, then claims."""

    claim: Mapping[str, UUID] = field(default_factory=dict)
    release: Mapping[str, UUID] = field(default_factory=dict)
    forget: UUID | None = None  # every lookup of this client (erasure)

    def __bool__(self) -> bool:
        return bool(self.claim or self.release or self.forget)


@dataclass(frozen=True)
class Lookup:
    digest: str
    client_id: UUID


class LookupRecorder:
    """The lookups' reads and maintenance; the writes ride on ``insert_events``."""

    def owner(self, digest: str) -> UUID | None:
        raise NotImplementedError

    def owners(self, digests: Sequence[str]) -> dict[str, UUID]:
        """The clients ``digests`` name (those naming no one are left out): one query."""
        raise NotImplementedError

    def orphans(self) -> list[Lookup]:
        """Lookups naming a client of whom no event is stored (made before claims and clients
        were written together, by a crash between the two)."""
        raise NotImplementedError

    def release_orphan(self, lookup: Lookup) -> bool:
        """Deletes ``lookup`` if its client still has no stored event; whether it did."""
        raise NotImplementedError

    def adopt(self, lookups: Iterable[Lookup]) -> None:
        """Takes over lookups kept elsewhere by an earlier version (see ClientKeys)."""
        raise NotImplementedError


def changes_in(kwargs: Mapping[str, Any]) -> LookupChanges | None:
    changes = kwargs.get(LOOKUPS)
    return changes if isinstance(changes, LookupChanges) and changes else None


class PostgresIntakeRecorder(PostgresBatchRecorder, LookupRecorder):
    def __init__(
        self,
        datastore: PostgresDatastore,
        *,
        events_table_name: str = "stored_events",
        tracking_table_name: str = "notification_tracking",
    ) -> None:
        super().__init__(
            datastore,
            events_table_name=events_table_name,
            tracking_table_name=tracking_table_name,
        )
        self._lookups = sql.SQL("{}.{}").format(
            sql.Identifier(datastore.schema or "public"), sql.Identifier(TABLE)
        )
        self._events = sql.SQL("{}.{}").format(
            sql.Identifier(datastore.schema or "public"), sql.Identifier(self.events_table_name)
        )
        self._create_lookups = [
            sql.SQL(
                "CREATE TABLE IF NOT EXISTS {} (digest text PRIMARY KEY, client_id uuid NOT NULL)"
            ).format(self._lookups),
            sql.SQL("CREATE INDEX IF NOT EXISTS {} ON {} (client_id)").format(
                sql.Identifier(f"{TABLE}_client_idx"), self._lookups
            ),
        ]

    def create_table(self) -> None:
        super().create_table()
        # A transaction of its own: in the library's, which locks the events table, a
        # process starting beside a running one would wait for the lookups that the running
        # one holds while it waits for the events table (a deadlock).
        with self.datastore.transaction(commit=True) as curs:
            for statement in self._create_lookups:
                curs.execute(statement)

    def _insert_events(
        self, curs: Cursor[DictRow], stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> None:
        changes = changes_in(kwargs)
        if changes:
            # In digest order, so two transactions claiming the same identifiers wait for each
            # other rather than deadlock.
            for digest, client_id in sorted(changes.release.items()):
                curs.execute(
                    sql.SQL("DELETE FROM {} WHERE digest = %s AND client_id = %s").format(
                        self._lookups
                    ),
                    (digest, client_id),
                )
            if changes.forget is not None:
                curs.execute(
                    sql.SQL("DELETE FROM {} WHERE client_id = %s").format(self._lookups),
                    (changes.forget,),
                )
            for digest, client_id in sorted(changes.claim.items()):
                # No ON CONFLICT: an identifier that names another client fails the whole
                # transaction, and the command decides again.
                curs.execute(
                    sql.SQL(
                        "INSERT INTO {} (digest, client_id) VALUES (%s, %s) RETURNING 1"
                    ).format(self._lookups),
                    (digest, client_id),
                )
                # Fetched at once: in the library's pipeline a clash read later may surface
                # as "pipeline aborted" (an OperationalError, retried as an outage) instead
                # of the unique violation that makes the command decide again.
                curs.fetchone()
        super()._insert_events(curs, stored_events, **kwargs)

    @retried
    def owner(self, digest: str) -> UUID | None:
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(
                sql.SQL("SELECT client_id FROM {} WHERE digest = %s").format(self._lookups),
                (digest,),
            )
            row = curs.fetchone()
        return UUID(str(row["client_id"])) if row else None

    @retried
    def owners(self, digests: Sequence[str]) -> dict[str, UUID]:
        if not digests:
            return {}
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(
                sql.SQL("SELECT digest, client_id FROM {} WHERE digest = ANY(%s)").format(
                    self._lookups
                ),
                (list(digests),),
            )
            return {str(r["digest"]): UUID(str(r["client_id"])) for r in curs.fetchall()}

    @retried
    def orphans(self) -> list[Lookup]:
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(
                sql.SQL(
                    "SELECT digest, client_id FROM {} l WHERE NOT EXISTS"
                    " (SELECT 1 FROM {} e WHERE e.originator_id = l.client_id)"
                ).format(self._lookups, self._events)
            )
            rows = curs.fetchall()
        return [Lookup(str(r["digest"]), UUID(str(r["client_id"]))) for r in rows]

    @retried
    def release_orphan(self, lookup: Lookup) -> bool:
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(
                sql.SQL(
                    "DELETE FROM {} l WHERE digest = %s AND client_id = %s AND NOT EXISTS"
                    " (SELECT 1 FROM {} e WHERE e.originator_id = l.client_id)"
                ).format(self._lookups, self._events),
                (lookup.digest, lookup.client_id),
            )
            return curs.rowcount == 1

    @retried
    def adopt(self, lookups: Iterable[Lookup]) -> None:
        with self.datastore.transaction(commit=True) as curs:
            for lookup in lookups:
                curs.execute(
                    sql.SQL(
                        "INSERT INTO {} (digest, client_id) VALUES (%s, %s)"
                        " ON CONFLICT (digest) DO NOTHING"
                    ).format(self._lookups),
                    (lookup.digest, lookup.client_id),
                )


class SQLiteIntakeRecorder(SQLiteBatchRecorder, LookupRecorder):
    # SQLite keeps the client id as the events table does: 32 hex digits.

    def construct_create_table_statements(self) -> list[str]:
        return [
            *super().construct_create_table_statements(),
            f"CREATE TABLE IF NOT EXISTS {TABLE} (digest TEXT PRIMARY KEY,"
            " client_id TEXT NOT NULL)",
            f"CREATE INDEX IF NOT EXISTS {TABLE}_client_idx ON {TABLE} (client_id)",
        ]

    def _insert_events(
        self, c: SQLiteCursor, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        changes = changes_in(kwargs)
        if changes:
            for digest, client_id in changes.release.items():
                c.execute(
                    f"DELETE FROM {TABLE} WHERE digest = ? AND client_id = ?",
                    (digest, client_id.hex),
                )
            if changes.forget is not None:
                c.execute(f"DELETE FROM {TABLE} WHERE client_id = ?", (changes.forget.hex,))
            for digest, client_id in changes.claim.items():
                c.execute(f"INSERT INTO {TABLE} VALUES (?, ?)", (digest, client_id.hex))
        return super()._insert_events(c, stored_events, **kwargs)

    @retried
    def owner(self, digest: str) -> UUID | None:
        with self.datastore.transaction(commit=False) as c:
            c.execute(f"SELECT client_id FROM {TABLE} WHERE digest = ?", (digest,))
            row = c.fetchone()
        return UUID(row[0]) if row else None

    @retried
    def owners(self, digests: Sequence[str]) -> dict[str, UUID]:
        found: dict[str, UUID] = {}
        with self.datastore.transaction(commit=False) as c:
            for start in range(0, len(digests), 500):  # within SQLite's parameter limit
                chunk = digests[start : start + 500]
                c.execute(
                    f"SELECT digest, client_id FROM {TABLE}"
                    f" WHERE digest IN ({', '.join('?' * len(chunk))})",
                    list(chunk),
                )
                found.update((str(r[0]), UUID(r[1])) for r in c.fetchall())
        return found

    @retried
    def orphans(self) -> list[Lookup]:
        with self.datastore.transaction(commit=False) as c:
            c.execute(
                f"SELECT digest, client_id FROM {TABLE} l WHERE NOT EXISTS"
                f" (SELECT 1 FROM {self.events_table_name} e"
                " WHERE e.originator_id = l.client_id)"
            )
            rows = c.fetchall()
        return [Lookup(r[0], UUID(r[1])) for r in rows]

    @retried
    def release_orphan(self, lookup: Lookup) -> bool:
        with self.datastore.transaction(commit=True) as c:
            c.execute(
                f"DELETE FROM {TABLE} WHERE digest = ? AND client_id = ? AND NOT EXISTS"
                f" (SELECT 1 FROM {self.events_table_name} e WHERE e.originator_id = ?)",
                (lookup.digest, lookup.client_id.hex, lookup.client_id.hex),
            )
            return bool(c.sqlite_cursor.rowcount == 1)

    @retried
    def adopt(self, lookups: Iterable[Lookup]) -> None:
        with self.datastore.transaction(commit=True) as c:
            for lookup in lookups:
                c.execute(
                    f"INSERT INTO {TABLE} VALUES (?, ?) ON CONFLICT (digest) DO NOTHING",
                    (lookup.digest, lookup.client_id.hex),
                )


def recorder_env(env: Mapping[str, str]) -> dict[str, str]:
    """``env`` with intake's recorder, the one that writes lookups with the events."""
    module = env.get("PERSISTENCE_MODULE", "")
    recorder: type = PostgresIntakeRecorder if module.endswith("postgres") else SQLiteIntakeRecorder
    return {**env, "PROCESS_RECORDER_TOPIC": get_topic(recorder)}
