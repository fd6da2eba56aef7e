"""The order in which clients' data last changed: the national data-store export's position
("after position N"). One row per client, its position raised on every event applied about
them; positions are handed out under one lock, so they grow in the order transactions commit
and an export "after N" never skips one committed later.

Never emptied: the positions are what exports resume after. A rebuild of the timeline gives a
position to each client it knows that has none (a read side made before change positions).
"""

from __future__ import annotations

from collections.abc import Iterable
from uuid import UUID

from sqlalchemy import (
    Column,
    Connection,
    Index,
    Integer,
    String,
    Table,
    bindparam,
    func,
    insert,
    select,
    text,
    update,
)

from services.readside.caseload import concerned_clients
from services.readside.projections import Projection, Rebuild
from services.readside.projections.timeline import events
from services.readside.storage import metadata
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

    def apply(self, connection: Connection, event: PublicEvent) -> None:
        note_changes(connection, concerned_clients(event))

    def rebuild(self, connection: Connection) -> Rebuild:
        return _PositionTheUnpositioned(connection)


class _PositionTheUnpositioned(Rebuild):
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def add(self, event: PublicEvent) -> None:
        return None

    def finish(self) -> None:
        unpositioned = (
            select(events.c.client_id).distinct().except_(select(client_changes.c.client_id))
        )
        found = self.connection.execute(unpositioned).scalars()
        note_changes(self.connection, [UUID(client_id) for client_id in found])


def note_changes(connection: Connection, clients: Iterable[UUID]) -> None:
    """Gives each client the next change position."""
    ordered = sorted(clients)
    if not ordered:
        return
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(8742024)"))
    for client_id in ordered:
        key = {"key": str(client_id)}
        if connection.execute(_RAISE, key).rowcount == 0:
            connection.execute(_FIRST, key)


# The next position is one past the highest (the lock above keeps two from taking the same).
_NEXT = select(func.coalesce(func.max(client_changes.c.position), 0) + 1).scalar_subquery()
_RAISE = (
    update(client_changes)
    .where(client_changes.c.client_id == bindparam("key"))
    .values(position=_NEXT)
)
_FIRST = insert(client_changes).from_select(
    ["client_id", "position"], select(bindparam("key", type_=String), _NEXT)
)
