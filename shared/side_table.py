"""A table of ours beside a service's events, in the same store (its PostgreSQL schema or SQLite
file): SQL written once for both backends, ``{table}`` for its name and ``?`` for parameters,
run on the recorder's own connections and retried on a broken one (``shared.batching``)."""

from __future__ import annotations

from typing import Any

from eventsourcing.postgres import PostgresProcessRecorder
from psycopg import sql

from shared.batching import retried


class SideTable:
    def __init__(self, recorder: Any, name: str) -> None:
        self.datastore = recorder.datastore
        self.postgres = isinstance(recorder, PostgresProcessRecorder)
        if self.postgres:
            self.table: Any = sql.SQL("{}.{}").format(
                sql.Identifier(self.datastore.schema or "public"), sql.Identifier(name)
            )
        else:
            self.table = sql.Identifier(name)

    def query(self, template: str) -> Any:
        text = sql.SQL(template.replace("?", "%s" if self.postgres else "?")).format(
            table=self.table
        )
        return text if self.postgres else text.as_string(None)

    @retried
    def run(
        self, template: str, params: tuple[Any, ...] = (), *, fetch: bool = False
    ) -> list[tuple[Any, ...]]:
        """One statement in a transaction of its own; its rows, if ``fetch``."""
        with self.datastore.transaction(commit=not fetch) as cursor:
            cursor.execute(self.query(template), params)
            rows = cursor.fetchall() if fetch else []
        return [tuple(row.values()) if isinstance(row, dict) else tuple(row) for row in rows]

    @retried
    def run_many(self, template: str, rows: list[tuple[Any, ...]]) -> None:
        """One statement for each of ``rows``, in one transaction."""
        with self.datastore.transaction(commit=True) as cursor:
            cursor.executemany(self.query(template), rows)
