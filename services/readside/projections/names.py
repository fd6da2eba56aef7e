"""The client names: personal, so apart from everything else, sealed with the client's key
(``services.readside.names``) and emptied for good when the client is erased (the row stays as
a tombstone, so that a late message cannot fill it again)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from sqlalchemy import (
    Boolean,
    Column,
    Connection,
    Integer,
    LargeBinary,
    String,
    Table,
    delete,
    insert,
    inspect,
    select,
    text,
    update,
)

from services.readside.names import NameSeal
from services.readside.projections import Projection, Rebuild, Replaying
from services.readside.storage import metadata, schema_of
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
)

# The clients' name keys, wrapped. Not rebuilt: a rebuild keeps them (so the sealed names come
# out the same), and an erasure deletes the client's row.
name_keys = Table(
    "name_keys",
    metadata,
    Column("client_id", String(36), primary_key=True),
    Column("wrapped", LargeBinary, nullable=False),
)

Naming = contracts.ClientRegisteredData | contracts.ClientDetailsCorrectedData


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

    def apply(self, connection: Connection, event: PublicEvent) -> None:
        match event:
            case contracts.ClientErased(data=erased):
                self._erase(connection, erased.client_id, event.aggregate_version)
            case (
                contracts.ClientRegistered(data=data) | contracts.ClientDetailsCorrected(data=data)
            ):
                self._name(connection, data, event.aggregate_version)

    def rebuild(self, connection: Connection) -> Rebuild:
        connection.execute(delete(client_names))  # the keys stay
        return Replaying(self, connection)

    def _erase(self, connection: Connection, client_id: UUID, version: int) -> None:
        current = self._current(connection, client_id)
        if current is not None and current.erased:
            return
        connection.execute(delete(name_keys).where(name_keys.c.client_id == str(client_id)))
        self._store(
            connection,
            client_id,
            current,
            {
                "given_names": None,
                "family_name": None,
                "identity_code": None,
                "birth_date": None,
                "version": version,
                "erased": True,
            },
        )

    def _name(self, connection: Connection, data: Naming, version: int) -> None:
        client_id = data.client_id
        current = self._current(connection, client_id)
        if current is not None and (current.erased or current.version >= version):
            return  # erased for good, or a newer name is already known
        wrapped = self._key(connection, client_id)
        name = data.name
        born = data.birth_date
        self._store(
            connection,
            client_id,
            current,
            {
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
            },
        )

    @staticmethod
    def _current(connection: Connection, client_id: UUID) -> Any:
        return connection.execute(
            select(client_names).where(client_names.c.client_id == str(client_id))
        ).first()

    @staticmethod
    def _store(
        connection: Connection, client_id: UUID, current: Any, values: dict[str, Any]
    ) -> None:
        key = str(client_id)
        if current is None:
            connection.execute(insert(client_names).values(client_id=key, **values))
        else:
            connection.execute(
                update(client_names).where(client_names.c.client_id == key).values(**values)
            )

    def _key(self, connection: Connection, client_id: UUID) -> bytes:
        key = str(client_id)
        found = connection.execute(
            select(name_keys.c.wrapped).where(name_keys.c.client_id == key)
        ).scalar()
        if found is not None:
            return bytes(found)
        wrapped = self.seal.new_key(client_id)
        connection.execute(insert(name_keys).values(client_id=key, wrapped=wrapped))
        return wrapped
