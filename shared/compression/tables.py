"""The compression dictionaries of a service's event store, kept in that store (its PostgreSQL
schema or SQLite file), one row each, never deleted: a stored event names the dictionary it was
compressed with (``shared.compression.codec``), and must stay readable with the store alone."""

from __future__ import annotations

from typing import Any

from eventsourcing.persistence import IntegrityError, ProgrammingError

from shared.compression.codec import dictionary_id
from shared.side_table import SideTable

TABLE = "compression_dictionaries"


class StoredDictionaries:
    """The dictionaries table beside a recorder's events."""

    def __init__(self, recorder: Any) -> None:
        self.table = SideTable(recorder, TABLE)
        create = (
            "CREATE TABLE IF NOT EXISTS {table} (id BYTEA PRIMARY KEY,"
            " dictionary BYTEA NOT NULL, added_at TEXT NOT NULL)"
        )
        try:
            self.table.run(create)
        except (IntegrityError, ProgrammingError):
            # Two processes of a service starting at once: IF NOT EXISTS does not keep
            # PostgreSQL's catalogue from refusing the second; the first made it.
            self.table.run(create)

    def add(self, dictionary: bytes) -> None:
        """Keeps ``dictionary`` (once: its id is its content's hash)."""
        self.table.run(
            "INSERT INTO {table} VALUES (?, ?, CURRENT_TIMESTAMP) ON CONFLICT (id) DO NOTHING",
            (dictionary_id(dictionary), dictionary),
        )

    def all(self) -> list[bytes]:
        rows = self.table.run("SELECT dictionary FROM {table}", fetch=True)
        return [bytes(row[0]) for row in rows]
