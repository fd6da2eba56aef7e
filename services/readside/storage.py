"""What the read side's tables share: one ``MetaData``, the column types both databases read
back alike, the dialect's "insert unless there", and a row defined once.

A row defined once (``columns_of``, ``RowView``): a pydantic model whose every field says how
it is stored (``Stored``) gives the table its columns, in its order, nullable where the field
may be None; the same model, less its ``Hidden`` fields, gives the model readers are sent.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from types import NoneType, UnionType
from typing import Any, ClassVar, Self, TypeVar, Union, get_args, get_origin

from pydantic import BaseModel, Field
from sqlalchemy import Column, Connection, DateTime, Dialect, MetaData, Table, Text, TypeDecorator
from sqlalchemy.types import TypeEngine

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


def insert_ignoring_duplicates(connection: Connection, table: Table) -> Any:
    """An insert that leaves a row already there (same key) as it is."""
    if connection.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(table).on_conflict_do_nothing()
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(table).on_conflict_do_nothing()


def schema_of(connection: Connection) -> str | None:
    """The PostgreSQL schema the connection's tables live in (None: SQLite, or the default)."""
    translate = connection.get_execution_options().get("schema_translate_map") or {}
    schema: str | None = translate.get(None)
    return schema


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
