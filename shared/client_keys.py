"""Per-client keys kept in a table of a service's own store (crypto-shredding).

A service that seals a client's personal details in its events (notifications' addresses,
assessment's interview notes) keeps each client's key wrapped under a key derived from the
master key, in a table beside its events, reached through the event store's own connection.
Forgetting a client destroys the key and leaves a tombstone (the row without its key): the
sealed details can no longer be read by anyone, and nothing new is sealed for the person under
a fresh key, which would make it readable again.
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

from shared.batching import batch_cache, forget_cached, retried
from shared.crypto import PerClientSeal
from shared.errors import DomainError


class KeyErasedError(LookupError):
    """The client's key is gone (the client was erased): the details are unreadable."""


class ClientErasedError(DomainError):
    """Nothing new is written to an erased person (their details would be readable again)."""

    code = "client_erased"


class StoredClientKeys:
    def __init__(
        self,
        recorder: Any,
        master_key: bytes,
        *,
        table: str,
        purpose: str,
        erased_error: type[DomainError] = ClientErasedError,
    ) -> None:
        self._recorder = recorder
        self._table = table
        self._seal = PerClientSeal(master_key, purpose)
        self._erased_error = erased_error
        self._postgres = isinstance(recorder, PostgresProcessRecorder)
        if not self._postgres and not isinstance(recorder, SQLiteProcessRecorder):
            raise TypeError(f"no key table for {type(recorder).__name__}")
        column = "bytea" if self._postgres else "blob"
        self._execute(
            f"CREATE TABLE IF NOT EXISTS {{table}} (client_id text PRIMARY KEY, wrapped {column})",
            (),
        )

    @retried
    def _execute(self, statement: str, args: tuple[Any, ...]) -> Any:
        """One statement in a transaction of its own; ``{table}`` and ``?`` in either dialect."""
        datastore = self._recorder.datastore
        if self._postgres:
            name = sql.SQL("{}.{}").format(
                sql.Identifier(datastore.schema), sql.Identifier(self._table)
            )
            query: Any = sql.SQL(statement.replace("?", "%s")).format(table=name)
        else:
            query = statement.format(table=self._table)
        with datastore.transaction(commit=True) as cursor:
            cursor.execute(query, args)
            return cursor.fetchone() if statement.startswith("SELECT") else None

    def _row(self, client_id: UUID) -> tuple[bool, bytes | None]:
        """Whether a row exists, and its wrapped key (None: a tombstone); read once in a
        batch of messages (which changes it only through this object)."""
        found: tuple[bool, bytes | None] = batch_cache(
            (self._table, client_id), lambda: self._read_row(client_id)
        )
        return found

    def _read_row(self, client_id: UUID) -> tuple[bool, bytes | None]:
        row = self._execute("SELECT wrapped FROM {table} WHERE client_id = ?", (str(client_id),))
        if row is None:
            return False, None
        value = row["wrapped"] if isinstance(row, dict) else row[0]
        return True, None if value is None else bytes(value)

    def _wrapped_key(self, client_id: UUID, *, create: bool) -> bytes:
        exists, wrapped = self._row(client_id)
        if exists and wrapped is None:
            if create:
                raise self._erased_error(str(client_id))
            raise KeyErasedError(f"the key of client {client_id} was destroyed")
        if wrapped is None:
            if not create:
                raise KeyErasedError(f"no key for client {client_id}")
            self._execute(
                "INSERT INTO {table} (client_id, wrapped) VALUES (?, ?) ON CONFLICT DO NOTHING",
                (str(client_id), self._seal.new_key(client_id)),
            )
            forget_cached((self._table, client_id))
            # Read back: a concurrent writer's key (or an erasure) wins.
            return self._wrapped_key(client_id, create=False)
        return wrapped

    def seal(self, client_id: UUID, details: Any) -> str:
        plain = json.dumps(details, sort_keys=True, ensure_ascii=False).encode()
        wrapped = self._wrapped_key(client_id, create=True)
        return base64.b64encode(self._seal.seal(client_id, wrapped, plain)).decode("ascii")

    def open(self, client_id: UUID, sealed: str) -> Any:
        wrapped = self._wrapped_key(client_id, create=False)
        try:
            plain = self._seal.open(client_id, wrapped, base64.b64decode(sealed))
        except InvalidTag:  # sealed under a key destroyed since
            raise KeyErasedError(f"the details of client {client_id} cannot be read") from None
        return json.loads(plain)

    def forget(self, client_id: UUID) -> None:
        """Destroys the key and leaves the tombstone (idempotent)."""
        self._execute(
            "INSERT INTO {table} (client_id, wrapped) VALUES (?, NULL)"
            " ON CONFLICT (client_id) DO UPDATE SET wrapped = NULL",
            (str(client_id),),
        )
        forget_cached((self._table, client_id))
