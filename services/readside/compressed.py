"""The timeline's event bodies stored compressed on SQLite (``shared.compression``), with the
dictionary kept in the same file; PostgreSQL keeps them as text (it compresses long values
itself, and a text column cannot hold bytes). A body stored as text before reads as it was.

Always, whatever ``compress_stored_events`` says of the event stores: the read side is made
from them again at will (``kotoutus projections rebuild``), so how it stores its copies is its
own affair. The dictionaries read are the process's (one read side per process; ids are
content hashes, so several files' agree): bodies a newer version wrote while this process ran
(a rebuild by a newer command line) are read after its restart."""

from __future__ import annotations

from functools import cache
from typing import Any

from sqlalchemy import Column, Connection, Dialect, LargeBinary, Table, Text, TypeDecorator, select

from services.readside.storage import insert_ignoring_duplicates, metadata
from shared.compression.codec import Dictionaries, compress, decompress, dictionary_id
from shared.compression.dictionary import public_events_dictionary
from shared.contracts import CONTRACTS
from shared.law.rulebook import municipal_targets, rulebook

dictionaries = Table(
    "compression_dictionaries",
    metadata,
    Column("id", LargeBinary, primary_key=True),
    Column("dictionary", LargeBinary, nullable=False),
)


_KEPT = Dictionaries()  # read from the read side's files by ``keep_dictionary``


@cache
def body_dictionary() -> bytes:
    """This version's dictionary for public events' JSON (the same in every process)."""
    return public_events_dictionary(
        CONTRACTS.values(), [*rulebook().all(), *municipal_targets().all()]
    )


@cache
def _body_dictionary_id() -> bytes:  # a hash of 32 KB: not again for every body written
    return dictionary_id(body_dictionary())


def keep_dictionary(connection: Connection) -> None:
    """Stores this version's dictionary (before any body uses it) and reads every one stored,
    so bodies written by earlier versions read back."""
    if connection.dialect.name != "sqlite":
        return
    dictionaries.create(connection, checkfirst=True)
    mine = body_dictionary()
    connection.execute(
        insert_ignoring_duplicates(connection, dictionaries),
        {"id": dictionary_id(mine), "dictionary": mine},
    )
    for stored in connection.execute(select(dictionaries.c.dictionary)).scalars():
        _KEPT.remember(bytes(stored))


class CompressedJSON(TypeDecorator[str]):
    """JSON text; on SQLite stored compressed (bytes), read back as text either way."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> Any:
        if value is None or dialect.name != "sqlite":
            return value
        mine, key = body_dictionary(), _body_dictionary_id()
        if _KEPT.get(key) is None:  # no body may name a dictionary its file lacks
            raise RuntimeError("the read side's dictionary is not stored yet (keep_dictionary)")
        return compress(value.encode(), mine, key)

    def process_result_value(self, value: Any, dialect: Dialect) -> str | None:
        if isinstance(value, bytes | memoryview):
            return decompress(bytes(value), _KEPT.get).decode()
        return None if value is None else str(value)
