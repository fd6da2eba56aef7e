"""Per-client keys, one per retention class, kept in a table of a service's own store
(crypto-shredding).

A service that seals a client's personal details in its events (notifications' addresses,
assessment's interview notes) keeps each client's key wrapped under a key derived from the
master key, in a table beside its events, reached through the event store's own connection.
Forgetting a client destroys the key and leaves a tombstone (the row without its key): the
sealed details can no longer be read by anyone, and nothing new is sealed for the person under
a fresh key, which would make it readable again.

A client has a key per retention class (``shared.retention``), so that one class can run out
while another stays: the retention job forgets one class, an erasure every class of the store.
A class whose records run out one by one (a letter two years after it was sent) has a key per
record as well (``record_key``, named ``<class>/<record id>``): the job forgets one record's
key; the class's own key, if any, holds what was sealed before records had keys.
Stores made before classes kept one key per client, in a table ``<table>`` of its own; on
opening, its rows become the keys (and tombstones) of the store's own class — each service
sealed one kind of data then — in ``<table>_by_class``, and the old table goes, in one
transaction.
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

from shared.batching import batch_cache, forget_cached, forget_cached_where, retried
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
        retention_class: str,
        classes: tuple[str, ...] = (),
        erased_error: type[DomainError] = ClientErasedError,
    ) -> None:
        self._recorder = recorder
        self._legacy_table = table
        self._table = f"{table}_by_class"
        self.retention_class = retention_class  # what ``seal`` and ``open`` use unless told
        self.classes = tuple(dict.fromkeys((retention_class, *classes)))
        self._seal = PerClientSeal(master_key, purpose)
        self._erased_error = erased_error
        self._postgres = isinstance(recorder, PostgresProcessRecorder)
        if not self._postgres and not isinstance(recorder, SQLiteProcessRecorder):
            raise TypeError(f"no key table for {type(recorder).__name__}")
        column = "bytea" if self._postgres else "blob"
        self._execute(
            f"CREATE TABLE IF NOT EXISTS {{table}} (client_id text, retention_class text,"
            f" wrapped {column}, PRIMARY KEY (client_id, retention_class))",
            (),
        )
        self._adopt_legacy_keys()

    def _name(self, table: str) -> Any:
        if self._postgres:
            schema = self._recorder.datastore.schema
            return sql.SQL("{}.{}").format(sql.Identifier(schema), sql.Identifier(table))
        return table

    def _query(self, statement: str) -> Any:
        names = {"table": self._name(self._table), "legacy": self._name(self._legacy_table)}
        if self._postgres:
            return sql.SQL(statement.replace("?", "%s")).format(**names)
        return statement.format(**names)

    @retried
    def _execute(self, statement: str, args: tuple[Any, ...]) -> Any:
        """One statement in a transaction of its own; ``{table}`` and ``?`` in either dialect."""
        with self._recorder.datastore.transaction(commit=True) as cursor:
            cursor.execute(self._query(statement), args)
            return cursor.fetchone() if statement.startswith("SELECT") else None

    @retried
    def _adopt_legacy_keys(self) -> None:
        """The keys of a store made before retention classes become its own class's keys."""
        with self._recorder.datastore.transaction(commit=True) as cursor:
            if self._postgres:
                schema = self._recorder.datastore.schema
                cursor.execute(
                    "SELECT to_regclass(%s) IS NOT NULL AS found",
                    (f'"{schema}"."{self._legacy_table}"',),
                )
                row = cursor.fetchone()
                found = bool(row["found"] if isinstance(row, dict) else row[0])
            else:
                cursor.execute(
                    "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
                    (self._legacy_table,),
                )
                found = cursor.fetchone() is not None
            if not found:
                return
            cursor.execute(
                self._query(
                    "INSERT INTO {table} (client_id, retention_class, wrapped)"
                    " SELECT client_id, ?, wrapped FROM {legacy} WHERE true ON CONFLICT DO NOTHING"
                ),
                (self.retention_class,),
            )
            cursor.execute(self._query("DROP TABLE {legacy}"), ())

    def _row(self, client_id: UUID, retention_class: str) -> tuple[bool, bytes | None]:
        """Whether a row exists, and its wrapped key (None: a tombstone); read once in a
        batch of messages (which changes it only through this object)."""
        found: tuple[bool, bytes | None] = batch_cache(
            (self._table, client_id, retention_class),
            lambda: self._read_row(client_id, retention_class),
        )
        return found

    def _read_row(self, client_id: UUID, retention_class: str) -> tuple[bool, bytes | None]:
        row = self._execute(
            "SELECT wrapped FROM {table} WHERE client_id = ? AND retention_class = ?",
            (str(client_id), retention_class),
        )
        if row is None:
            return False, None
        value = row["wrapped"] if isinstance(row, dict) else row[0]
        return True, None if value is None else bytes(value)

    def _wrapped_key(self, client_id: UUID, retention_class: str, *, create: bool) -> bytes:
        exists, wrapped = self._row(client_id, retention_class)
        base = _base(retention_class)
        if create and base != retention_class and self._row(client_id, base) == (True, None):
            # The class's tombstone is the erasure's: no record of it gets a fresh key.
            raise self._erased_error(str(client_id))
        if exists and wrapped is None:
            if create:
                raise self._erased_error(str(client_id))
            raise KeyErasedError(f"the {retention_class} key of client {client_id} was destroyed")
        if wrapped is None:
            if not create:
                raise KeyErasedError(f"no {retention_class} key for client {client_id}")
            self._execute(
                "INSERT INTO {table} (client_id, retention_class, wrapped) VALUES (?, ?, ?)"
                " ON CONFLICT DO NOTHING",
                (str(client_id), retention_class, self._seal.new_key(client_id)),
            )
            forget_cached((self._table, client_id, retention_class))
            # Read back: a concurrent writer's key (or an erasure) wins.
            return self._wrapped_key(client_id, retention_class, create=False)
        return wrapped

    def _class(self, retention_class: str | None) -> str:
        chosen = retention_class or self.retention_class
        if _base(chosen) not in self.classes:
            raise ValueError(f"{self._table} keeps no keys of class {chosen!r}")
        return chosen

    def record_key(self, record_id: str, retention_class: str | None = None) -> str:
        """The name of one record's own key in a class (``seal``, ``open``, ``forget`` take
        it as their class)."""
        if "/" in record_id:
            raise ValueError(f"a record id has no '/': {record_id!r}")
        return f"{self._class(retention_class)}/{record_id}"

    def seal(self, client_id: UUID, details: Any, retention_class: str | None = None) -> str:
        plain = json.dumps(details, sort_keys=True, ensure_ascii=False).encode()
        wrapped = self._wrapped_key(client_id, self._class(retention_class), create=True)
        return base64.b64encode(self._seal.seal(client_id, wrapped, plain)).decode("ascii")

    def open(self, client_id: UUID, sealed: str, retention_class: str | None = None) -> Any:
        wrapped = self._wrapped_key(client_id, self._class(retention_class), create=False)
        try:
            plain = self._seal.open(client_id, wrapped, base64.b64decode(sealed))
        except InvalidTag:  # sealed under a key destroyed since
            raise KeyErasedError(f"the details of client {client_id} cannot be read") from None
        return json.loads(plain)

    def forget(self, client_id: UUID, retention_class: str | None = None) -> None:
        """Destroys the client's key of ``retention_class`` (None: of every class this store
        keeps, as an erasure does) and leaves the tombstone (idempotent)."""
        chosen = self.classes if retention_class is None else (self._class(retention_class),)
        for name in chosen:
            self._execute(
                "INSERT INTO {table} (client_id, retention_class, wrapped) VALUES (?, ?, NULL)"
                " ON CONFLICT (client_id, retention_class) DO UPDATE SET wrapped = NULL",
                (str(client_id), name),
            )
            forget_cached((self._table, client_id, name))
        if retention_class is None:  # an erasure: every record's own key goes too
            self._execute(
                "UPDATE {table} SET wrapped = NULL WHERE client_id = ? AND wrapped IS NOT NULL",
                (str(client_id),),
            )
            forget_cached_where(lambda key: key[:2] == (self._table, client_id))

    def retire(self, client_id: UUID, retention_class: str | None = None) -> None:
        """Destroys the key of a class whose records since have keys of their own, leaving no
        tombstone: what it sealed is unreadable, and the client is not thereby erased (new
        records get their own keys)."""
        self._execute(
            # A live key only: a tombstone is an erasure's, and stays.
            "DELETE FROM {table} WHERE client_id = ? AND retention_class = ?"
            " AND wrapped IS NOT NULL",
            (str(client_id), self._class(retention_class)),
        )
        forget_cached((self._table, client_id, self._class(retention_class)))

    def forgotten(self, client_id: UUID, retention_class: str | None = None) -> bool:
        """Whether the client's key of the class was destroyed (a tombstone stands)."""
        exists, wrapped = self._read_row(client_id, self._class(retention_class))
        return exists and wrapped is None


def _base(retention_class: str) -> str:
    """The class of a record's own key (``letters/<id>`` → ``letters``)."""
    return retention_class.split("/", 1)[0]
