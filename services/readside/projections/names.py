"""The client names: personal, so apart from everything else, sealed with the client's key
(``services.readside.names``) and emptied for good when the client is erased (the row stays as
a tombstone, so that a late message cannot fill it again)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, TypeGuard
from uuid import UUID

from sqlalchemy import (
    Boolean,
    Column,
    Connection,
    Integer,
    LargeBinary,
    String,
    Table,
    bindparam,
    delete,
    inspect,
    select,
    text,
)

from services.readside.names import NameSeal
from services.readside.projections import Applying, Projection, Rebuild
from services.readside.storage import among, metadata, schema_of, write_rows
from shared.contracts import PublicEvent
from shared.contracts import events as contracts

client_names = Table(
    "client_names",
    metadata,
    Column("client_id", String(36), primary_key=True),
    Column("given_names", LargeBinary),
    Column("family_name", LargeBinary),
    # Added for the state's compensation and the national data store (Decree 874/2024):
    # ``Names.prepare`` adds them to a table made before (a rebuild of "names" fills them).
    Column("identity_code", LargeBinary),
    Column("birth_date", LargeBinary),
    Column("version", Integer, nullable=False),
    Column("erased", Boolean, nullable=False),
    sqlite_with_rowid=False,
)

# The clients' name keys, wrapped. Not rebuilt: a rebuild keeps them (so the sealed names come
# out the same), and an erasure deletes the client's row.
name_keys = Table(
    "name_keys",
    metadata,
    Column("client_id", String(36), primary_key=True),
    Column("wrapped", LargeBinary, nullable=False),
    sqlite_with_rowid=False,
)

Naming = contracts.ClientRegisteredData | contracts.ClientDetailsCorrectedData


_NAMED = ("given_names", "family_name", "identity_code", "birth_date", "version", "erased")
_FORGET = delete(name_keys).where(name_keys.c.client_id == bindparam("key"))


@dataclass
class _Client:
    """A client's name row and key as the batch found them (``stored``, ``stored_key``) and as
    its events leave them (``values``, ``key``)."""

    stored: dict[str, Any] | None
    stored_key: bytes | None
    values: dict[str, Any] | None = field(init=False)
    key: bytes | None = field(init=False)

    def __post_init__(self) -> None:
        self.values = self.stored
        self.key = self.stored_key


class Names(Projection):
    name = "names"
    tables = (client_names, name_keys)

    def __init__(self, seal: NameSeal) -> None:
        self.seal = seal

    def prepare(self, connection: Connection) -> None:
        """A read side made before the identity columns gets them (empty until the "names"
        projection is rebuilt: ``kotoutus projections rebuild names``)."""
        schema = schema_of(connection)
        present = {
            column["name"]
            for column in inspect(connection).get_columns("client_names", schema=schema)
        }
        blob = "BYTEA" if connection.dialect.name == "postgresql" else "BLOB"
        table = f'"{schema}".client_names' if schema else "client_names"
        for column in ("identity_code", "birth_date"):
            if column not in present:
                connection.execute(text(f"ALTER TABLE {table} ADD COLUMN {column} {blob}"))

    def apply(self, connection: Connection, batch: Sequence[PublicEvent]) -> None:
        """The batch's naming and erasing events applied in order to its clients' rows, read
        once and written once."""
        relevant = [
            event
            for event in batch
            if isinstance(
                event,
                contracts.ClientErased
                | contracts.ClientRegistered
                | contracts.ClientDetailsCorrected,
            )
            or forgets_identity(event)
        ]
        if not relevant:
            return
        clients = _read(connection, {event.data.client_id for event in relevant})
        for event in relevant:
            match event:
                case contracts.ClientErased(data=erased):
                    _erase(clients[erased.client_id], event.aggregate_version)
                case contracts.RecordsExpired(data=expired):  # the identity's class ran out
                    _erase(clients[expired.client_id], event.aggregate_version)
                case (
                    contracts.ClientRegistered(data=data)
                    | contracts.ClientDetailsCorrected(data=data)
                ):
                    self._name(clients[data.client_id], data, event.aggregate_version)
        _write(connection, clients)

    def rebuild(self, connection: Connection, rebuilding: frozenset[str]) -> Rebuild:
        connection.execute(delete(client_names))  # the keys stay
        return Applying(self, connection)

    def _name(self, client: _Client, data: Naming, version: int) -> None:
        current = client.values
        if current is not None and (current["erased"] or current["version"] >= version):
            return  # erased for good, or a newer name is already known
        if client.key is None:
            client.key = self.seal.new_key(data.client_id)
        wrapped = client.key
        client_id = data.client_id
        name = data.name
        born = data.birth_date
        client.values = {
            "given_names": self.seal.seal(
                client_id, wrapped, None if name is None else name.given_names
            ),
            "family_name": self.seal.seal(
                client_id, wrapped, None if name is None else name.family_name
            ),
            "identity_code": self.seal.seal(client_id, wrapped, data.identity_code),
            "birth_date": self.seal.seal(
                client_id, wrapped, None if born is None else born.isoformat()
            ),
            "version": version,
            "erased": False,
        }


def _erase(client: _Client, version: int) -> None:
    if client.values is not None and client.values["erased"]:
        return
    client.key = None
    client.values = {
        "given_names": None,
        "family_name": None,
        "identity_code": None,
        "birth_date": None,
        "version": version,
        "erased": True,
    }


def _read(connection: Connection, client_ids: set[UUID]) -> dict[UUID, _Client]:
    names: dict[str, dict[str, Any]] = {}
    keys: dict[str, bytes] = {}
    wanted = sorted(str(client_id) for client_id in client_ids)
    for condition in among(connection, client_names.c.client_id, wanted):
        for row in connection.execute(select(client_names).where(condition)):
            names[row.client_id] = {column: getattr(row, column) for column in _NAMED}
    for condition in among(connection, name_keys.c.client_id, wanted):
        for row in connection.execute(select(name_keys).where(condition)):
            keys[row.client_id] = bytes(row.wrapped)
    return {
        client_id: _Client(names.get(str(client_id)), keys.get(str(client_id)))
        for client_id in client_ids
    }


def _write(connection: Connection, clients: dict[UUID, _Client]) -> None:
    forgotten: list[dict[str, Any]] = []
    new_keys: list[dict[str, Any]] = []
    inserted: list[dict[str, Any]] = []
    updated: list[dict[str, Any]] = []
    for client_id, client in sorted(clients.items()):
        key = str(client_id)
        if client.stored_key is not None and client.key is None:
            forgotten.append({"key": key})
        elif client.stored_key is None and client.key is not None:
            new_keys.append({"client_id": key, "wrapped": client.key})
        if client.values is None or client.values == client.stored:
            continue
        if client.stored is None:
            inserted.append({"client_id": key, **client.values})
        else:
            updated.append({"client_id": key, **client.values})
    if forgotten:
        connection.execute(_FORGET, forgotten)
    write_rows(connection, name_keys, new_keys)
    write_rows(connection, client_names, inserted, updated)


def forgets_identity(event: PublicEvent) -> TypeGuard[contracts.RecordsExpired]:
    """The person's identity went by retention (``shared.retention``): forgotten as on
    ``ClientErased``."""
    return isinstance(event, contracts.RecordsExpired) and event.data.forgets_personal
