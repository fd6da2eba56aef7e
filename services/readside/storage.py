"""What the read side's tables share: one ``MetaData``, the column types both databases read
back alike, the dialect's "insert unless there", and a row defined once.

A row defined once (``columns_of``, ``RowView``): a pydantic model whose every field says how
it is stored (``Stored``) gives the table its columns, in its order, nullable where the field
may be None; the same model, less its ``Hidden`` fields, gives the model readers are sent.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from operator import itemgetter
from types import NoneType, UnionType
from typing import Any, ClassVar, Self, TypeVar, Union, get_args, get_origin

from pydantic import BaseModel, Field
from sqlalchemy import (
    Boolean,
    Column,
    Connection,
    Date,
    DateTime,
    Dialect,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    any_,
    bindparam,
    insert,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.types import TypeEngine

# The read side's tables. A table keyed by text whose other indexes (if any) hold the whole key
# already is made ``sqlite_with_rowid=False``: SQLite then keeps its rows in the key's own tree,
# not in a row-id tree beside a second tree holding the key again. A table with other indexes
# keeps its row ids: without them each entry of those would hold the whole text key instead of
# a row id, which costs more than the tree saved (measured: the timeline's file grew by a
# tenth). Files made before keep their shape and read alike; PostgreSQL ignores the option.
metadata = MetaData()


class UtcDateTime(TypeDecorator[datetime]):
    """An aware instant on both databases (SQLite would hand back naive local values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("instants must be timezone-aware")
        return (
            value.astimezone(UTC)
            if dialect.name == "postgresql"
            else value.astimezone(UTC).replace(tzinfo=None)
        )

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Strings(TypeDecorator[list[str]]):
    """A few strings as a JSON list (a set's sorted, so equal sets store equal text)."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Iterable[str] | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        listed = sorted(value) if isinstance(value, set | frozenset) else list(value)
        return json.dumps(listed, separators=(",", ":"))

    def process_result_value(self, value: Any, dialect: Dialect) -> list[str] | None:
        return None if value is None else list(json.loads(value))


def dialect_insert(connection: Connection, table: Table) -> Any:
    """The database's own insert (both have ``on_conflict_do_nothing``/``…_do_update``)."""
    if connection.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(table)
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(table)


def insert_ignoring_duplicates(connection: Connection, table: Table) -> Any:
    """An insert that leaves a row already there (same key) as it is."""
    return dialect_insert(connection, table).on_conflict_do_nothing()


def schema_of(connection: Connection) -> str | None:
    """The PostgreSQL schema the connection's tables live in (None: SQLite, or the default)."""
    translate = connection.get_execution_options().get("schema_translate_map") or {}
    schema: str | None = translate.get(None)
    return schema


def quoted_name(connection: Connection, table: Table) -> str:
    """The table's name for hand-written SQL, in the connection's schema."""
    schema = schema_of(connection)
    return f'"{schema}"."{table.name}"' if schema else f'"{table.name}"'


# --- rows in bulk ---

CHUNK = 500
"""Keys per ``IN (…)`` on SQLite (its limit on bound parameters)."""

T = TypeVar("T")


def chunked(items: Iterable[T], size: int = CHUNK) -> Iterator[list[T]]:
    chunk: list[T] = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def among(connection: Connection, column: Any, keys: Iterable[str]) -> Iterator[Any]:
    """Conditions that together select the rows whose ``column`` is one of ``keys``: one on
    PostgreSQL (the keys as one array), one per ``CHUNK`` keys on SQLite."""
    if connection.dialect.name == "postgresql":
        listed = list(keys)
        if listed:
            yield column == any_(bindparam(None, listed, type_=ARRAY(column.type)))
        return
    for chunk in chunked(keys):
        yield column.in_(chunk)


BULK = 100
"""Rows from which ``write_rows`` copies rather than inserts and updates (PostgreSQL)."""


def _copy_type(column: Column[Any]) -> str:
    """The PostgreSQL type whose binary form COPY is sent the column's values in."""
    kind: Any = column.type
    if isinstance(kind, TypeDecorator):
        kind = kind.impl_instance
    for sql_type, name in (
        (Boolean, "bool"),
        (Integer, "int4"),
        (Date, "date"),
        (LargeBinary, "bytea"),
        (String, "text"),  # varchar's binary form is text's
    ):
        if isinstance(kind, sql_type):
            return name
    if isinstance(kind, DateTime):
        return "timestamptz" if kind.timezone else "timestamp"
    raise TypeError(f"{column} cannot be copied")  # pragma: no cover


def copy_rows(connection: Connection, table: Table, rows: Iterable[Sequence[Any]]) -> bool:
    """Writes ``rows`` (values in the table's column order, as its column types hand them to
    the driver) with PostgreSQL's binary COPY, in the connection's transaction; False on
    another database (the caller inserts them itself)."""
    if connection.dialect.name != "postgresql":
        return False
    columns = ", ".join(f'"{column.name}"' for column in table.columns)
    statement = f"COPY {quoted_name(connection, table)} ({columns}) FROM STDIN (FORMAT BINARY)"
    cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        with cursor.copy(statement) as copy:
            copy.set_types([_copy_type(column) for column in table.columns])
            for row in rows:
                copy.write_row(row)
    finally:
        cursor.close()
    return True


def _driver_values(
    connection: Connection, table: Table, rows: Iterable[Mapping[str, Any]]
) -> Iterator[tuple[Any, ...]]:
    """Each row's values in the table's column order, as its column types bind them."""
    names = [column.name for column in table.columns]
    values = itemgetter(*names)
    processors = [
        (index, process)
        for index, column in enumerate(table.columns)
        if (process := column.type.bind_processor(connection.dialect)) is not None
    ]
    for row in rows:
        found = values(row)
        if processors:
            found = list(found)
            for index, process in processors:
                found[index] = process(found[index])
        yield tuple(found)


def write_rows(
    connection: Connection,
    table: Table,
    inserted: Sequence[Mapping[str, Any]],
    updated: Sequence[Mapping[str, Any]] = (),
) -> None:
    """Inserts the rows ``inserted`` and writes ``updated`` over the stored rows with the same
    key (the table's one-column primary key); many at once on PostgreSQL as a delete of the
    updated and one COPY of them all."""
    (key,) = table.primary_key.columns
    if connection.dialect.name == "postgresql" and len(inserted) + len(updated) >= BULK:
        if updated:
            connection.execute(
                text(
                    f'DELETE FROM {quoted_name(connection, table)} WHERE "{key.name}" = ANY(:keys)'
                ),
                {"keys": [row[key.name] for row in updated]},
            )
        copy_rows(connection, table, _driver_values(connection, table, (*inserted, *updated)))
        return
    if inserted:
        connection.execute(insert(table), list(inserted))
    if updated:
        connection.execute(
            update(table).where(key == bindparam("_key")),
            [{"_key": row[key.name], **row} for row in updated],
        )


# --- a row defined once ---


@dataclass(frozen=True)
class Stored:
    """How a row's field is stored: its column's type (nullable when the field may be None)."""

    type: TypeEngine[Any] | type[TypeEngine[Any]]
    primary_key: bool = False


@dataclass(frozen=True)
class Hidden:
    """A stored field readers are not sent (the fold's own state, a column to filter on)."""


@dataclass(frozen=True)
class ShownAs:
    """The name readers see the field under."""

    name: str


M = TypeVar("M")


def _marker(field: Any, kind: type[M]) -> M | None:
    return next((found for found in field.metadata if isinstance(found, kind)), None)


def _optional(annotation: Any) -> bool:
    return get_origin(annotation) in (Union, UnionType) and NoneType in get_args(annotation)


def columns_of(row: type[BaseModel]) -> list[Column[Any]]:
    """The table columns of ``row``'s fields, in its order."""
    columns: list[Column[Any]] = []
    for name, field in row.model_fields.items():
        stored = _marker(field, Stored)
        if stored is None:
            raise TypeError(f"{row.__name__}.{name} does not say how it is stored")
        columns.append(
            Column(
                name,
                stored.type,
                primary_key=stored.primary_key,
                nullable=not stored.primary_key and _optional(field.annotation),
            )
        )
    return columns


def shown_fields(row: type[BaseModel]) -> list[str]:
    """The names of ``row``'s fields readers are sent (its ``Hidden`` ones left out)."""
    return [name for name, field in row.model_fields.items() if _marker(field, Hidden) is None]


class RowView(BaseModel):
    """What readers are sent of a row model: ``class Item(RowView, row=Row)`` has each of
    ``Row``'s fields that is not ``Hidden``, under its ``ShownAs`` name, in ``Row``'s order
    and with no default (a row has them all); the subclass's own fields (e.g. a name joined
    from elsewhere) follow the row's key (or come last, for a row without one)."""

    _renamed: ClassVar[dict[str, str]] = {}  # the row's name: the name shown

    def __init_subclass__(cls, *, row: type[BaseModel] | None = None, **kwargs: Any) -> None:
        # Runs inside ``type.__new__``, before pydantic collects the fields (as in
        # ``shared.contracts.envelope``), so the fields set here are the class's own.
        super().__init_subclass__(**kwargs)
        if row is None:
            return
        own = inspect.get_annotations(cls)
        annotations: dict[str, Any] = {}
        renamed: dict[str, str] = {}
        for name, field in row.model_fields.items():
            if _marker(field, Hidden) is not None:
                continue
            shown = _marker(field, ShownAs)
            public = shown.name if shown else name
            if public != name:
                renamed[name] = public
            annotations[public] = field.annotation
            if field.description is not None:
                setattr(cls, public, Field(description=field.description))
            stored = _marker(field, Stored)
            if stored is not None and stored.primary_key:
                annotations.update(own)
        annotations.update({name: kind for name, kind in own.items() if name not in annotations})
        cls.__annotations__ = annotations
        cls._renamed = renamed

    @classmethod
    def of(cls, values: Mapping[str, Any]) -> Self:
        """The view of a stored row (with the subclass's own fields among ``values``)."""
        return cls.model_validate(
            {**values, **{cls._renamed[name]: values[name] for name in cls._renamed}}
        )
