"""The read side's inbox: which public events were applied, so that a redelivered one changes
nothing, whatever order messages arrive in. Its rows are written in the same transaction as the
rows the events changed.

An event is named, as every service's tracking names it, by the stored event itself: its source
and its position in that source's log. (Its message id is derived from the same stored event, so
both name it alike; the pair takes a fifth of the room a text id with its index took.) The rows
are the key's tree (``WITHOUT ROWID`` on SQLite), and a source's highest position, where
in-process delivery resumes, is the end of its range.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import (
    Column,
    Connection,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    func,
    inspect,
    select,
    text,
    true,
)
from sqlalchemy.schema import DropTable

from services.readside.storage import (
    CHUNK,
    chunked,
    insert_ignoring_duplicates,
    metadata,
    quoted_name,
    schema_of,
)
from shared.contracts import PublicEvent

inbox = Table(
    "inbox",
    metadata,
    Column("source", String(64), nullable=False),
    Column("position", Integer, nullable=False),
    PrimaryKeyConstraint("source", "position"),
    sqlite_with_rowid=False,
)

# The inbox as versions before this one kept it: a row per message id, with its source and
# position beside it (and an index of those). Not in ``metadata``: nothing makes it any more.
earlier_inbox = Table(
    "applied",
    MetaData(),
    Column("message_id", String(36), primary_key=True),
    Column("source", String(64), nullable=False),
    Column("position", Integer, nullable=False),
)


def adopt_earlier_inbox(connection: Connection) -> int:
    """Takes over the rows of the inbox an earlier version kept (``applied``) and drops it, so
    that no event it names is applied twice; returns how many it took. Once: the table is gone
    afterwards. (The projector opens the read side under a lock of its own on PostgreSQL.)"""
    if not inspect(connection).has_table(earlier_inbox.name, schema=schema_of(connection)):
        return 0
    if connection.dialect.name == "postgresql":  # an earlier version's process still writing
        connection.execute(text(f"LOCK TABLE {quoted_name(connection, earlier_inbox)}"))
    taken = connection.execute(
        insert_ignoring_duplicates(connection, inbox).from_select(
            ["source", "position"],
            # WHERE: SQLite reads ON CONFLICT after a SELECT without one as part of a join.
            select(earlier_inbox.c.source, earlier_inbox.c.position).distinct().where(true()),
        )
    ).rowcount
    connection.execute(DropTable(earlier_inbox))
    return int(taken)


def highest_position(connection: Connection, source: str) -> int:
    """The highest position of ``source`` applied (0: none)."""
    found = connection.execute(
        select(func.max(inbox.c.position)).where(inbox.c.source == source)
    ).scalar()
    return int(found or 0)


def first_seen(connection: Connection, events: Sequence[PublicEvent]) -> list[PublicEvent]:
    """The events not applied before (nor earlier in the batch), in the batch's order, each
    with its inbox row written."""
    first: dict[tuple[str, int], PublicEvent] = {}
    for event in events:
        first.setdefault((event.source, event.position), event)
    unique = list(first.items())
    new: set[tuple[str, int]] = set()
    for chunk in chunked(unique, CHUNK):
        inserted = connection.execute(
            insert_ignoring_duplicates(connection, inbox).returning(
                inbox.c.source, inbox.c.position
            ),
            [{"source": source, "position": position} for (source, position), _ in chunk],
        )
        new.update((source, position) for source, position in inserted)
    return [event for key, event in unique if key in new]
