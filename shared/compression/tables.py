"""The compression dictionaries of a service's event store, kept in that store (its PostgreSQL
schema or SQLite file), one row each, never deleted: a stored event names the dictionary it was
compressed with (``shared.compression.codec``), and must stay readable with the store alone."""

from __future__ import annotations

from typing import Any

from eventsourcing.persistence import IntegrityError, ProgrammingError
from eventsourcing.postgres import PostgresProcessRecorder
from psycopg import sql

from shared.batching import retried
from shared.compression.codec import dictionary_id

TABLE = "compression_dictionaries"


class StoredDictionaries:
    """The dictionaries table beside a recorder's events."""

    def __init__(self, recorder: Any) -> None:
        self.datastore = recorder.datastore
        self.postgres = isinstance(recorder, PostgresProcessRecorder)
        if self.postgres:
            self.table: Any = sql.SQL("{}.{}").format(
                sql.Identifier(self.datastore.schema or "public"), sql.Identifier(TABLE)
            )
        else:
            self.table = sql.Identifier(TABLE)
        create = (
            "CREATE TABLE IF NOT EXISTS {table} (id BYTEA PRIMARY KEY,"
            " dictionary BYTEA NOT NULL, added_at TEXT NOT NULL)"
        )
        try:
            self._run(create, ())
        except (IntegrityError, ProgrammingError):
            # Two processes of a service starting at once: IF NOT EXISTS does not keep
            # PostgreSQL's catalogue from refusing the second; the first made it.
            self._run(create, ())

    def add(self, dictionary: bytes) -> None:
        """Keeps ``dictionary`` (once: its id is its content's hash)."""
        self._run(
            "INSERT INTO {table} VALUES (?, ?, CURRENT_TIMESTAMP) ON CONFLICT (id) DO NOTHING",
            (dictionary_id(dictionary), dictionary),
        )

    def all(self) -> list[bytes]:
        rows = self._run("SELECT dictionary FROM {table}", (), fetch=True)
        return [bytes(row[0]) for row in rows]

    def _query(self, template: str) -> Any:
        text = sql.SQL(template.replace("?", "%s" if self.postgres else "?")).format(
            table=self.table
        )
        return text if self.postgres else text.as_string(None)

    @retried
    def _run(
        self, template: str, params: tuple[Any, ...], *, fetch: bool = False
    ) -> list[tuple[Any, ...]]:
        with self.datastore.transaction(commit=not fetch) as cursor:
            cursor.execute(self._query(template), params)
            rows = cursor.fetchall() if fetch else []
        return [tuple(row.values()) if isinstance(row, dict) else tuple(row) for row in rows]
