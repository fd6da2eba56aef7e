"""Embedded mode's dead-letter store: what could not be handled, with the reason, kept intact."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from shared.clock import utc_now


@dataclass(frozen=True)
class DeadLetter:
    consumer: str
    message_id: str
    routing_key: str
    reason: str
    body: bytes
    dead_lettered_at: datetime


class SQLiteDeadLetters:
    def __init__(self, path: Path) -> None:
        self.path = path
        with self._connect() as conn:
            conn.execute(
                "CREATE TABLE IF NOT EXISTS dead_letters ("
                " consumer TEXT NOT NULL, message_id TEXT NOT NULL, routing_key TEXT NOT NULL,"
                " reason TEXT NOT NULL, body BLOB NOT NULL, dead_lettered_at TEXT NOT NULL,"
                " PRIMARY KEY (consumer, message_id))"
            )

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=30)

    def add(
        self, consumer: str, message_id: str, routing_key: str, body: bytes, reason: str
    ) -> None:
        with self._connect() as conn:
            # The same message failing again after a restart stays one dead letter.
            conn.execute(
                "INSERT OR IGNORE INTO dead_letters VALUES (?, ?, ?, ?, ?, ?)",
                (consumer, message_id, routing_key, reason, body, utc_now().isoformat()),
            )

    def all(self) -> list[DeadLetter]:
        with self._connect() as conn:
            rows = conn.execute(
                "SELECT consumer, message_id, routing_key, reason, body, dead_lettered_at"
                " FROM dead_letters ORDER BY dead_lettered_at"
            ).fetchall()
        return [
            DeadLetter(c, m, k, r, bytes(b), datetime.fromisoformat(t)) for c, m, k, r, b, t in rows
        ]
