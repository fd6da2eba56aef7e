"""Applies public events to the projections, exactly once, and rebuilds them from history."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from itertools import groupby
from typing import Any
from uuid import UUID

from sqlalchemy import (
    Connection,
    Engine,
    delete,
    func,
    insert,
    inspect,
    select,
    text,
    update,
)

from services.readside.caseload import concerned_clients, fold
from services.readside.names import NameSeal
from services.readside.tables import (
    PROJECTIONS,
    applied,
    caseload,
    client_changes,
    client_names,
    events,
    metadata,
    name_keys,
)
from shared.contracts import CONTRACTS, PublicEvent, parse_event
from shared.contracts.personal import without_personal


class Projector:
    def __init__(self, engine: Engine, seal: NameSeal) -> None:
        self.engine = engine
        self.seal = seal
        self.postgres = engine.dialect.name == "postgresql"
        translate = engine.get_execution_options().get("schema_translate_map") or {}
        self.schema: str | None = translate.get(None)
        metadata.create_all(engine)
        self._add_identity_columns()

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

    def apply(self, event: PublicEvent) -> bool:
        """Applies ``event`` to every projection in one transaction with its inbox row.
        Returns False for an event applied before."""
        with self.engine.begin() as connection:
            clients = concerned_clients(event)
            for client_id in sorted(clients):
                self._lock(connection, client_id)  # one writer per client: folds see all
            inserted = connection.execute(
                self._insert_ignoring_duplicates(applied).values(
                    message_id=str(event.message_id), source=event.source, position=event.position
                )
            )
            if inserted.rowcount == 0:
                return False
            for client_id in clients:
                self._store_event(connection, client_id, event)
                self._note_name(connection, client_id, event)
                self._refold(connection, client_id)
            self._note_changes(connection, clients)
        if event.event_type == "ClientErased" and not self.postgres:
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
            if self.postgres:
                tables = ", ".join(f'"{self.schema}"."{name}"' for name in PROJECTION_TABLES)
                connection.execute(text(f"LOCK TABLE {tables} IN EXCLUSIVE MODE"))
            if "timeline" in chosen:
                connection.execute(delete(events))
            if "names" in chosen:
                connection.execute(delete(client_names))
            rows: list[dict[str, Any]] = []
            for event in history:
                for client_id in concerned_clients(event):
                    if "timeline" in chosen:
                        rows.append(self._event_row(client_id, event))
                    if "names" in chosen:
                        self._note_name(connection, client_id, event)
                if len(rows) >= BATCH:
                    connection.execute(insert(events), rows)
                    rows = []
                progress(1)
            if rows:
                connection.execute(insert(events), rows)
            if "caseload" in chosen:
                connection.execute(delete(caseload))
                self._fold_everyone(connection)
            if "timeline" in chosen:
                # A read side made before change positions gets one for every client.
                unpositioned = (
                    select(events.c.client_id)
                    .distinct()
                    .except_(select(client_changes.c.client_id))
                )
                self._note_changes(
                    connection,
                    [UUID(found) for found in connection.execute(unpositioned).scalars()],
                )

    def _fold_everyone(self, connection: Connection) -> None:
        """Every client's caseload row from the stored timeline, in batches."""
        stored = connection.execute(
            select(events.c.client_id, events.c.body).order_by(events.c.client_id)
        )
        rows: list[dict[str, Any]] = []
        for client_id, group in groupby(stored, key=lambda row: row.client_id):
            row = fold(UUID(client_id), (parse_event(r.body, CONTRACTS) for r in group))
            if row is not None:
                rows.append(row.columns())
            if len(rows) >= BATCH:
                connection.execute(insert(caseload), rows)
                rows = []
        if rows:
            connection.execute(insert(caseload), rows)

    # --- each projection ---

    def _store_event(self, connection: Connection, client_id: UUID, event: PublicEvent) -> None:
        connection.execute(
            self._insert_ignoring_duplicates(events).values(**self._event_row(client_id, event))
        )

    @staticmethod
    def _event_row(client_id: UUID, event: PublicEvent) -> dict[str, Any]:
        return {
            "message_id": str(event.message_id),
            "client_id": str(client_id),
            "source": event.source,
            "position": event.position,
            "event_type": event.event_type,
            "occurred_at": event.occurred_at,
            "recorded_at": event.recorded_at,
            "actor": event.actor.id,
            "organisation": event.organisation,
            "body": without_personal(event).model_dump_json(),
        }

    def _note_name(self, connection: Connection, client_id: UUID, event: PublicEvent) -> None:
        data: Any = event.data
        erased = event.event_type == "ClientErased"
        if not erased and (event.event_type not in NAMING or data.client_id != client_id):
            return
        key = str(client_id)
        current = connection.execute(
            select(client_names).where(client_names.c.client_id == key)
        ).first()
        if current is not None and (
            current.erased or (not erased and current.version >= event.aggregate_version)
        ):
            return  # erased for good, or a newer name is already known
        name = None if erased else data.name
        if erased:
            connection.execute(delete(name_keys).where(name_keys.c.client_id == key))
        values: dict[str, Any] = {
            "given_names": None,
            "family_name": None,
            "identity_code": None,
            "birth_date": None,
            "version": event.aggregate_version,
            "erased": erased,
        }
        if not erased:
            wrapped = self._name_key(connection, client_id)
            if name is not None:
                values["given_names"] = self.seal.seal(client_id, wrapped, name.given_names)
                values["family_name"] = self.seal.seal(client_id, wrapped, name.family_name)
            values["identity_code"] = self.seal.seal(client_id, wrapped, data.identity_code)
            born = data.birth_date
            values["birth_date"] = self.seal.seal(
                client_id, wrapped, None if born is None else born.isoformat()
            )
        if current is None:
            connection.execute(insert(client_names).values(client_id=key, **values))
        else:
            connection.execute(
                update(client_names).where(client_names.c.client_id == key).values(**values)
            )

    def _note_changes(self, connection: Connection, clients: Iterable[UUID]) -> None:
        """Gives each client the next change position. The lock makes positions grow in the
        order transactions commit, so an export "after N" never skips one committed later."""
        if self.postgres:
            connection.execute(text("SELECT pg_advisory_xact_lock(8742024)"))
        for client_id in sorted(clients):
            position = (
                connection.execute(
                    select(func.coalesce(func.max(client_changes.c.position), 0))
                ).scalar_one()
                + 1
            )
            key = str(client_id)
            changed = connection.execute(
                update(client_changes)
                .where(client_changes.c.client_id == key)
                .values(position=position)
            )
            if changed.rowcount == 0:
                connection.execute(insert(client_changes).values(client_id=key, position=position))

    def _name_key(self, connection: Connection, client_id: UUID) -> bytes:
        key = str(client_id)
        found = connection.execute(
            select(name_keys.c.wrapped).where(name_keys.c.client_id == key)
        ).scalar()
        if found is not None:
            return bytes(found)
        wrapped = self.seal.new_key(client_id)
        connection.execute(insert(name_keys).values(client_id=key, wrapped=wrapped))
        return wrapped

    def _refold(self, connection: Connection, client_id: UUID) -> None:
        bodies = connection.execute(
            select(events.c.body).where(events.c.client_id == str(client_id))
        ).scalars()
        row = fold(client_id, (parse_event(body, CONTRACTS) for body in bodies))
        connection.execute(delete(caseload).where(caseload.c.client_id == str(client_id)))
        if row is not None:
            connection.execute(insert(caseload).values(**row.columns()))

    # --- plumbing ---

    def _add_identity_columns(self) -> None:
        """A read side made before the identity columns gets them (empty until the "names"
        projection is rebuilt: ``kotoutus projections rebuild names``)."""
        with self.engine.begin() as connection:
            present = {
                column["name"]
                for column in inspect(connection).get_columns("client_names", schema=self.schema)
            }
            blob = "BYTEA" if self.postgres else "BLOB"
            table = f'"{self.schema}".client_names' if self.schema else "client_names"
            for column in ("identity_code", "birth_date"):
                if column not in present:
                    connection.execute(text(f"ALTER TABLE {table} ADD COLUMN {column} {blob}"))

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

    def _insert_ignoring_duplicates(self, table: Any) -> Any:
        if self.postgres:
            from sqlalchemy.dialects.postgresql import insert as pg_insert

            return pg_insert(table).on_conflict_do_nothing()
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        return sqlite_insert(table).on_conflict_do_nothing()


BATCH = 1000  # rows per multi-row insert when rebuilding
NAMING = frozenset({"ClientRegistered", "ClientDetailsCorrected"})
PROJECTION_TABLES = ("events", "client_names", "name_keys", "caseload")
