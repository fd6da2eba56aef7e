"""The caseload: one row per client (``services.readside.caseload.CaseloadRow``, its table made
from it), a fold of the client's events in record order.

Live, an event is applied to the stored row when it comes after every event the row holds in
record order (the row keeps the last one's: ``folded_up_to``); one that comes before — a late
or out-of-order delivery — makes the client's row be folded again from the stored timeline, as
a rebuild does. Either way the row is the fold of the same set of events.
"""

from __future__ import annotations

from itertools import groupby
from typing import Any
from uuid import UUID

from sqlalchemy import (
    Connection,
    Index,
    Table,
    bindparam,
    delete,
    insert,
    inspect,
    select,
    update,
)

from services.readside.caseload import CaseloadRow, concerned_clients, fold, record_order
from services.readside.projections import BATCH, Projection, Rebuild
from services.readside.projections.timeline import events
from services.readside.storage import columns_of, metadata, schema_of
from shared.contracts import CONTRACTS, PublicEvent, parse_event

caseload = Table(
    "caseload",
    metadata,
    *columns_of(CaseloadRow),
    Index("caseload_organisation", "organisation", "next_deadline"),
    Index("caseload_worker", "worker"),
)

_ROW = select(caseload).where(caseload.c.client_id == bindparam("key"))
_UPDATE = update(caseload).where(caseload.c.client_id == bindparam("key"))
_TIMELINE = select(events.c.body).where(events.c.client_id == bindparam("key"))


class Caseload(Projection):
    name = "caseload"
    tables = (caseload,)

    def prepare(self, connection: Connection) -> None:
        """A caseload made by an older version, without the columns the row has now, is made
        again from the stored timeline."""
        present = {
            column["name"]
            for column in inspect(connection).get_columns("caseload", schema=schema_of(connection))
        }
        if present != set(caseload.columns.keys()):
            caseload.drop(connection)
            caseload.create(connection)
            fold_everyone(connection)

    def apply(self, connection: Connection, event: PublicEvent) -> None:
        for client_id in concerned_clients(event):
            key = str(client_id)
            stored = connection.execute(_ROW, {"key": key}).first()
            row = None if stored is None else CaseloadRow.stored(stored._mapping)
            if row is not None and record_order(event) > row.folded_up_to():
                row.apply(event)
            else:  # the client's first event, or one before what the row holds
                row = _refold(connection, client_id)
            if stored is None:
                connection.execute(insert(caseload), row.columns())
            else:
                connection.execute(_UPDATE, {"key": key, **row.columns()})

    def rebuild(self, connection: Connection) -> Rebuild:
        connection.execute(delete(caseload))
        return _FromTimeline(connection)


class _FromTimeline(Rebuild):
    """The rows are folded from the stored timeline once the history is in (the timeline,
    before the caseload in the projector's list, is rebuilt by then if it is rebuilt)."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def add(self, event: PublicEvent) -> None:
        return None

    def finish(self) -> None:
        fold_everyone(self.connection)


def _refold(connection: Connection, client_id: UUID) -> CaseloadRow:
    bodies = connection.execute(_TIMELINE, {"key": str(client_id)}).scalars()
    row = fold(client_id, (parse_event(body, CONTRACTS) for body in bodies))
    assert row is not None  # the timeline holds at least the event being applied
    return row


def fold_everyone(connection: Connection) -> None:
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
