"""The follow-up statistics as counts (``services.readside.statistics``), kept as events are
applied: one row per (period, measure, dimension), so a report reads a year's rows instead of
every event of the counted types.

Each counted event is noted by its message id, and counts only when first noted: an event
applied again — one a rebuild took from history, then delivered live — counts once. A start is
counted against its assessment's deadline, which may arrive before or after it (or change): the
deadlines are kept by assessment, and a batch that brings a deadline or a start takes back what
the assessment's starts counted before and counts them again. The counts a batch changes are
written in the order of their keys, so that batches on two connections never wait for each
other's counts in a circle.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    Connection,
    Date,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    delete,
    exists,
    select,
    text,
)

from services.readside.caseload import RecordOrder, record_order
from services.readside.projections import Applying, Projection, Rebuild
from services.readside.projections.timeline import events, stored_event
from services.readside.statistics import COUNTED, DueDates, Key, counted, start_counted
from services.readside.storage import (
    UtcDateTime,
    among,
    chunked,
    dialect_insert,
    insert_ignoring_duplicates,
    metadata,
    quoted_name,
    write_rows,
)
from shared.contracts import PublicEvent
from shared.contracts import events as contracts

statistics_counts = Table(
    "statistics_counts",
    metadata,
    Column("period", String(7), nullable=False),  # "2025" or "2025-03"
    Column("measure", String(100), nullable=False),
    Column("dimension", String(200), nullable=False),
    Column("count", Integer, nullable=False),
    PrimaryKeyConstraint("period", "measure", "dimension"),
    sqlite_with_rowid=False,
)

# Each assessment's deadline, the latest in record order.
statistics_deadlines = Table(
    "statistics_deadlines",
    metadata,
    Column("assessment_id", String(36), primary_key=True),
    Column("starts_on", Date, nullable=False),
    Column("due", Date, nullable=False),
    Column("is_target", Boolean, nullable=False),
    Column("recorded_at", UtcDateTime(), nullable=False),
    Column("source", String(64), nullable=False),
    Column("position", Integer, nullable=False),
    sqlite_with_rowid=False,
)

# Every event counted, once; a start with its assessment and day (each start counts).
statistics_events = Table(
    "statistics_events",
    metadata,
    Column("message_id", String(36), primary_key=True),
    Column("assessment_id", String(36)),
    Column("started_on", Date),
    Index("statistics_events_assessment", "assessment_id"),
)

Deadlines = dict[str, tuple[RecordOrder, DueDates]]
Starts = dict[str, list[date]]


class Statistics(Projection):
    name = "statistics"
    tables = (statistics_counts, statistics_deadlines, statistics_events)

    def prepare(self, connection: Connection) -> None:
        """A read side made before the counts were kept counts what its timeline holds."""
        if connection.dialect.name == "postgresql":  # one process counts, the others wait
            connection.execute(
                text(f"LOCK TABLE {quoted_name(connection, statistics_counts)} IN EXCLUSIVE MODE")
            )
        if any(
            connection.execute(select(exists().select_from(table))).scalar()
            for table in self.tables
        ):
            return
        stored = connection.execute(
            # The counted events each concern one client: one timeline row each.
            select(events.c.event_type, events.c.body).where(
                events.c.event_type.in_(sorted(COUNTED))
            ),
            execution_options={"stream_results": True, "yield_per": 1000},
        )
        for chunk in chunked((stored_event(kind, body) for kind, body in stored), 1000):
            self.apply(connection, chunk)

    def apply(self, connection: Connection, batch: Sequence[PublicEvent]) -> None:
        dues = [event for event in batch if isinstance(event, contracts.AssessmentDue)]
        kept = [
            event
            for event in batch
            if isinstance(event, contracts.AssessmentStarted) or counted(event)
        ]
        if not dues and not kept:
            return
        starts = [event for event in kept if isinstance(event, contracts.AssessmentStarted)]
        concerned = sorted(
            {str(due.data.assessment_id) for due in dues}
            | {str(start.data.assessment_id) for start in starts}
        )
        deadlines, started = _stored(connection, concerned)  # as before the batch
        new = _note(connection, kept)
        changes: Counter[Key] = Counter()
        for event in kept:
            if str(event.message_id) in new:
                changes.update(counted(event))
        _count_starts(changes, started, deadlines, -1)  # what they counted before the batch
        stored_deadlines = dict(deadlines)
        for due in dues:
            key, order = str(due.data.assessment_id), record_order(due)
            if key not in deadlines or deadlines[key][0] < order:
                deadlines[key] = (order, DueDates.of(due.data.deadline))
        for start in starts:
            if str(start.message_id) in new:
                started[str(start.data.assessment_id)].append(start.data.started_on)
        _count_starts(changes, started, deadlines, +1)  # and what they count now
        _store_deadlines(connection, stored_deadlines, deadlines)
        _add(connection, changes)

    def rebuild(self, connection: Connection, rebuilding: frozenset[str]) -> Rebuild:
        for table in self.tables:
            connection.execute(delete(table))
        return Applying(self, connection)


def _stored(connection: Connection, assessments: list[str]) -> tuple[Deadlines, Starts]:
    deadlines: Deadlines = {}
    started: Starts = {key: [] for key in assessments}
    for condition in among(connection, statistics_deadlines.c.assessment_id, assessments):
        for row in connection.execute(select(statistics_deadlines).where(condition)):
            order = (row.recorded_at, row.source, row.position)
            deadlines[row.assessment_id] = (order, DueDates(row.starts_on, row.due, row.is_target))
    c = statistics_events.c
    for condition in among(connection, c.assessment_id, assessments):
        for assessment_id, started_on in connection.execute(
            select(c.assessment_id, c.started_on).where(condition)
        ):
            started[assessment_id].append(started_on)
    return deadlines, started


def _note(connection: Connection, kept: Sequence[PublicEvent]) -> set[str]:
    """Notes the events; returns the message ids of those not noted before."""
    if not kept:
        return set()
    rows: list[dict[str, Any]] = []
    for event in kept:
        row: dict[str, Any] = {"message_id": str(event.message_id)}
        if isinstance(event, contracts.AssessmentStarted):
            row |= {
                "assessment_id": str(event.data.assessment_id),
                "started_on": event.data.started_on,
            }
        rows.append({"assessment_id": None, "started_on": None, **row})
    statement = insert_ignoring_duplicates(connection, statistics_events)
    found = connection.execute(statement.returning(statistics_events.c.message_id), rows)
    return set(found.scalars())


def _count_starts(into: Counter[Key], started: Starts, deadlines: Deadlines, sign: int) -> None:
    for key, days in started.items():
        known = deadlines.get(key)
        for day in days:
            for counted_key in start_counted(day, None if known is None else known[1]):
                into[counted_key] += sign


def _store_deadlines(connection: Connection, stored: Deadlines, deadlines: Deadlines) -> None:
    changed = [key for key in sorted(deadlines) if deadlines[key] != stored.get(key)]
    write_rows(
        connection,
        statistics_deadlines,
        [_deadline_row(key, *deadlines[key]) for key in changed if key not in stored],
        [_deadline_row(key, *deadlines[key]) for key in changed if key in stored],
    )


def _deadline_row(key: str, order: RecordOrder, due: DueDates) -> dict[str, Any]:
    return {
        "assessment_id": key,
        **due._asdict(),
        "recorded_at": order[0],
        "source": order[1],
        "position": order[2],
    }


def _add(connection: Connection, changes: Counter[Key]) -> None:
    """Adds the changes to the stored counts, in the order of their keys."""
    rows = [
        {"period": period, "measure": measure, "dimension": dimension, "count": change}
        for (period, measure, dimension), change in sorted(changes.items())
        if change
    ]
    if rows:
        statement = dialect_insert(connection, statistics_counts)
        connection.execute(
            statement.on_conflict_do_update(
                index_elements=["period", "measure", "dimension"],
                set_={"count": statistics_counts.c.count + statement.excluded.count},
            ),
            rows,
        )


def counts(connection: Connection, year: int) -> dict[Key, int]:
    """The counts of ``year`` and its months."""
    c = statistics_counts.c
    rows = connection.execute(
        select(c.period, c.measure, c.dimension, c.count).where(
            (c.period == str(year)) | c.period.startswith(f"{year}-"), c.count > 0
        )
    )
    return {(period, measure, dimension): count for period, measure, dimension, count in rows}
