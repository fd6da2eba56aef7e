"""Personal details of client messages (the address, the name in the letter), sealed under a
key per client, as in intake and the read side (crypto-shredding).

The event store keeps only the sealed bytes. The client keys live in a small table of the
service's own database (PostgreSQL schema or SQLite file), wrapped under a key derived from
the master key; ``ClientErased`` destroys the client's key, after which the sealed details in
the stored events can no longer be read by anyone. A tombstone (the row without its key)
remembers the erasure, so that nothing new is sealed for the person under a fresh key.
"""

from __future__ import annotations

import base64
import json
from typing import Any
from uuid import UUID

from cryptography.exceptions import InvalidTag
from eventsourcing.postgres import PostgresProcessRecorder
from eventsourcing.sqlite import SQLiteProcessRecorder
from psycopg import sql

from shared.crypto import PerClientSeal
from shared.errors import DomainError

ERASED = b""  # what _read answers for a tombstone (a row whose key was destroyed)

TABLE = "notification_client_keys"


class KeyErasedError(LookupError):
    """The client's key is gone (the client was erased): the details are unreadable."""


class ClientErasedError(DomainError):
    """Nothing new is written to an erased person (their details would be readable again)."""

    code = "client_erased"
    texts = {
        "fi": "Asiakkaan tiedot on poistettu; hänelle ei voi enää kirjoittaa",
        "sv": "Klientens uppgifter har raderats; inget nytt kan skickas till hen",
        "en": "The client's data has been erased; nothing new can be written to them",
    }


class ClientKeys:
    def __init__(self, recorder: Any, master_key: bytes) -> None:
        self._recorder = recorder
        self._seal = PerClientSeal(master_key, "kotoutus notifications client-key wrapping")
        self._create()

    # --- storage: the service's own database, through the event store's connection ---

    def _create(self) -> None:
        if isinstance(self._recorder, PostgresProcessRecorder):
            statement = sql.SQL(
                "CREATE TABLE IF NOT EXISTS {}.{} (client_id text PRIMARY KEY, wrapped bytea)"
            ).format(sql.Identifier(self._recorder.datastore.schema), sql.Identifier(TABLE))
            with self._recorder.datastore.transaction(commit=True) as cursor:
                cursor.execute(statement)
        elif isinstance(self._recorder, SQLiteProcessRecorder):
            with self._recorder.datastore.transaction(commit=True) as cursor:
                cursor.execute(
                    f"CREATE TABLE IF NOT EXISTS {TABLE} (client_id text PRIMARY KEY, wrapped blob)"
                )
        else:
            raise TypeError(f"no key table for {type(self._recorder).__name__}")

    def _table(self) -> sql.Composed:
        return sql.SQL("{}.{}").format(
            sql.Identifier(self._recorder.datastore.schema), sql.Identifier(TABLE)
        )

    def _read(self, client_id: UUID) -> bytes | None:
        if isinstance(self._recorder, PostgresProcessRecorder):
            query = sql.SQL("SELECT wrapped FROM {} WHERE client_id = %s").format(self._table())
            with self._recorder.datastore.transaction(commit=False) as pg:
                pg.execute(query, (str(client_id),))
                row = pg.fetchone()
        else:
            with self._recorder.datastore.transaction(commit=False) as lite:
                lite.execute(f"SELECT wrapped FROM {TABLE} WHERE client_id = ?", (str(client_id),))
                row = lite.fetchone()
        if row is None:
            return None
        value = row["wrapped"] if isinstance(row, dict) else row[0]
        return ERASED if value is None else bytes(value)

    def _insert(self, client_id: UUID, wrapped: bytes) -> None:
        if isinstance(self._recorder, PostgresProcessRecorder):
            statement = sql.SQL(
                "INSERT INTO {} (client_id, wrapped) VALUES (%s, %s) ON CONFLICT DO NOTHING"
            ).format(self._table())
            with self._recorder.datastore.transaction(commit=True) as pg:
                pg.execute(statement, (str(client_id), wrapped))
        else:
            with self._recorder.datastore.transaction(commit=True) as lite:
                lite.execute(
                    f"INSERT OR IGNORE INTO {TABLE} (client_id, wrapped) VALUES (?, ?)",
                    (str(client_id), wrapped),
                )

    def forget(self, client_id: UUID) -> None:
        """Destroys the key and leaves the tombstone (idempotent)."""
        upsert = (
            "INSERT INTO {} (client_id, wrapped) VALUES ({}, NULL)"
            " ON CONFLICT (client_id) DO UPDATE SET wrapped = NULL"
        )
        if isinstance(self._recorder, PostgresProcessRecorder):
            statement = sql.SQL(upsert.format("{}", "%s")).format(self._table())
            with self._recorder.datastore.transaction(commit=True) as pg:
                pg.execute(statement, (str(client_id),))
        else:
            with self._recorder.datastore.transaction(commit=True) as lite:
                lite.execute(upsert.format(TABLE, "?"), (str(client_id),))

    # --- sealing ---

    def _wrapped_key(self, client_id: UUID, *, create: bool) -> bytes:
        wrapped = self._read(client_id)
        if wrapped == ERASED:
            if create:
                raise ClientErasedError(str(client_id))
            raise KeyErasedError(f"the key of client {client_id} was destroyed")
        if wrapped is None:
            if not create:
                raise KeyErasedError(f"no key for client {client_id}")
            self._insert(client_id, self._seal.new_key(client_id))
            # Read back: a concurrent writer's key (or an erasure) wins.
            return self._wrapped_key(client_id, create=False)
        return wrapped

    def seal(self, client_id: UUID, details: dict[str, Any]) -> str:
        plain = json.dumps(details, sort_keys=True, ensure_ascii=False).encode()
        wrapped = self._wrapped_key(client_id, create=True)
        return base64.b64encode(self._seal.seal(client_id, wrapped, plain)).decode("ascii")

    def open(self, client_id: UUID, sealed: str) -> dict[str, Any]:
        wrapped = self._wrapped_key(client_id, create=False)
        try:
            plain = self._seal.open(client_id, wrapped, base64.b64decode(sealed))
        except InvalidTag:
            raise KeyErasedError(f"the details of client {client_id} cannot be read") from None
        details: dict[str, Any] = json.loads(plain)
        return details
