"""Applies public events to the projections (``services.readside.projections``), exactly once,
and rebuilds them from history."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from uuid import UUID

from sqlalchemy import Connection, Engine, func, select, text

from services.readside.caseload import concerned_clients
from services.readside.names import NameSeal
from services.readside.projections import Projection
from services.readside.projections.caseload import Caseload
from services.readside.projections.changes import ChangePositions
from services.readside.projections.names import Names
from services.readside.projections.timeline import Timeline
from services.readside.storage import insert_ignoring_duplicates, metadata, schema_of
from services.readside.tables import PROJECTIONS, applied, caseload
from shared.contracts import PublicEvent
from shared.contracts import events as contracts


class Projector:
    """The read side's consumer (``shared.messaging.consumers.Consumer``): every public event,
    applied to the projections exactly once by its inbox (``applied``)."""

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
            ChangePositions(),
        ]
        metadata.create_all(
            engine, tables=[applied, *(t for p in self.projections for t in p.tables)]
        )
        with engine.begin() as connection:
            for projection in self.projections:
                projection.prepare(connection)

    def position(self, source: str) -> int:
        """The highest position of ``source`` applied (in-process delivery resumes after it)."""
        with self.engine.connect() as connection:
            found = connection.execute(
                select(func.max(applied.c.position)).where(applied.c.source == source)
            ).scalar()
        return int(found or 0)

    def responsible_organisation(self, client_id: UUID) -> str | None:
        """Who answers for the client, as the caseload knows it (access checks ask this)."""
        with self.engine.connect() as connection:
            found = connection.execute(
                select(caseload.c.organisation).where(caseload.c.client_id == str(client_id))
            ).scalar()
        return None if found is None else str(found)

    def handle(self, events: Sequence[PublicEvent]) -> int:
        return sum(self.apply(event) for event in events)

    def apply(self, event: PublicEvent) -> bool:
        """Applies ``event`` to every projection in one transaction with its inbox row.
        Returns False for an event applied before."""
        with self.engine.begin() as connection:
            for client_id in sorted(concerned_clients(event)):
                self._lock(connection, client_id)  # one writer per client: folds see all
            inserted = connection.execute(
                insert_ignoring_duplicates(connection, applied).values(
                    message_id=str(event.message_id), source=event.source, position=event.position
                )
            )
            if inserted.rowcount == 0:
                return False
            for projection in self.projections:
                projection.apply(connection, event)
        if isinstance(event, contracts.ClientErased) and not self.postgres:
            self._forget_old_pages()
        return True

    def rebuild(
        self,
        history: Iterable[PublicEvent],
        names: Iterable[str] = PROJECTIONS,
        progress: Callable[[int], None] = lambda _: None,
    ) -> None:
        """Drops the rows of the projections ``names`` and builds them again from ``history``
        (events with their personal fields), in one transaction: readers see the old rows or
        the new, live delivery waits and then applies on top."""
        chosen = set(names)
        unknown = chosen - set(PROJECTIONS)
        if unknown:
            raise ValueError(f"unknown projections: {', '.join(sorted(unknown))}")
        with self.engine.begin() as connection:
            self._lock_tables(connection)
            rebuilds = [
                projection.rebuild(connection)
                for projection in self.projections
                if projection.rebuilt_with & chosen
            ]
            for event in history:
                for rebuild in rebuilds:
                    rebuild.add(event)
                progress(1)
            for rebuild in rebuilds:
                rebuild.finish()

    # --- plumbing ---

    def _lock_tables(self, connection: Connection) -> None:
        """Every projection's tables, in the order live application writes them (so neither
        waits for the other in a circle)."""
        if not self.postgres:
            return  # SQLite: the IMMEDIATE transaction already holds the only write lock
        schema = schema_of(connection)
        tables = ", ".join(
            f'"{schema}"."{table.name}"' if schema else f'"{table.name}"'
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

    def _lock(self, connection: Connection, client_id: UUID) -> None:
        # SQLite: the IMMEDIATE transaction already holds the only write lock.
        if self.postgres:
            connection.execute(
                text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
                {"key": str(client_id)},
            )
