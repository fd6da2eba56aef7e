"""Keys per (client, retention class): a store made by the code before classes keeps working —
its keys become the keys of the store's own class — and one class can be forgotten while
another of the same client stays readable. On SQLite and on PostgreSQL."""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from uuid import uuid4

import psycopg
import pytest
from eventsourcing.postgres import PostgresDatastore, PostgresProcessRecorder
from eventsourcing.sqlite import SQLiteDatastore, SQLiteProcessRecorder
from psycopg import sql

from services.assessment.sealing import RETENTION_CLASS as ASSESSMENT_CLASS
from services.assessment.sealing import ClientKeys as AssessmentKeys
from services.assessment.sealing import PersonErasedError
from services.notifications.keys import RETENTION_CLASS as LETTERS_CLASS
from services.notifications.keys import ClientKeys as NotificationKeys
from shared.client_keys import ClientErasedError, KeyErasedError, StoredClientKeys
from shared.crypto import PerClientSeal
from shared.retention import load_classes

MASTER = os.urandom(32)
PURPOSE = "kotoutus assessment client-key wrapping"  # the assessment store's, as today
OLD_TABLE = "assessment_client_keys"


def _sqlite_recorder(path: Path) -> SQLiteProcessRecorder:
    recorder = SQLiteProcessRecorder(SQLiteDatastore(str(path)))
    recorder.create_table()
    return recorder


@pytest.fixture
def pg_recorder(pg_database: str) -> Iterator[PostgresProcessRecorder]:
    schema = f"keys_{uuid4().hex[:10]}"
    with psycopg.connect(pg_database, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    url = urlsplit(pg_database)
    datastore = PostgresDatastore(
        url.path.lstrip("/"),
        url.hostname or "127.0.0.1",
        url.port or 5432,
        url.username or "postgres",
        url.password or "",
        schema=schema,
    )
    recorder = PostgresProcessRecorder(datastore)
    recorder.create_table()
    yield recorder
    datastore.close()
    with psycopg.connect(pg_database, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))


def _old_store(recorder: Any, rows: dict[Any, bytes | None]) -> None:
    """The table as the code before retention classes made it, with its rows."""
    postgres = isinstance(recorder, PostgresProcessRecorder)
    column = "bytea" if postgres else "blob"
    name = f"{recorder.datastore.schema}.{OLD_TABLE}" if postgres else OLD_TABLE
    mark = "%s" if postgres else "?"
    with recorder.datastore.transaction(commit=True) as cursor:
        cursor.execute(f"CREATE TABLE {name} (client_id text PRIMARY KEY, wrapped {column})")
        for client_id, wrapped in rows.items():
            cursor.execute(f"INSERT INTO {name} VALUES ({mark}, {mark})", (str(client_id), wrapped))


def _old_seal(wrapped: bytes, client_id: Any, details: Any) -> str:
    """Sealed as the code before retention classes sealed it."""
    plain = json.dumps(details, sort_keys=True, ensure_ascii=False).encode()
    return base64.b64encode(PerClientSeal(MASTER, PURPOSE).seal(client_id, wrapped, plain)).decode()


def _tables(recorder: Any) -> set[str]:
    with recorder.datastore.transaction(commit=False) as cursor:
        if isinstance(recorder, PostgresProcessRecorder):
            cursor.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
                (recorder.datastore.schema,),
            )
            return {row["table_name"] for row in cursor.fetchall()}
        cursor.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        return {row[0] for row in cursor.fetchall()}


def _migration_keeps_old_data_and_forgets_one_class(recorder: Any) -> None:
    kept, erased = uuid4(), uuid4()
    wrapped = PerClientSeal(MASTER, PURPOSE).new_key(kept)
    sealed_before = _old_seal(wrapped, kept, {"life_situation": "two children at school"})
    _old_store(recorder, {kept: wrapped, erased: None})  # ``erased``: a tombstone of today

    # A second class beside the store's own, as a service sealing two kinds would have.
    keys = StoredClientKeys(
        recorder,
        MASTER,
        table=OLD_TABLE,
        purpose=PURPOSE,
        retention_class=ASSESSMENT_CLASS,
        classes=("client_identity",),
        erased_error=PersonErasedError,
    )
    assert OLD_TABLE not in _tables(recorder) and f"{OLD_TABLE}_by_class" in _tables(recorder)

    # The old sealed data reads with the key it had, now its class's.
    assert keys.open(kept, sealed_before) == {"life_situation": "two children at school"}
    assert keys.open(kept, sealed_before, ASSESSMENT_CLASS) == {
        "life_situation": "two children at school"
    }
    # The old tombstone stands: nothing is read, nothing new sealed in the store's class.
    assert keys.forgotten(erased, ASSESSMENT_CLASS)
    with pytest.raises(PersonErasedError):
        keys.seal(erased, {"note": "x"})

    identity = keys.seal(kept, {"name": "Olena"}, "client_identity")
    keys.forget(kept, ASSESSMENT_CLASS)  # the findings run out ...
    with pytest.raises(KeyErasedError):
        keys.open(kept, sealed_before)
    # ... and the identity stays readable.
    assert keys.open(kept, identity, "client_identity") == {"name": "Olena"}
    assert not keys.forgotten(kept, "client_identity")

    # Opening again (a restart) finds no old table and changes nothing.
    again = StoredClientKeys(
        recorder,
        MASTER,
        table=OLD_TABLE,
        purpose=PURPOSE,
        retention_class=ASSESSMENT_CLASS,
        classes=("client_identity",),
    )
    assert again.open(kept, identity, "client_identity") == {"name": "Olena"}
    assert again.forgotten(kept, ASSESSMENT_CLASS)

    # An erasure forgets every class of the store.
    again.forget(kept)
    assert again.forgotten(kept, "client_identity") and again.forgotten(kept, ASSESSMENT_CLASS)
    with pytest.raises(ClientErasedError):
        again.seal(kept, {"name": "Olena"}, "client_identity")


def test_a_store_made_before_classes_keeps_working_on_sqlite(tmp_path: Path) -> None:
    _migration_keeps_old_data_and_forgets_one_class(_sqlite_recorder(tmp_path / "a.sqlite"))


def test_a_store_made_before_classes_keeps_working_on_postgres(
    pg_recorder: PostgresProcessRecorder,
) -> None:
    _migration_keeps_old_data_and_forgets_one_class(pg_recorder)


def test_each_service_seals_in_a_class_of_the_retention_file(tmp_path: Path) -> None:
    classes = load_classes()
    recorder = _sqlite_recorder(tmp_path / "b.sqlite")
    assessment = AssessmentKeys(recorder, MASTER)
    letters = NotificationKeys(recorder, MASTER)
    assert (assessment.retention_class, letters.retention_class) == (
        ASSESSMENT_CLASS,
        LETTERS_CLASS,
    )
    assert classes[ASSESSMENT_CLASS].owner == "assessment"
    assert classes[LETTERS_CLASS].owner == "notifications"
    with pytest.raises(ValueError, match="no keys of class"):
        letters.seal(uuid4(), {"address": "x"}, "client_identity")
