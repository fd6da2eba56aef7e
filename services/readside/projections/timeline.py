"""The timeline: every public event about a client, personal fields left out. A merge concerns
two clients and is kept under both."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import ValidationError
from sqlalchemy import (
    Column,
    Connection,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    delete,
    insert,
)

from services.readside.caseload import concerned_clients
from services.readside.compressed import CompressedJSON, keep_dictionary
from services.readside.projections import Projection, Rebuild
from services.readside.projections.earlier_timeline import reshape_earlier_timeline
from services.readside.storage import (
    UtcDateTime,
    copy_rows,
    insert_ignoring_duplicates,
    metadata,
)
from shared.contracts import CONTRACTS, PublicEvent, parse_event
from shared.contracts.personal import without_personal

# Keyed by client first: a client's timeline is a range of the key, and no index of its own
# is kept for it (a read sorts the client's few rows by time). An event is named within it, as
# the inbox names it, by its source and position. The envelope's other fields are in the body
# only: nothing looks rows up by them. Timelines an earlier version made (keyed by message id,
# with the envelope in columns) are made over into this shape when the read side opens.
events = Table(
    "events",
    metadata,
    Column("client_id", String(36), nullable=False),
    Column("source", String(64), nullable=False),
    Column("position", Integer, nullable=False),
    Column("event_type", String(64), nullable=False),
    Column("recorded_at", UtcDateTime(), nullable=False),
    Column("body", CompressedJSON, nullable=False),
    Index("events_type", "event_type"),
    PrimaryKeyConstraint("client_id", "source", "position"),
)

_COLUMNS = tuple(events.columns.keys())


def stored_event(event_type: str, body: str) -> PublicEvent:
    """An event as the timeline keeps it, read back (its JSON parsed straight into the contract
    its type names; ``parse_event`` says what is wrong with one no contract takes)."""
    contract = CONTRACTS.get(event_type)
    if contract is None:
        return parse_event(body, CONTRACTS)
    try:
        return contract.model_validate_json(body)
    except ValidationError:
        return parse_event(body, CONTRACTS)


def event_rows(event: PublicEvent) -> list[dict[str, Any]]:
    """The event's rows, one per client it concerns."""
    return [dict(zip(_COLUMNS, values, strict=True)) for values in _row_values(event)]


def _row_values(event: PublicEvent) -> list[tuple[Any, ...]]:
    """The event's rows as tuples in the table's column order, one per client it concerns."""
    if not (clients := concerned_clients(event)):
        return []
    body = without_personal(event).model_dump_json()
    return [
        (str(client_id), event.source, event.position, event.event_type, event.recorded_at, body)
        for client_id in clients
    ]


class Timeline(Projection):
    name = "timeline"
    tables = (events,)

    def prepare(self, connection: Connection) -> None:
        keep_dictionary(connection)
        reshape_earlier_timeline(connection, events)

    def apply(self, connection: Connection, batch: Sequence[PublicEvent]) -> None:
        if rows := [row for event in batch for row in event_rows(event)]:
            connection.execute(insert_ignoring_duplicates(connection, events), rows)

    def rebuild(self, connection: Connection, rebuilding: frozenset[str]) -> Rebuild:
        connection.execute(delete(events))
        return _Bulk(connection)


class _Bulk(Rebuild):
    """Rows written in bulk: PostgreSQL's COPY, SQLite's executemany (the table is empty and
    every (event, client) pair of a history comes once)."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def add(self, history: Sequence[PublicEvent]) -> None:
        # Made as they are sent: the server stores rows while the next are being made.
        rows = (row for event in history for row in _row_values(event))
        if not copy_rows(self.connection, events, rows) and (
            listed := [dict(zip(_COLUMNS, row, strict=True)) for row in rows]
        ):
            self.connection.execute(insert(events), listed)
