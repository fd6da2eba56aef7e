"""A timeline an earlier version made, made over into this version's shape when the read side
opens: those were keyed by message id (with the client, in either order) and kept the
envelope's fields in columns beside the body that holds them too. The rows keep their bodies
as they were stored (text or compressed, both read back)."""

from __future__ import annotations

from sqlalchemy import Connection, Table, inspect, text

from services.readside.storage import quoted_name, schema_of

_KEPT = "client_id, source, position, event_type, recorded_at, body"


def reshape_earlier_timeline(connection: Connection, timeline: Table) -> int:
    """Makes ``timeline`` over if an earlier version made it (it has a message id column), in
    the connection's transaction; returns how many rows it moved (0: it was in shape). (The
    projector opens the read side under a lock of its own on PostgreSQL.)"""
    columns = inspect(connection).get_columns(timeline.name, schema=schema_of(connection))
    if "message_id" not in {column["name"] for column in columns}:
        return 0
    name = quoted_name(connection, timeline)
    if connection.dialect.name == "postgresql":  # an earlier version's process still writing
        connection.execute(text(f"LOCK TABLE {name}"))
    # Set aside, dropped with its key and indexes, made anew, filled again: a rename would
    # leave PostgreSQL's names of the old key and indexes taken.
    connection.execute(
        text(f"CREATE TEMPORARY TABLE timeline_moving AS SELECT {_KEPT} FROM {name}")
    )
    connection.execute(text(f"DROP TABLE {name}"))
    timeline.create(connection)
    moved = connection.execute(
        # WHERE: SQLite reads ON CONFLICT after a SELECT without one as part of a join.
        text(
            f"INSERT INTO {name} ({_KEPT}) SELECT {_KEPT} FROM timeline_moving WHERE true "
            "ON CONFLICT DO NOTHING"
        )
    ).rowcount
    connection.execute(text("DROP TABLE timeline_moving"))
    return int(moved)
