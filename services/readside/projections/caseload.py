"""The caseload: one row per client (``services.readside.caseload.CaseloadRow``, its table made
from it), a fold of the client's events in record order.

A batch is applied client by client: the rows of its clients are read in a few queries; a
client's events of the batch that all come after every event its row holds in record order
(the row keeps the last one's: ``folded_up_to``) are applied to the row in that order; one that
comes before — a late or out-of-order delivery — makes the client's row be folded again from
the stored timeline (which holds the batch by then), as a rebuild does. A client with no row
has no event stored before the batch: its row is the fold of its events in the batch. Either
way the row is the fold of the same set of events, and it is written back once.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from itertools import groupby
from typing import Any
from uuid import UUID

from sqlalchemy import (
    Connection,
    Date,
    Index,
    Table,
    bindparam,
    delete,
    func,
    inspect,
    literal,
    select,
)
from sqlalchemy.schema import CreateIndex

from services.readside.caseload import CaseloadRow, concerned_clients, fold, record_order
from services.readside.projections import Applying, Projection, Rebuild
from services.readside.projections.timeline import events, stored_event
from services.readside.storage import (
    among,
    chunked,
    columns_of,
    metadata,
    schema_of,
    write_rows,
)
from shared.contracts import PublicEvent

FAR_FUTURE = date(9999, 12, 31)
"""Where clients without a date sort (last, ascending)."""

caseload = Table(
    "caseload",
    metadata,
    *columns_of(CaseloadRow),
    Index("caseload_organisation", "organisation", "next_deadline"),
    Index("caseload_worker", "worker"),
)


def undated_last(column: Any) -> Any:
    """A date column as pages sort it: clients without one come last. The far date is written
    into the statement, not bound, so that PostgreSQL matches the indexes below to it."""
    return func.coalesce(column, literal(FAR_FUTURE, Date, literal_execute=True))


# A staff member's page — their organisation's clients by next deadline, the default — read
# from an index in page order, not sorted from every client of the organisation.
Index(
    "caseload_organisation_deadline",
    caseload.c.organisation,
    undated_last(caseload.c.next_deadline),
    caseload.c.client_id,
)
Index("caseload_deadline", undated_last(caseload.c.next_deadline), caseload.c.client_id)

_TIMELINE = select(events.c.event_type, events.c.body).where(events.c.client_id == bindparam("key"))


class Caseload(Projection):
    name = "caseload"
    tables = (caseload,)

    def prepare(self, connection: Connection) -> None:
        """A caseload made by an older version, without the columns the row has now, is made
        again from the stored timeline; one without the indexes it has now gets them."""
        present = {
            column["name"]
            for column in inspect(connection).get_columns("caseload", schema=schema_of(connection))
        }
        if present != set(caseload.columns.keys()):
            caseload.drop(connection)
            caseload.create(connection)
            fold_everyone(connection)
        for index in caseload.indexes:
            connection.execute(CreateIndex(index, if_not_exists=True))

    def apply(self, connection: Connection, batch: Sequence[PublicEvent]) -> None:
        mine: dict[UUID, list[PublicEvent]] = {}
        for event in batch:
            for client_id in concerned_clients(event):
                mine.setdefault(client_id, []).append(event)
        if not mine:
            return
        stored = _stored_rows(connection, mine)
        inserts: list[dict[str, Any]] = []
        updates: list[dict[str, Any]] = []
        for client_id, its in mine.items():
            row = stored.get(client_id)
            if row is None:
                row = fold(client_id, its)  # nothing of the client is stored before the batch
                assert row is not None
                inserts.append(row.columns())
                continue
            ordered = sorted(its, key=record_order)
            if record_order(ordered[0]) > row.folded_up_to():
                row.apply_all(ordered)
            else:  # one comes before what the row holds
                row = _refold(connection, client_id)
            updates.append(row.columns())
        write_rows(connection, caseload, inserts, updates)

    def rebuild(self, connection: Connection, rebuilding: frozenset[str]) -> Rebuild:
        connection.execute(delete(caseload))
        if "timeline" in rebuilding:
            # The timeline fills as the history comes: apply it as live delivery would.
            return Applying(self, connection)
        return _FromTimeline(connection)


def _stored_rows(connection: Connection, clients: Any) -> dict[UUID, CaseloadRow]:
    found: dict[UUID, CaseloadRow] = {}
    keys = sorted(str(client_id) for client_id in clients)
    for condition in among(connection, caseload.c.client_id, keys):
        for stored in connection.execute(select(caseload).where(condition)):
            row = CaseloadRow.stored(stored._mapping)
            found[row.client_id] = row
    return found


class _FromTimeline(Rebuild):
    """The rows are folded from the stored timeline (not rebuilt alongside) at the end."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def add(self, history: Sequence[PublicEvent]) -> None:
        return None

    def finish(self) -> None:
        fold_everyone(self.connection)


def _refold(connection: Connection, client_id: UUID) -> CaseloadRow:
    stored = connection.execute(_TIMELINE, {"key": str(client_id)})
    row = fold(client_id, (stored_event(kind, body) for kind, body in stored))
    assert row is not None  # the timeline holds at least the event being applied
    return row


def fold_everyone(connection: Connection) -> None:
    """Every client's caseload row from the stored timeline, client after client (streamed:
    one client's events in memory at a time)."""
    stored = connection.execute(
        select(events.c.client_id, events.c.event_type, events.c.body).order_by(events.c.client_id),
        # Not ``connection.execution_options``: that would change the connection for good.
        execution_options={"stream_results": True, "yield_per": 2000},
    )
    for rows in chunked(
        (
            row.columns()
            for client_id, group in groupby(stored, key=lambda row: row.client_id)
            if (row := fold(UUID(client_id), (stored_event(r.event_type, r.body) for r in group)))
        ),
        5000,
    ):
        write_rows(connection, caseload, rows)
