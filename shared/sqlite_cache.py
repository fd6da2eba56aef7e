"""How much page cache each long-lived SQLite connection keeps: 256 KiB, not SQLite's default
of about 2 MB (the dead letters' connections live for one transaction and keep none). The
embedded process holds a few dozen (each store's pool, the read side's, the access log's, the
keys' per thread), and their caches, filled a page at a time as files are read, grew its
memory with every store it touched. Measured with the embedded benchmark (2 000 clients, 500
registrations): resident memory after the registrations 215 MB with the default, 174 MB with
this; registrations per second unchanged (docs/performance.md). The operating system's file
cache still holds the files; this is only the copy in each connection."""

from __future__ import annotations

import sqlite3
from typing import Any

from eventsourcing.sqlite import SQLiteConnection, SQLiteConnectionPool
from eventsourcing.sqlite import SQLiteFactory as LibrarySQLiteFactory

CACHE_KIB = 256
PRAGMA = f"PRAGMA cache_size = -{CACHE_KIB}"  # negative: KiB, not pages


def limit_cache(connection: sqlite3.Connection) -> None:
    connection.execute(PRAGMA)


class _SmallCachePool(SQLiteConnectionPool):
    def _create_connection(self) -> SQLiteConnection:
        connection = super()._create_connection()
        connection.cursor().execute(PRAGMA)
        return connection


class SQLiteFactory(LibrarySQLiteFactory):
    """The library's SQLite infrastructure (``PERSISTENCE_MODULE``), each connection of its
    pool with the small cache."""

    def __init__(self, env: Any) -> None:
        super().__init__(env)
        made = self.datastore.pool
        # Before any connection is made: the library's pool, as it was set up, but ours.
        self.datastore.pool = _SmallCachePool(db_name=made.db_name, lock_timeout=made.lock_timeout)
