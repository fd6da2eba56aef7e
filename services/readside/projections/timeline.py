"""The timeline: every public event about a client, personal fields left out. A merge concerns
two clients and is kept under both."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Column, Connection, Index, Integer, String, Table, Text, delete, insert

from services.readside.caseload import concerned_clients
from services.readside.projections import BATCH, Projection, Rebuild
from services.readside.storage import UtcDateTime, insert_ignoring_duplicates, metadata
from shared.contracts import PublicEvent
from shared.contracts.personal import without_personal

events = Table(
    "events",
    metadata,
    Column("message_id", String(36), primary_key=True),
    Column("client_id", String(36), primary_key=True),
    Column("source", String(64), nullable=False),
    Column("position", Integer, nullable=False),
    Column("event_type", String(64), nullable=False),
    Column("occurred_at", UtcDateTime(), nullable=False),
    Column("recorded_at", UtcDateTime(), nullable=False),
    Column("actor", String(200), nullable=False),
    Column("organisation", String(200), nullable=False),
    Column("body", Text, nullable=False),
    Index("events_client", "client_id", "recorded_at"),
    Index("events_type_time", "event_type", "occurred_at"),
)


def event_rows(event: PublicEvent) -> list[dict[str, Any]]:
    """The event's rows, one per client it concerns."""
    if not (clients := concerned_clients(event)):
        return []
    common = {
        "message_id": str(event.message_id),
        "source": event.source,
        "position": event.position,
        "event_type": event.event_type,
        "occurred_at": event.occurred_at,
        "recorded_at": event.recorded_at,
        "actor": event.actor.id,
        "organisation": event.organisation,
        "body": without_personal(event).model_dump_json(),
    }
    return [{**common, "client_id": str(client_id)} for client_id in clients]


class Timeline(Projection):
    name = "timeline"
    tables = (events,)

    def apply(self, connection: Connection, event: PublicEvent) -> None:
        if rows := event_rows(event):
            connection.execute(insert_ignoring_duplicates(connection, events), rows)

    def rebuild(self, connection: Connection) -> Rebuild:
        connection.execute(delete(events))
        return _Batches(connection)


class _Batches(Rebuild):
    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.rows: list[dict[str, Any]] = []

    def add(self, event: PublicEvent) -> None:
        self.rows += event_rows(event)
        if len(self.rows) >= BATCH:
            self.finish()

    def finish(self) -> None:
        if self.rows:
            self.connection.execute(insert(events), self.rows)
            self.rows = []
