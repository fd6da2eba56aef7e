"""Applies public events to the projections (``services.readside.projections``), exactly once,
and rebuilds them from history."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from uuid import UUID

from sqlalchemy import Connection, Engine, select, text

from services.readside.caseload import concerned_clients
from services.readside.inbox import adopt_earlier_inbox, first_seen, highest_position, inbox
from services.readside.names import NameSeal
from services.readside.projections import Projection
from services.readside.projections.caseload import Caseload
from services.readside.projections.changes import ChangePositions
from services.readside.projections.names import Names, forgets_identity
from services.readside.projections.statistics import Statistics
from services.readside.projections.timeline import Timeline
from services.readside.storage import (
    chunked,
    metadata,
    quoted_name,
)
from services.readside.tables import PROJECTIONS, caseload
from shared.contracts import PublicEvent
from shared.contracts import events as contracts

REBUILD_CHUNK = 5000
"""Events of the history per chunk a rebuild hands the projections."""

_LOCK_CLIENT = text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))")
_ONE_OPENING = text("SELECT pg_advisory_xact_lock(hashtextextended('readside.opening', 0))")


class Projector:
    """The read side's consumer (``shared.messaging.consumers.Consumer``): every public event,
    applied to the projections exactly once by its inbox (``services.readside.inbox``)."""

    name = "readside"  # its queue: <prefix>.readside
    event_types: frozenset[str] | None = None  # every public event

    def __init__(self, engine: Engine, seal: NameSeal) -> None:
        self.engine = engine
        self.seal = seal
        self.postgres = engine.dialect.name == "postgresql"
        # In this order: a projection may read the tables of those before it.
        self.projections: list[Projection] = [
            Timeline(),
            Names(seal),
            Caseload(),
            Statistics(),
            ChangePositions(),
        ]
        tables = [inbox, *(t for p in self.projections for t in p.tables)]
        with engine.begin() as connection:
            # Several processes opening one PostgreSQL read side (a service and a report of
            # the command line, say) take turns: the second finds the tables made, and made
            # over from an earlier version's shapes.
            if self.postgres:
                connection.execute(_ONE_OPENING)
            metadata.create_all(connection, tables=tables)
            adopt_earlier_inbox(connection)
            for projection in self.projections:
                projection.prepare(connection)
        if not self.postgres:
            self._forget_old_pages()  # what a making over rewrote is not left in the log

    def position(self, source: str) -> int:
        """The highest position of ``source`` applied (in-process delivery resumes after it)."""
        with self.engine.connect() as connection:
            return highest_position(connection, source)

    def responsible_organisation(self, client_id: UUID) -> str | None:
        """Who answers for the client, as the caseload knows it (access checks ask this)."""
        with self.engine.connect() as connection:
            found = connection.execute(
                select(caseload.c.organisation).where(caseload.c.client_id == str(client_id))
            ).scalar()
        return None if found is None else str(found)

    def handle(self, events: Sequence[PublicEvent]) -> int:
        """Applies the events not applied before to every projection, in one transaction with
        an inbox row each; returns how many were new. All or nothing: an event that cannot be
        applied fails the whole batch (the transport then splits it, to set that one aside)."""
        if not events:
            return 0
        with self.engine.begin() as connection:
            # One writer per client: a projection reads what the ones before it left.
            self._lock(
                connection, {client for event in events for client in concerned_clients(event)}
            )
            new = first_seen(connection, events)
            if new:
                for projection in self.projections:
                    projection.apply(connection, new)
        if not self.postgres and any(
            isinstance(event, contracts.ClientErased) or forgets_identity(event) for event in new
        ):
            self._forget_old_pages()
        return len(new)

    def apply(self, event: PublicEvent) -> bool:
        """Applies ``event`` (a batch of one). Returns False for an event applied before."""
        return self.handle([event]) == 1

    def rebuild(
        self,
        history: Iterable[PublicEvent],
        names: Iterable[str] = PROJECTIONS,
        progress: Callable[[int], None] = lambda _: None,
    ) -> None:
        """Drops the rows of the projections ``names`` and builds them again from ``history``
        (events with their personal fields), in one transaction: readers see the old rows or
        the new, live delivery waits and then applies on top. The history goes to the
        projections in chunks, as batches of live delivery do (rows written in bulk)."""
        chosen = set(names)
        unknown = chosen - set(PROJECTIONS)
        if unknown:
            raise ValueError(f"unknown projections: {', '.join(sorted(unknown))}")
        rebuilt = [p for p in self.projections if p.rebuilt_with & chosen]
        rebuilding = frozenset(projection.name for projection in rebuilt)
        with self.engine.begin() as connection:
            self._lock_tables(connection)
            rebuilds = [projection.rebuild(connection, rebuilding) for projection in rebuilt]
            for chunk in chunked(history, REBUILD_CHUNK):
                for rebuild in rebuilds:
                    rebuild.add(chunk)
                progress(len(chunk))
            for rebuild in rebuilds:
                rebuild.finish()

    # --- plumbing ---

    def _lock_tables(self, connection: Connection) -> None:
        """Every projection's tables, in the order live application writes them (so neither
        waits for the other in a circle)."""
        if not self.postgres:
            return  # SQLite: the IMMEDIATE transaction already holds the only write lock
        tables = ", ".join(
            quoted_name(connection, table)
            for projection in self.projections
            for table in projection.tables
        )
        connection.execute(text(f"LOCK TABLE {tables} IN EXCLUSIVE MODE"))

    def _forget_old_pages(self) -> None:
        """SQLite's write-ahead log still holds the pages as they were before the erasure:
        fold it into the file and empty it."""
        raw = self.engine.raw_connection()  # outside any transaction, as a checkpoint must be
        try:
            raw.cursor().execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            raw.close()

    def _lock(self, connection: Connection, clients: Iterable[UUID]) -> None:
        """Every client's lock, in the order of their ids (so that two batches never wait for
        each other in a circle), one statement after the other in one round trip."""
        # SQLite: the IMMEDIATE transaction already holds the only write lock.
        if self.postgres and (keys := sorted({str(client_id) for client_id in clients})):
            locks = [{"key": key} for key in keys]
            connection.execute(_LOCK_CLIENT, locks[0] if len(locks) == 1 else locks)
