"""The retention clocks of a service's clients, kept in the service's own store (a table beside
its events, in the same PostgreSQL schema or SQLite file), as ``shared.timer_store`` keeps
deadlines: one row per client (its clocks, holds and what went, as JSON), the position in the
log up to which they were read, and the expiries read whose destruction is still to be
confirmed. A page of the log and its position are written in one transaction, only from the
position it was read from; nothing per client stays in the process between rounds."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol
from uuid import UUID

from eventsourcing.postgres import PostgresDatastore
from eventsourcing.sqlite import SQLiteDatastore
from psycopg import sql

from shared.batching import retried
from shared.log_position import PostgresPositioned, SQLitePositioned

CLOCKS = "retention_clocks"
UNCONFIRMED = "retention_unconfirmed"
NAME = "retention"  # the clocks' row in the positions table
_PAGE = 1000  # clients per query when all are read


@dataclass(frozen=True)
class ClockChanges:
    clients: Mapping[UUID, dict[str, Any]] = field(default_factory=dict)  # whole states
    expired: Sequence[tuple[UUID, str]] = ()  # to be destroyed (again), then confirmed

    def __bool__(self) -> bool:
        return bool(self.clients or self.expired)


class ClockStore(Protocol):
    def position(self) -> int: ...

    def advance(self, read_from: int, to: int, changes: ClockChanges) -> bool:
        """Writes ``changes`` and the position ``to`` in one transaction, if the position is
        still ``read_from``; whether it was."""
        ...

    def load(self, client_id: UUID) -> dict[str, Any] | None: ...

    def states(self) -> Iterator[tuple[UUID, dict[str, Any]]]:
        """Every client's clocks, a page of clients at a time (none held all at once)."""
        ...

    def unconfirmed(self) -> list[tuple[UUID, str]]: ...

    def confirm(self, client_id: UUID, name: str) -> None: ...


def clock_store(recorder: object, fingerprint: str) -> ClockStore:
    """The clocks in the store of ``recorder``; ``fingerprint`` names how the log is read into
    them (the classes clocked, the readers' version): read by another reading (a town's new
    retention file, a new version), the clocks are dropped and the log is read again from its
    start. Expiries waiting for their destruction stay."""
    datastore = getattr(recorder, "datastore", None)
    if isinstance(datastore, PostgresDatastore):
        return _Postgres(datastore, fingerprint)
    if isinstance(datastore, SQLiteDatastore):
        return _SQLite(datastore, fingerprint)
    raise TypeError(f"no clock store for {type(datastore).__name__}")


def _dump(state: dict[str, Any]) -> str:
    return json.dumps(state, separators=(",", ":"), sort_keys=True)


class _Postgres(PostgresPositioned):
    def __init__(self, datastore: PostgresDatastore, fingerprint: str) -> None:
        self.datastore = datastore
        self.clocks = self.qualified(CLOCKS)
        self.unconfirmed_ = self.qualified(UNCONFIRMED)
        super().__init__(datastore, NAME, fingerprint)

    def _create_own(self, curs: Any) -> None:
        curs.execute(
            sql.SQL(
                "CREATE TABLE IF NOT EXISTS {} (client_id uuid PRIMARY KEY, state text NOT NULL)"
            ).format(self.clocks)
        )
        curs.execute(
            sql.SQL(
                "CREATE TABLE IF NOT EXISTS {} (client_id uuid NOT NULL, name text NOT NULL,"
                " PRIMARY KEY (client_id, name))"
            ).format(self.unconfirmed_)
        )

    def _drop_own(self, curs: Any) -> None:
        curs.execute(sql.SQL("DELETE FROM {}").format(self.clocks))  # expiries waiting stay

    @retried
    def advance(self, read_from: int, to: int, changes: ClockChanges) -> bool:
        with self.datastore.transaction(commit=True) as curs:
            if not self._take(curs, read_from, to):
                return False
            # One statement for many rows (psycopg pipelines them), in the clients' order.
            curs.executemany(
                sql.SQL(
                    "INSERT INTO {} VALUES (%s, %s)"
                    " ON CONFLICT (client_id) DO UPDATE SET state = EXCLUDED.state"
                ).format(self.clocks),
                [(client_id, _dump(state)) for client_id, state in sorted(changes.clients.items())],
            )
            curs.executemany(
                sql.SQL("INSERT INTO {} VALUES (%s, %s) ON CONFLICT DO NOTHING").format(
                    self.unconfirmed_
                ),
                list(changes.expired),
            )
        return True

    @retried
    def load(self, client_id: UUID) -> dict[str, Any] | None:
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(
                sql.SQL("SELECT state FROM {} WHERE client_id = %s").format(self.clocks),
                (client_id,),
            )
            row = curs.fetchone()
        return json.loads(row["state"]) if row else None

    def states(self) -> Iterator[tuple[UUID, dict[str, Any]]]:
        after: UUID | None = None
        while page := self._page(after):
            yield from page
            after = page[-1][0]

    @retried
    def _page(self, after: UUID | None) -> list[tuple[UUID, dict[str, Any]]]:
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(
                sql.SQL(
                    "SELECT client_id, state FROM {} WHERE %s::uuid IS NULL OR client_id > %s"
                    " ORDER BY client_id LIMIT %s"
                ).format(self.clocks),
                (after, after, _PAGE),
            )
            rows = curs.fetchall()
        return [(UUID(str(r["client_id"])), json.loads(r["state"])) for r in rows]

    @retried
    def unconfirmed(self) -> list[tuple[UUID, str]]:
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(
                sql.SQL("SELECT client_id, name FROM {} ORDER BY client_id, name").format(
                    self.unconfirmed_
                )
            )
            return [(UUID(str(r["client_id"])), str(r["name"])) for r in curs.fetchall()]

    @retried
    def confirm(self, client_id: UUID, name: str) -> None:
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(
                sql.SQL("DELETE FROM {} WHERE client_id = %s AND name = %s").format(
                    self.unconfirmed_
                ),
                (client_id, name),
            )


