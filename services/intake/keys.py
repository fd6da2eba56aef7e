"""Per-client keys and identifier lookups, kept outside the event store.

Deleting a client's key erases the person from every stored event (crypto-shredding): the
events stay, and their hash chain with them, but the sealed personal part can no longer be
opened. The lookups from keyed identifier digests to clients live in the event store itself
(``services.intake.lookups``), written with the client's events; earlier versions kept them
here, and ``legacy_lookups`` hands those over once.

A key is made in a transaction of its own, just before the first sealed event is stored: a
crash between leaves a key that seals nothing, which is harmless (the next attempt takes the
same key), never an event that no key opens.

Client keys are stored wrapped (AES-GCM) under a key derived from the deployment's master key;
the same master key derives the HMAC secret of the lookups, so one secret is kept outside.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from uuid import UUID

import psycopg
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from psycopg import sql
from psycopg_pool import ConnectionPool

from services.intake.lookups import Lookup
from shared.batching import batch_cache, current_batch, forget_cached, remember, retried
from shared.clock import utc_now
from shared.crypto import derive
from shared.errors import DomainError
from shared.eventstore import DATABASE_WAIT_SECONDS
from shared.sqlite_cache import limit_cache

NONCE_BYTES = 12

_CACHED = "intake client key"  # this store's entries in a batch's cache


class PersonErasedError(DomainError):
    code = "person_erased"


class ClientKeys(ABC):
    """Keys and lookups in a small SQL store; subclasses give the connection."""

    PLACEHOLDER = "?"

    def __init__(self, master_key: bytes) -> None:
        self._wrapping = AESGCM(derive(master_key, "kotoutus client-key wrapping"))
        self.lookup_secret = derive(master_key, "kotoutus identifier lookup")

    @contextmanager
    @abstractmethod
    def _cursor(self) -> Iterator[Any]: ...

    def _sql(self, text: str) -> str:
        return text.replace("?", self.PLACEHOLDER)

    def _create_tables(self) -> None:
        with self._cursor() as cursor:
            cursor.execute(
                "CREATE TABLE IF NOT EXISTS client_keys (client_id TEXT PRIMARY KEY,"
                " wrapped BYTEA, created_at TEXT NOT NULL, erased_at TEXT)"
            )

    @retried
    def _rows(self, text: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        with self._cursor() as cursor:
            cursor.execute(self._sql(text), params)
            return list(cursor.fetchall())

    @retried
    def _execute(self, text: str, params: Sequence[Any]) -> None:
        with self._cursor() as cursor:
            cursor.execute(self._sql(text), params)

    def key(self, client_id: UUID, *, create: bool) -> bytes | None:
        """The client's key; None once erased (or never made and not to be made). Read once
        in a batch of messages (which changes it only through this object)."""
        cached = (_CACHED, client_id)
        found: bytes | None = batch_cache(cached, lambda: self._key(client_id, create=create))
        if found is None and create:  # read before as absent, to be made now
            forget_cached(cached)
            found = batch_cache(cached, lambda: self._key(client_id, create=True))
        return found

    def make_keys(self, client_ids: Sequence[UUID]) -> None:
        """Makes the keys of a batch's new clients in one transaction (each would otherwise
        be made in one of its own as its first event is sealed), for the batch to find: in a
        batch of messages only (``batch_cache``); an erased person's is found erased."""
        if not client_ids or current_batch() is None:
            return
        for client_id, key in self._keys(client_ids).items():
            remember((_CACHED, client_id), key)

    @retried
    def _keys(self, client_ids: Sequence[UUID]) -> dict[UUID, bytes | None]:
        """Made (unless there) and read back in one transaction: each client's key, None
        for an erased person's."""
        now = utc_now().isoformat()
        with self._cursor() as cursor:
            cursor.executemany(
                self._sql(
                    "INSERT INTO client_keys VALUES (?, ?, ?, NULL)"
                    " ON CONFLICT (client_id) DO NOTHING"
                ),
                [(str(client_id), self._new_wrapped(client_id), now) for client_id in client_ids],
            )
            found: dict[UUID, bytes | None] = {}
            for start in range(0, len(client_ids), 500):  # within SQLite's parameter limit
                chunk = client_ids[start : start + 500]
                marks = ", ".join("?" * len(chunk))
                cursor.execute(
                    self._sql(
                        f"SELECT client_id, wrapped FROM client_keys WHERE client_id IN ({marks})"
                    ),
                    [str(client_id) for client_id in chunk],
                )
                for stored, wrapped in cursor.fetchall():
                    client_id = UUID(str(stored))
                    found[client_id] = self._unwrap(client_id, wrapped)
        return found

    def _new_wrapped(self, client_id: UUID) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        return nonce + self._wrapping.encrypt(
            nonce, AESGCM.generate_key(bit_length=256), str(client_id).encode()
        )

    def _unwrap(self, client_id: UUID, wrapped: Any) -> bytes | None:
        if wrapped is None:  # a tombstone: the person was erased
            return None
        raw = bytes(wrapped)
        return self._wrapping.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], str(client_id).encode())

    @retried
    def _key(self, client_id: UUID, *, create: bool) -> bytes | None:
        select = self._sql("SELECT wrapped FROM client_keys WHERE client_id = ?")
        with self._cursor() as cursor:  # one transaction: made (unless there) and read back
            if create:
                cursor.execute(
                    self._sql(
                        "INSERT INTO client_keys VALUES (?, ?, ?, NULL)"
                        " ON CONFLICT (client_id) DO NOTHING"
                    ),
                    (str(client_id), self._new_wrapped(client_id), utc_now().isoformat()),
                )
            cursor.execute(select, (str(client_id),))
            rows = list(cursor.fetchall())
        key = self._unwrap(client_id, rows[0][0]) if rows else None
        if key is None and create:
            raise PersonErasedError(str(client_id))
        return key

    def erase(self, client_id: UUID) -> None:
        """Destroys the key; a tombstone row remembers that it was."""
        self._execute(
            "INSERT INTO client_keys VALUES (?, NULL, ?, ?) ON CONFLICT (client_id)"
            " DO UPDATE SET wrapped = NULL, erased_at = EXCLUDED.erased_at",
            (str(client_id), utc_now().isoformat(), utc_now().isoformat()),
        )
        forget_cached((_CACHED, client_id))

    @abstractmethod
    def _has_legacy_lookups(self, cursor: Any) -> bool: ...

    @retried
    def legacy_lookups(self) -> list[Lookup] | None:
        """The identifier lookups an earlier version kept here, outside the event store (None:
        there is no such table)."""
        with self._cursor() as cursor:
            if not self._has_legacy_lookups(cursor):
                return None
            cursor.execute("SELECT digest, client_id FROM identifier_lookup")
            return [Lookup(str(digest), UUID(str(client))) for digest, client in cursor.fetchall()]

    def drop_legacy_lookups(self) -> None:
        self._execute("DROP TABLE IF EXISTS identifier_lookup", ())

    def close(self) -> None:  # noqa: B027 - only stores with a pool have something to release
        """Releases connections."""


