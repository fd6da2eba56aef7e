"""The pending deadlines of a service's ``DeadlineWatch``, kept in the service's own store (a
table beside its events, in the same PostgreSQL schema or SQLite file), with the position in
the log up to which they were read.

Kept there, not in the process: a process's memory does not grow with the number of clients,
and a start does not read the whole log again, only what was stored since the position. The
deadlines read from one page of the log and the new position are written in one transaction,
and only if the position is still the one they were read from (two processes of a service
watching at once: the second's page is refused and read again), so the table is always what
the log says up to its position."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol
from uuid import UUID

from eventsourcing.persistence import IntegrityError, ProgrammingError
from eventsourcing.postgres import PostgresDatastore
from eventsourcing.sqlite import SQLiteDatastore
from psycopg import sql

from shared.batching import retried

TABLE = "deadline_timers"
POSITIONS = "watch_positions"
NAME = "deadlines"  # this watch's row in the positions table


@dataclass(frozen=True)
class Pending:
    due: date
    recorded_at: datetime  # record time of the event that set the deadline


Key = tuple[UUID, str]  # (aggregate id, the timer's kind)
Changes = Mapping[Key, Pending | None]  # set (or set again), or cleared (None)


class PendingDeadlines(Protocol):
    def position(self) -> int:
        """How far the log has been read into the table."""
        ...

    def advance(self, read_from: int, to: int, changes: Changes) -> bool:
        """Writes ``changes`` and the position ``to`` in one transaction, if the position is
        still ``read_from``; whether it was."""
        ...

    def passed(self, before: date) -> list[tuple[Key, Pending]]:
        """The deadlines due before ``before``, earliest first."""
        ...

    def remove(self, key: Key, pending: Pending) -> None:
        """Removes the deadline if it is still ``pending`` (not set again meanwhile)."""
        ...


def pending_deadlines(datastore: object) -> PendingDeadlines:
    """The table in the store ``datastore`` serves (made if missing)."""
    if isinstance(datastore, PostgresDatastore):
        return _Postgres(datastore)
    if isinstance(datastore, SQLiteDatastore):
        return _SQLite(datastore)
    raise TypeError(f"no deadline table for {type(datastore).__name__}")


class _Postgres:
    def __init__(self, datastore: PostgresDatastore) -> None:
        self.datastore = datastore
        schema = sql.Identifier(datastore.schema or "public")
        self.table = sql.SQL("{}.{}").format(schema, sql.Identifier(TABLE))
        self.positions = sql.SQL("{}.{}").format(schema, sql.Identifier(POSITIONS))
        try:
            self._create(sql.Identifier(f"{TABLE}_due"))
        except (IntegrityError, ProgrammingError):  # the library's wrappers of psycopg's
            # Two processes of the service starting at once: IF NOT EXISTS does not keep
            # PostgreSQL's catalogue from refusing the second; the first made them (a real
            # fault fails again).
            self._create(sql.Identifier(f"{TABLE}_due"))

    @retried
    def _create(self, index: sql.Identifier) -> None:
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(
                sql.SQL(
                    "CREATE TABLE IF NOT EXISTS {} (aggregate_id uuid NOT NULL, kind text NOT NULL,"
                    " due date NOT NULL, recorded_at timestamptz NOT NULL,"
                    " PRIMARY KEY (aggregate_id, kind))"
                ).format(self.table)
            )
            curs.execute(
                sql.SQL("CREATE INDEX IF NOT EXISTS {} ON {} (due)").format(index, self.table)
            )
            curs.execute(
                sql.SQL(
                    "CREATE TABLE IF NOT EXISTS {}"
                    " (name text PRIMARY KEY, position bigint NOT NULL)"
                ).format(self.positions)
            )
            curs.execute(
                sql.SQL("INSERT INTO {} VALUES (%s, 0) ON CONFLICT (name) DO NOTHING").format(
                    self.positions
                ),
                (NAME,),
            )

    @retried
    def position(self) -> int:
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(
                sql.SQL("SELECT position FROM {} WHERE name = %s").format(self.positions), (NAME,)
            )
            row = curs.fetchone()
        return int(row["position"]) if row else 0

    @retried
    def advance(self, read_from: int, to: int, changes: Changes) -> bool:
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(
                sql.SQL("UPDATE {} SET position = %s WHERE name = %s AND position = %s").format(
                    self.positions
                ),
                (to, NAME, read_from),
            )
            if curs.rowcount != 1:
                return False  # nothing written: the transaction ends with nothing else done
            for (aggregate_id, kind), pending in sorted(changes.items()):
                if pending is None:
                    curs.execute(
                        sql.SQL("DELETE FROM {} WHERE aggregate_id = %s AND kind = %s").format(
                            self.table
                        ),
                        (aggregate_id, kind),
                    )
                else:
                    curs.execute(
                        sql.SQL(
                            "INSERT INTO {} VALUES (%s, %s, %s, %s)"
                            " ON CONFLICT (aggregate_id, kind) DO UPDATE"
                            " SET due = EXCLUDED.due, recorded_at = EXCLUDED.recorded_at"
                        ).format(self.table),
                        (aggregate_id, kind, pending.due, pending.recorded_at),
                    )
        return True

    @retried
    def passed(self, before: date) -> list[tuple[Key, Pending]]:
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(
                sql.SQL(
                    "SELECT aggregate_id, kind, due, recorded_at FROM {} WHERE due < %s"
                    " ORDER BY due, aggregate_id, kind"
                ).format(self.table),
                (before,),
            )
            rows = curs.fetchall()
        return [
            ((UUID(str(r["aggregate_id"])), r["kind"]), Pending(r["due"], r["recorded_at"]))
            for r in rows
        ]

    @retried
    def remove(self, key: Key, pending: Pending) -> None:
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(
                sql.SQL(
                    "DELETE FROM {} WHERE aggregate_id = %s AND kind = %s AND due = %s"
                    " AND recorded_at = %s"
                ).format(self.table),
                (*key, pending.due, pending.recorded_at),
            )


class _SQLite:
    # Dates and times as ISO text (a date's text sorts as the date does); ids as the events
    # table keeps them, 32 hex digits.

    def __init__(self, datastore: SQLiteDatastore) -> None:
        self.datastore = datastore
        self._create()

    @retried
    def _create(self) -> None:
        with self.datastore.transaction(commit=True) as c:
            c.execute(
                f"CREATE TABLE IF NOT EXISTS {TABLE} (aggregate_id TEXT NOT NULL,"
                " kind TEXT NOT NULL, due TEXT NOT NULL, recorded_at TEXT NOT NULL,"
                " PRIMARY KEY (aggregate_id, kind))"
            )
            c.execute(f"CREATE INDEX IF NOT EXISTS {TABLE}_due ON {TABLE} (due)")
            c.execute(
                f"CREATE TABLE IF NOT EXISTS {POSITIONS} (name TEXT PRIMARY KEY,"
                " position INTEGER NOT NULL)"
            )
            c.execute(
                f"INSERT INTO {POSITIONS} VALUES (?, 0) ON CONFLICT (name) DO NOTHING", (NAME,)
            )

    @retried
    def position(self) -> int:
        with self.datastore.transaction(commit=False) as c:
            c.execute(f"SELECT position FROM {POSITIONS} WHERE name = ?", (NAME,))
            row = c.fetchone()
        return int(row[0]) if row else 0

    @retried
    def advance(self, read_from: int, to: int, changes: Changes) -> bool:
        with self.datastore.transaction(commit=True) as c:
            c.execute(
                f"UPDATE {POSITIONS} SET position = ? WHERE name = ? AND position = ?",
                (to, NAME, read_from),
            )
            if c.sqlite_cursor.rowcount != 1:
                return False
            c.executemany(
                f"DELETE FROM {TABLE} WHERE aggregate_id = ? AND kind = ?",
                [(a.hex, kind) for (a, kind), pending in changes.items() if pending is None],
            )
            c.executemany(
                f"INSERT INTO {TABLE} VALUES (?, ?, ?, ?) ON CONFLICT (aggregate_id, kind)"
                " DO UPDATE SET due = excluded.due, recorded_at = excluded.recorded_at",
                [
                    (a.hex, kind, p.due.isoformat(), p.recorded_at.isoformat())
                    for (a, kind), p in changes.items()
                    if p is not None
                ],
            )
        return True

    @retried
    def passed(self, before: date) -> list[tuple[Key, Pending]]:
        with self.datastore.transaction(commit=False) as c:
            c.execute(
                f"SELECT aggregate_id, kind, due, recorded_at FROM {TABLE} WHERE due < ?"
                " ORDER BY due, aggregate_id, kind",
                (before.isoformat(),),
            )
            rows: list[Any] = c.fetchall()
        return [
            (
                (UUID(r[0]), str(r[1])),
                Pending(date.fromisoformat(r[2]), datetime.fromisoformat(r[3])),
            )
            for r in rows
        ]

    @retried
    def remove(self, key: Key, pending: Pending) -> None:
        with self.datastore.transaction(commit=True) as c:
            c.execute(
                f"DELETE FROM {TABLE} WHERE aggregate_id = ? AND kind = ? AND due = ?"
                " AND recorded_at = ?",
                (key[0].hex, key[1], pending.due.isoformat(), pending.recorded_at.isoformat()),
            )
