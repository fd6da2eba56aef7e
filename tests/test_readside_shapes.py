"""The read side's inbox and timeline name an event by its source and position. A read side an
earlier version made — an inbox by message id (``applied``), a timeline keyed by message id
with the envelope in columns — is made over when it opens, on SQLite and PostgreSQL: nothing it
applied is applied again, and every row reads as before."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import (
    Column,
    Engine,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    create_engine,
    insert,
    inspect,
    select,
)
from sqlalchemy.schema import CreateTable, DropTable

from services.readside import tables
from services.readside.compressed import CompressedJSON
from services.readside.inbox import adopt_earlier_inbox, earlier_inbox
from services.readside.projections.earlier_timeline import reshape_earlier_timeline
from services.readside.projector import Projector
from services.readside.queries import timeline
from services.readside.service import projector as read_side
from services.readside.storage import UtcDateTime, schema_of
from shared.contracts import PublicEvent
from shared.settings import Settings
from tests.test_readside import SEAL
from tests.test_readside_batches import everything, on_postgres, one_by_one, recorded

__all__ = ["on_postgres", "recorded"]  # fixtures

# The timeline as the version before this one made it.
earlier_timeline = Table(
    "events",
    MetaData(),
    Column("message_id", String(36), nullable=False),
    Column("client_id", String(36), nullable=False),
    Column("source", String(64), nullable=False),
    Column("position", Integer, nullable=False),
    Column("event_type", String(64), nullable=False),
    Column("occurred_at", UtcDateTime(), nullable=False),
    Column("recorded_at", UtcDateTime(), nullable=False),
    Column("actor", String(200), nullable=False),
    Column("organisation", String(200), nullable=False),
    Column("body", CompressedJSON, nullable=False),
    Index("events_type_time", "event_type", "occurred_at"),
    PrimaryKeyConstraint("client_id", "message_id"),
)


def made_by_an_earlier_version(engine: Engine) -> None:
    """Gives the read side the inbox and the timeline the version before this one kept, with
    the same events in them."""
    with engine.begin() as connection:
        applied = connection.execute(select(tables.inbox)).all()
        rows = connection.execute(select(tables.events)).all()
        connection.execute(DropTable(tables.inbox))
        connection.execute(CreateTable(earlier_inbox))
        ids = {}
        for row in rows:
            body = json.loads(row.body)
            ids[row.source, row.position] = body["message_id"]
        connection.execute(
            insert(earlier_inbox),
            [{"message_id": ids[key], "source": key[0], "position": key[1]} for key in applied],
        )
        connection.execute(DropTable(tables.events))
        earlier_timeline.create(connection)
        connection.execute(insert(earlier_timeline), [_earlier_row(row) for row in rows])


def _earlier_row(row: Any) -> dict[str, Any]:
    body = json.loads(row.body)
    return {
        **row._asdict(),
        "message_id": body["message_id"],
        "occurred_at": row.recorded_at,
        "actor": body["actor"]["id"],
        "organisation": body["organisation"],
    }


def highest(events: list[PublicEvent]) -> dict[str, int]:
    found: dict[str, int] = {}
    for event in events:
        found[event.source] = max(found.get(event.source, 0), event.position)
    return found


def assert_made_over(projector: Projector, applied: list[PublicEvent]) -> None:
    with projector.engine.connect() as connection:
        schema = schema_of(connection)
        assert not inspect(connection).has_table("applied", schema=schema)
        columns = {c["name"] for c in inspect(connection).get_columns("events", schema=schema)}
        assert columns == {column.name for column in tables.events.columns}
    for source, position in highest(applied).items():
        assert projector.position(source) == position  # in-process delivery resumes there


def test_a_read_side_an_earlier_version_made_applies_nothing_twice(
    recorded: list[PublicEvent], tmp_path: Path
) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'readside.sqlite'}")
    half = len(recorded) // 2
    assert Projector(engine, SEAL).handle(recorded[:half]) == half
    made_by_an_earlier_version(engine)
    clients = {event.aggregate_id for event in recorded}
    before = {client: timeline(engine, client) for client in clients}
    assert any(before.values())

    reopened = Projector(engine, SEAL)  # as the next version starts on the same file

    assert_made_over(reopened, recorded[:half])
    assert {client: timeline(engine, client) for client in clients} == before
    assert reopened.handle(recorded) == len(recorded) - half
    assert everything(engine) == everything(one_by_one(recorded).engine)
    with engine.begin() as connection:  # once: nothing left to do
        assert adopt_earlier_inbox(connection) == 0
        assert reshape_earlier_timeline(connection, tables.events) == 0


def test_the_inbox_is_its_keys_tree_and_names_each_event_once(
    recorded: list[PublicEvent], tmp_path: Path
) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'readside.sqlite'}")
    projector = Projector(engine, SEAL)
    assert projector.handle([*recorded, *recorded[:3]]) == len(recorded)
    with engine.connect() as connection:
        (made,) = connection.exec_driver_sql(
            "SELECT sql FROM sqlite_schema WHERE type = 'table' AND name = 'inbox'"
        ).scalars()
        indexes = connection.exec_driver_sql(
            "SELECT count(*) FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'inbox'"
        ).scalar()
        rows = connection.execute(select(tables.inbox)).all()
    assert "WITHOUT ROWID" in made and indexes == 0
    assert sorted(rows) == sorted((e.source, e.position) for e in recorded)


@pytest.mark.distributed
def test_on_postgres_an_earlier_read_side_is_made_over_once(
    recorded: list[PublicEvent], on_postgres: Settings
) -> None:
    projector = read_side(on_postgres)
    try:
        half = len(recorded) // 2
        assert projector.handle(recorded[:half]) == half
        made_by_an_earlier_version(projector.engine)

        reopened = read_side(on_postgres)
        try:
            assert_made_over(reopened, recorded[:half])
            assert reopened.handle(recorded) == len(recorded) - half
            again = read_side(on_postgres)  # a second start finds nothing to do
            again.engine.dispose()
            assert reopened.handle(recorded) == 0
        finally:
            reopened.engine.dispose()
    finally:
        projector.engine.dispose()
