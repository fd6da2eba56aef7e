"""The interview's free-text notes, sealed under a key per client (crypto-shredding), as the
notifications service seals its personal details (``shared.crypto.PerClientSeal``).

The event store keeps only the sealed bytes, in the event's ``notes_sealed``; the client keys
live in a table of the service's own database (PostgreSQL schema or SQLite file), wrapped
under a key derived from the master key. Once a client's key is forgotten, the notes decode as
``None`` everywhere, while which matters had a note (``noted``) stays readable."""

from __future__ import annotations

import base64
import json
from typing import Any
from uuid import UUID

from cryptography.exceptions import InvalidTag
from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import Mapper, StoredEvent
from eventsourcing.postgres import PostgresProcessRecorder
from eventsourcing.sqlite import SQLiteProcessRecorder
from psycopg import sql

from shared.crypto import PerClientSeal
from shared.errors import DomainError


class PersonErasedError(DomainError):
    code = "person_erased"
    texts = {
        "fi": "Henkilön tiedot on poistettu; uutta ei voi kirjata",
        "sv": "Personens uppgifter har raderats; inget nytt kan registreras",
        "en": "The person's data has been erased; nothing new can be recorded",
    }


TABLE = "assessment_client_keys"
NOTES = "notes"
SEALED = "notes_sealed"


class ClientKeys:
    """Wrapped client keys in the assessment's own store, through the event store's connection."""

    def __init__(self, recorder: Any, master_key: bytes) -> None:
        self._recorder = recorder
        self.seal = PerClientSeal(master_key, "kotoutus assessment client-key wrapping")
        self._postgres = isinstance(recorder, PostgresProcessRecorder)
        if not self._postgres and not isinstance(recorder, SQLiteProcessRecorder):
            raise TypeError(f"no key table for {type(recorder).__name__}")
        self._execute(
            "CREATE TABLE IF NOT EXISTS {table} (client_id text PRIMARY KEY, wrapped "
            + ("bytea)" if self._postgres else "blob)"),
            (),
        )

    def _execute(self, statement: str, args: tuple[Any, ...]) -> Any:
        datastore = self._recorder.datastore
        if self._postgres:
            table = sql.SQL("{}.{}").format(sql.Identifier(datastore.schema), sql.Identifier(TABLE))
            query: Any = sql.SQL(statement.replace("?", "%s")).format(table=table)
        else:
            query = statement.format(table=TABLE)
        with datastore.transaction(commit=True) as cursor:
            cursor.execute(query, args)
            return cursor.fetchone() if statement.startswith("SELECT") else None

    def wrapped(self, client_id: UUID, *, create: bool) -> bytes | None:
        select = "SELECT wrapped FROM {table} WHERE client_id = ?"
        row = self._execute(select, (str(client_id),))
        if row is not None and (row["wrapped"] if isinstance(row, dict) else row[0]) is None:
            # A tombstone: the person was erased, and no new note may be sealed for them.
            if create:
                raise PersonErasedError(str(client_id))
            return None
        if row is None and create:
            insert = "INSERT INTO {table} (client_id, wrapped) VALUES (?, ?) ON CONFLICT DO NOTHING"
            self._execute(insert, (str(client_id), self.seal.new_key(client_id)))
            # Read back: a concurrent writer's key wins, and both seal with the same one.
            row = self._execute(select, (str(client_id),))
        if row is None:
            return None
        return bytes(row["wrapped"] if isinstance(row, dict) else row[0])

    def forget(self, client_id: UUID) -> None:
        """Destroys the key and leaves a tombstone (idempotent)."""
        self._execute(
            "INSERT INTO {table} (client_id, wrapped) VALUES (?, NULL)"
            " ON CONFLICT (client_id) DO UPDATE SET wrapped = NULL",
            (str(client_id),),
        )


class NotesMapper(Mapper[UUID]):
    """Seals an event's ``notes`` on the way to the store and opens them on the way back."""

    keys: ClientKeys | None = None  # set once the recorder exists (it is built after us)

    def to_stored_event(self, domain_event: DomainEventProtocol[UUID]) -> StoredEvent:
        state = dict(vars(domain_event))
        if not state.get(NOTES):
            return super().to_stored_event(domain_event)
        assert self.keys is not None
        client_id: UUID = state["client_id"]
        wrapped = self.keys.wrapped(client_id, create=True)
        assert wrapped is not None
        plain = json.dumps(state[NOTES], sort_keys=True, ensure_ascii=False).encode()
        sealed = self.keys.seal.seal(client_id, wrapped, plain)
        state[NOTES] = None
        state[SEALED] = base64.b64encode(sealed).decode("ascii")
        stand_in: Any = object.__new__(type(domain_event))
        object.__setattr__(stand_in, "__dict__", state)
        return super().to_stored_event(stand_in)

    def to_domain_event(self, stored_event: StoredEvent) -> DomainEventProtocol[UUID]:
        domain_event = super().to_domain_event(stored_event)
        state = vars(domain_event)
        sealed = state.pop(SEALED, None)
        if sealed is not None:
            state[NOTES] = self._open(state["client_id"], sealed)
        return domain_event

    def _open(self, client_id: UUID, sealed: str) -> dict[str, str] | None:
        """The notes, or None once the client's key is forgotten."""
        assert self.keys is not None
        wrapped = self.keys.wrapped(client_id, create=False)
        if wrapped is None:
            return None
        try:
            plain = self.keys.seal.open(client_id, wrapped, base64.b64decode(sealed))
        except InvalidTag:  # sealed under a key forgotten since (a new one was made later)
            return None
        notes: dict[str, str] = json.loads(plain)
        return notes