class SQLiteClientKeys(ClientKeys):
    """Keys in a SQLite file beside the event stores, in write-ahead-log mode as theirs are:
    each new client's key is a commit of its own on the command's path, and a commit to the log
    syncs once where a rollback journal is made, synced and deleted. A destroyed key is
    overwritten in its page (``secure_delete``), and the log that still holds its page as it
    was is folded into the file and emptied before the erasure returns."""

    def __init__(self, master_key: bytes, path: Path) -> None:
        super().__init__(master_key)
        self.path = path
        self._local = threading.local()
        # Every thread's connection, by its thread: closed when its thread has ended (the
        # server's worker threads come and go) or by ``close``.
        self._opened: dict[threading.Thread, sqlite3.Connection] = {}
        self._opening = threading.Lock()
        self._create_tables()

    def _connection(self) -> sqlite3.Connection:
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is None:
            # One per thread, kept, used by its thread only (closed by another: see above).
            connection = sqlite3.connect(self.path, timeout=30, check_same_thread=False)
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA secure_delete=ON")
            limit_cache(connection)  # a small page cache each
            self._local.connection = connection
            with self._opening:
                ended = [thread for thread in self._opened if not thread.is_alive()]
                for thread in ended:
                    self._opened.pop(thread).close()
                self._opened[threading.current_thread()] = connection
        return connection

    @contextmanager
    def _cursor(self) -> Iterator[Any]:
        connection = self._connection()
        with connection:
            yield connection.cursor()

    def close(self) -> None:
        """Closes every thread's connection (the last to close folds the log into the file
        and removes it); a later use opens anew."""
        with self._opening:
            opened, self._opened = list(self._opened.values()), {}
        for connection in opened:
            connection.close()
        self._local = threading.local()

    def erase(self, client_id: UUID) -> None:
        super().erase(client_id)
        # Outside any transaction, as a checkpoint must be; readers are waited for (timeout).
        busy, _, _ = self._connection().execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        if busy:
            raise RuntimeError("the keys' log could not be emptied: erase again")

    def _has_legacy_lookups(self, cursor: Any) -> bool:
        cursor.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'identifier_lookup'"
        )
        return cursor.fetchone() is not None


class PostgresClientKeys(ClientKeys):
    PLACEHOLDER = "%s"

    def __init__(self, master_key: bytes, database_url: str, schema: str) -> None:
        super().__init__(master_key)
        with psycopg.connect(database_url, autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
        self._pool = ConnectionPool(
            database_url,
            min_size=1,
            max_size=8,  # as the event store's pool: each command takes a key first
            kwargs={"options": f"-c search_path={schema}"},
            # No ping before each use: a cut connection fails its statement, which is tried
            # again (``retried``: every statement here is safe to run again), as the event
            # store's (see store_env).
            timeout=DATABASE_WAIT_SECONDS,  # as the event store's
            open=True,
        )
        self._create_tables()

    @contextmanager
    def _cursor(self) -> Iterator[Any]:
        with self._pool.connection() as connection, connection.transaction():
            yield connection.cursor()

    def _has_legacy_lookups(self, cursor: Any) -> bool:
        cursor.execute("SELECT to_regclass('identifier_lookup') IS NOT NULL")
        return bool(cursor.fetchone()[0])

    def close(self) -> None:
        self._pool.close()
