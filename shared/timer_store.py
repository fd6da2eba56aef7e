"""Durable timers kept in a service's own store (a table beside its events, in the same
PostgreSQL schema or SQLite file), each kind of timer with the position in the log up to which
it was read: the deadlines of ``shared.timers.DeadlineWatch``, the "send at" timers of the
notifications' dispatcher.

Kept there, not in the process: a process's memory does not grow with the number of clients,
and a start does not read the whole log again, only what was stored since the position. The
timers read from one page of the log and the new position are written in one transaction,
and only if the position is still the one they were read from (two processes of a service
reading at once: the second's page is refused and read again), so the table is always what
the log says up to its position."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, Protocol, TypeVar
from uuid import UUID

from eventsourcing.persistence import Notification
from eventsourcing.postgres import PostgresDatastore
from eventsourcing.sqlite import SQLiteDatastore
from psycopg import sql

from shared.batching import retried
from shared.log_position import PostgresPositioned, SQLitePositioned

TABLE = "timers"


@dataclass(frozen=True)
class Pending:
    due: datetime
    recorded_at: datetime | None = None  # record time of the event that set it, if it matters


Key = tuple[UUID, str]  # (aggregate id, what of it the timer is for)
Changes = Mapping[Key, Pending | None]  # set (or set again), or cleared (None)


class TimerTable(Protocol):
    def position(self) -> int:
        """How far the log has been read into the table."""
        ...

    def advance(self, read_from: int, to: int, changes: Changes) -> bool:
        """Writes ``changes`` and the position ``to`` in one transaction, if the position is
        still ``read_from``; whether it was."""
        ...

    def due(self, by: datetime, *, inclusive: bool) -> list[tuple[Key, Pending]]:
        """The timers due before ``by`` (or at it, ``inclusive``), earliest first."""
        ...

    def remove(self, key: Key, pending: Pending) -> None:
        """Removes the timer if it is still ``pending`` (not set again meanwhile)."""
        ...


C = TypeVar("C")
C_contra = TypeVar("C_contra", contravariant=True)


class Positioned(Protocol[C_contra]):
    """A table kept from the log up to its position."""

    def position(self) -> int: ...

    def advance(self, read_from: int, to: int, changes: C_contra) -> bool: ...


class Follower(Generic[C]):
    """Reads into ``table`` what ``recorder`` stored since the table's position, a page at a
    time; ``changes_of`` says what a page does to the table (nothing, if false).

    A page that changes no timer (most of a service's events) is not written: the position
    read to is kept here, and stored with the next page that changes something. A process
    started again reads such pages once more, which changes nothing. So following costs a
    write only when a timer is set or cleared."""

    def __init__(
        self,
        table: Positioned[C],
        recorder: Any,
        changes_of: Callable[[Sequence[Notification]], C],
    ) -> None:
        self.table = table
        self.recorder = recorder
        self.changes_of = changes_of
        self._stored: int | None = None  # the table's position, as last read or written
        self._read_to = 0  # read this far; pages after ``_stored`` changed nothing

    def follow(self) -> None:
        if self._stored is None:
            self._stored = self._read_to = self.table.position()
        while notifications := self.recorder.select_notifications(self._read_to + 1, 1000):
            end = notifications[-1].id
            changes = self.changes_of(notifications)
            if not changes:
                self._read_to = end
            elif self.table.advance(self._stored, end, changes):
                self._stored = self._read_to = end
            else:  # another process of the service read ahead: go on from where it got to
                self._stored = self._read_to = self.table.position()


def timer_table(recorder: object, timer: str, fingerprint: str) -> TimerTable:
    """The timers named ``timer`` in the store of ``recorder`` (tables made if missing).

    ``fingerprint`` names how the log is read into them (which events set and clear what):
    read by another reading (a new version, other settings), the timers are dropped and the
    log is read again from its start, as every start did when the timers were kept in the
    process."""
    datastore = getattr(recorder, "datastore", None)
    if isinstance(datastore, PostgresDatastore):
        return _Postgres(datastore, timer, fingerprint)
    if isinstance(datastore, SQLiteDatastore):
        return _SQLite(datastore, timer, fingerprint)
    raise TypeError(f"no timer table for {type(datastore).__name__}")


class _Postgres(PostgresPositioned):
    def __init__(self, datastore: PostgresDatastore, timer: str, fingerprint: str) -> None:
        self.datastore = datastore  # ``qualified`` needs it, and the base makes the tables
        self.table = self.qualified(TABLE)
        super().__init__(datastore, timer, fingerprint)

    def _create_own(self, curs: Any) -> None:
        curs.execute(
            sql.SQL(
                "CREATE TABLE IF NOT EXISTS {} (timer text NOT NULL,"
                " aggregate_id uuid NOT NULL, key text NOT NULL,"
                " due timestamptz NOT NULL, recorded_at timestamptz,"
                " PRIMARY KEY (timer, aggregate_id, key))"
            ).format(self.table)
        )
        curs.execute(
            sql.SQL("CREATE INDEX IF NOT EXISTS {} ON {} (timer, due)").format(
                sql.Identifier(f"{TABLE}_due"), self.table
            )
        )

    def _drop_own(self, curs: Any) -> None:
        curs.execute(sql.SQL("DELETE FROM {} WHERE timer = %s").format(self.table), (self.name,))

    @retried
    def advance(self, read_from: int, to: int, changes: Changes) -> bool:
        with self.datastore.transaction(commit=True) as curs:
            if not self._take(curs, read_from, to):
                return False  # nothing written: the transaction ends with nothing else done
            # One statement for many rows (psycopg pipelines them), in the keys' order.
            ordered = sorted(changes.items())
            curs.executemany(
                sql.SQL(
                    "DELETE FROM {} WHERE timer = %s AND aggregate_id = %s AND key = %s"
                ).format(self.table),
                [(self.name, a, key) for (a, key), pending in ordered if pending is None],
            )
            curs.executemany(
                sql.SQL(
                    "INSERT INTO {} VALUES (%s, %s, %s, %s, %s)"
                    " ON CONFLICT (timer, aggregate_id, key) DO UPDATE"
                    " SET due = EXCLUDED.due, recorded_at = EXCLUDED.recorded_at"
                ).format(self.table),
                [
                    (self.name, a, key, pending.due, pending.recorded_at)
                    for (a, key), pending in ordered
                    if pending is not None
                ],
            )
        return True

    @retried
    def due(self, by: datetime, *, inclusive: bool) -> list[tuple[Key, Pending]]:
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(
                sql.SQL(
                    "SELECT aggregate_id, key, due, recorded_at FROM {}"
                    " WHERE timer = %s AND due {} %s ORDER BY due, aggregate_id, key"
                ).format(self.table, sql.SQL("<=" if inclusive else "<")),
                (self.name, by),
            )
            rows = curs.fetchall()
        return [
            ((UUID(str(r["aggregate_id"])), r["key"]), Pending(r["due"], r["recorded_at"]))
            for r in rows
        ]

    @retried
    def remove(self, key: Key, pending: Pending) -> None:
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(
                sql.SQL(
                    "DELETE FROM {} WHERE timer = %s AND aggregate_id = %s AND key = %s"
                    " AND due = %s AND recorded_at IS NOT DISTINCT FROM %s"
                ).format(self.table),
                (self.name, *key, pending.due, pending.recorded_at),
            )


def _text(moment: datetime | None) -> str | None:
    # UTC, always with microseconds: the texts sort as the moments do.
    return None if moment is None else moment.astimezone(UTC).isoformat(timespec="microseconds")


def _moment(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


class _SQLite(SQLitePositioned):
    # Moments as UTC text (``_text``); ids as the events table keeps them, 32 hex digits.

    def _create_own(self, c: Any) -> None:
        c.execute(
            f"CREATE TABLE IF NOT EXISTS {TABLE} (timer TEXT NOT NULL,"
            " aggregate_id TEXT NOT NULL, key TEXT NOT NULL, due TEXT NOT NULL,"
            " recorded_at TEXT, PRIMARY KEY (timer, aggregate_id, key))"
        )
        c.execute(f"CREATE INDEX IF NOT EXISTS {TABLE}_due ON {TABLE} (timer, due)")

    def _drop_own(self, c: Any) -> None:
        c.execute(f"DELETE FROM {TABLE} WHERE timer = ?", (self.name,))

    @retried
    def advance(self, read_from: int, to: int, changes: Changes) -> bool:
        with self.datastore.transaction(commit=True) as c:
            if not self._take(c, read_from, to):
                return False
            c.executemany(
                f"DELETE FROM {TABLE} WHERE timer = ? AND aggregate_id = ? AND key = ?",
                [(self.name, a.hex, key) for (a, key), p in changes.items() if p is None],
            )
            c.executemany(
                f"INSERT INTO {TABLE} VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT (timer, aggregate_id, key) DO UPDATE"
                " SET due = excluded.due, recorded_at = excluded.recorded_at",
                [
                    (self.name, a.hex, key, _text(p.due), _text(p.recorded_at))
                    for (a, key), p in changes.items()
                    if p is not None
                ],
            )
        return True

    @retried
    def due(self, by: datetime, *, inclusive: bool) -> list[tuple[Key, Pending]]:
        with self.datastore.transaction(commit=False) as c:
            c.execute(
                f"SELECT aggregate_id, key, due, recorded_at FROM {TABLE}"
                f" WHERE timer = ? AND due {'<=' if inclusive else '<'} ?"
                " ORDER BY due, aggregate_id, key",
                (self.name, _text(by)),
            )
            rows: list[Any] = c.fetchall()
        return [
            ((UUID(r[0]), str(r[1])), Pending(datetime.fromisoformat(r[2]), _moment(r[3])))
            for r in rows
        ]

    @retried
    def remove(self, key: Key, pending: Pending) -> None:
        with self.datastore.transaction(commit=True) as c:
            c.execute(
                f"DELETE FROM {TABLE} WHERE timer = ? AND aggregate_id = ? AND key = ?"
                " AND due = ? AND recorded_at IS ?",
                (self.name, key[0].hex, key[1], _text(pending.due), _text(pending.recorded_at)),
            )