class _SQLite(SQLitePositioned):
    # Ids as the events table keeps them, 32 hex digits.

    def __init__(self, datastore: SQLiteDatastore, fingerprint: str) -> None:
        super().__init__(datastore, NAME, fingerprint)

    def _create_own(self, c: Any) -> None:
        c.execute(
            f"CREATE TABLE IF NOT EXISTS {CLOCKS} (client_id TEXT PRIMARY KEY, state TEXT NOT NULL)"
        )
        c.execute(
            f"CREATE TABLE IF NOT EXISTS {UNCONFIRMED} (client_id TEXT NOT NULL,"
            " name TEXT NOT NULL, PRIMARY KEY (client_id, name))"
        )

    def _drop_own(self, c: Any) -> None:
        c.execute(f"DELETE FROM {CLOCKS}")  # expiries waiting stay

    @retried
    def advance(self, read_from: int, to: int, changes: ClockChanges) -> bool:
        with self.datastore.transaction(commit=True) as c:
            if not self._take(c, read_from, to):
                return False
            c.executemany(
                f"INSERT INTO {CLOCKS} VALUES (?, ?)"
                " ON CONFLICT (client_id) DO UPDATE SET state = excluded.state",
                [(client_id.hex, _dump(state)) for client_id, state in changes.clients.items()],
            )
            c.executemany(
                f"INSERT INTO {UNCONFIRMED} VALUES (?, ?) ON CONFLICT DO NOTHING",
                [(client_id.hex, name) for client_id, name in changes.expired],
            )
        return True

    @retried
    def load(self, client_id: UUID) -> dict[str, Any] | None:
        with self.datastore.transaction(commit=False) as c:
            c.execute(f"SELECT state FROM {CLOCKS} WHERE client_id = ?", (client_id.hex,))
            row = c.fetchone()
        return json.loads(row[0]) if row else None

    def states(self) -> Iterator[tuple[UUID, dict[str, Any]]]:
        after = ""
        while page := self._page(after):
            yield from page
            after = page[-1][0].hex

    @retried
    def _page(self, after: str) -> list[tuple[UUID, dict[str, Any]]]:
        with self.datastore.transaction(commit=False) as c:
            c.execute(
                f"SELECT client_id, state FROM {CLOCKS} WHERE client_id > ?"
                " ORDER BY client_id LIMIT ?",
                (after, _PAGE),
            )
            rows: list[Any] = c.fetchall()
        return [(UUID(r[0]), json.loads(r[1])) for r in rows]

    @retried
    def unconfirmed(self) -> list[tuple[UUID, str]]:
        with self.datastore.transaction(commit=False) as c:
            c.execute(f"SELECT client_id, name FROM {UNCONFIRMED} ORDER BY client_id, name")
            rows: list[Any] = c.fetchall()
        return [(UUID(r[0]), str(r[1])) for r in rows]

    @retried
    def confirm(self, client_id: UUID, name: str) -> None:
        with self.datastore.transaction(commit=True) as c:
            c.execute(
                f"DELETE FROM {UNCONFIRMED} WHERE client_id = ? AND name = ?",
                (client_id.hex, name),
            )
