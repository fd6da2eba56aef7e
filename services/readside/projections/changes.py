"""The order in which clients' data last changed: the national data-store export's position
("after position N"). One row per client, its position raised on every event applied about
them; positions are handed out under one lock, so they grow in the order transactions commit
and an export "after N" never skips one committed later.

Never emptied: the positions are what exports resume after. A rebuild of the timeline gives a
position to each client it knows that has none (a read side made before change positions).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from uuid import UUID

from sqlalchemy import (
    Column,
    Connection,
    Index,
    Integer,
    String,
    Table,
    select,
    text,
)

from services.readside.caseload import concerned_clients
from services.readside.projections import Projection, Rebuild
from services.readside.projections.caseload import caseload
from services.readside.storage import metadata, quoted_name
from shared.contracts import PublicEvent

client_changes = Table(
    "client_changes",
    metadata,
    Column("client_id", String(36), primary_key=True),
    Column("position", Integer, nullable=False),
    Index("client_changes_position", "position", unique=True),
)


class ChangePositions(Projection):
    name = "change_positions"
    tables = (client_changes,)
    rebuilt_with = frozenset({"timeline"})

    def apply(self, connection: Connection, batch: Sequence[PublicEvent]) -> None:
        note_changes(connection, {client for event in batch for client in concerned_clients(event)})

    def rebuild(self, connection: Connection, rebuilding: frozenset[str]) -> Rebuild:
        return _PositionTheUnpositioned(connection)


class _PositionTheUnpositioned(Rebuild):
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def add(self, history: Sequence[PublicEvent]) -> None:
        return None

    def finish(self) -> None:
        # A client the timeline knows has a caseload row (one row, not one per event).
        unpositioned = select(caseload.c.client_id).except_(select(client_changes.c.client_id))
        found = self.connection.execute(unpositioned).scalars()
        note_changes(self.connection, [UUID(client_id) for client_id in found])


def note_changes(connection: Connection, clients: Iterable[UUID]) -> None:
    """Gives each client the next change position, in the order of their ids: one statement
    each, one after the other (in one round trip on PostgreSQL)."""
    ordered = sorted({str(client_id) for client_id in clients})
    if not ordered:
        return
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(8742024)"))
    # The next position is one past the highest (the lock above keeps two from taking the same;
    # "WHERE true" tells SQLite's parser the SELECT has ended).
    table = quoted_name(connection, client_changes)
    statement = text(
        f"INSERT INTO {table} (client_id, position) "
        f"SELECT :key, coalesce(max(position), 0) + 1 FROM {table} WHERE true "
        "ON CONFLICT (client_id) DO UPDATE SET position = excluded.position"
    )
    keys = [{"key": key} for key in ordered]
    connection.execute(statement, keys[0] if len(keys) == 1 else keys)
