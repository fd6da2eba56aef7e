"""Stored events are compressed with a dictionary kept in their own store: what was stored
before compression, and what an earlier or later version compressed with its own dictionary,
all read back; the store alone is enough to read them; the hash chain holds across. On SQLite
and on PostgreSQL. The read side's bodies likewise on SQLite."""

from __future__ import annotations

import base64
import json
import os
import zlib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import create_engine, insert, select

from kotoutus.bootstrap import build_application
from kotoutus.registry import SERVICES
from services.intake.application import IntakeApplication
from services.intake.model import ClientFacts, PermitType, PersonalDetails, ResidencePermit
from services.readside.compressed import body_dictionary, dictionaries
from services.readside.names import NameSeal
from services.readside.projections.timeline import events, stored_event
from services.readside.projector import Projector
from services.readside.queries import timeline
from shared.audit import HashChain
from shared.auth.access_log import AccessLog
from shared.clock import utc_now
from shared.compression.codec import (
    FORMAT,
    LEVEL,
    MARK,
    DictionaryCompressor,
    UnknownDictionaryError,
    compress,
    decompress,
    dictionary_id,
)
from shared.compression.dictionary import aggregates_of, event_store_dictionary
from shared.compression.tables import StoredDictionaries
from shared.contracts import CONTRACTS, PublicEvent, parse_event
from shared.eventstore import store_env
from shared.law.rulebook import Rule, RuleBook, municipal_targets, rulebook
from shared.settings import Settings
from shared.values import Actor, ActorKind, Provenance

STAFF = Actor(id="official:test", kind=ActorKind.USER)
DICTIONARY = json.dumps([r.ref.model_dump(mode="json") for r in rulebook().all()]).encode()


# --- the stored form ---


@given(
    value=st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(),
        lambda inner: st.lists(inner) | st.dictionaries(st.text(), inner),
    )
)
def test_any_json_reads_back_as_it_was_given(value: Any) -> None:
    plain = json.dumps({"v": value}, ensure_ascii=False).encode()
    stored = compress(plain, DICTIONARY, dictionary_id(DICTIONARY))
    assert decompress(stored, {dictionary_id(DICTIONARY): DICTIONARY}.get) == plain


def test_values_compressed_at_once_from_a_primed_state_are_each_their_own_stream() -> None:
    # Each value starts from a copy of one compressor primed with the dictionary: threads
    # compressing at once get the stream a compressor of their own would make, and nothing of
    # one value reaches another's.
    key = dictionary_id(DICTIONARY)
    values = [
        json.dumps({"n": n, "basis": DICTIONARY[: n * 40].decode()}).encode() for n in range(64)
    ]

    def alone(value: bytes) -> bytes:
        deflate = zlib.compressobj(LEVEL, zlib.DEFLATED, -15, zdict=DICTIONARY)
        packed = MARK + FORMAT + key + deflate.compress(value) + deflate.flush()
        return packed if len(packed) < len(value) else value

    with ThreadPoolExecutor(max_workers=8) as pool:
        stored = list(pool.map(lambda value: compress(value, DICTIONARY, key), values * 4))
    assert stored == [alone(value) for value in values * 4]


def test_a_rule_heavy_value_is_stored_in_a_fraction_and_a_small_one_as_it_is() -> None:
    key = dictionary_id(DICTIONARY)
    heavy = json.dumps({"legal_basis": json.loads(DICTIONARY)[:3]}).encode()
    stored = compress(heavy, DICTIONARY, key)
    assert stored[:2] == MARK + FORMAT and stored[2:10] == key
    assert len(stored) * 10 < len(heavy)
    tiny = b"{}"
    assert compress(tiny, DICTIONARY, key) == tiny  # compressing would make it larger
    assert decompress(tiny, {}.get) == tiny  # as stored before compression: read as it is


def test_a_value_whose_dictionary_or_end_is_missing_is_an_error_not_garbage() -> None:
    key = dictionary_id(DICTIONARY)
    stored = compress(json.dumps(json.loads(DICTIONARY)[:3]).encode(), DICTIONARY, key)
    with pytest.raises(UnknownDictionaryError, match=key.hex()):
        decompress(stored, {}.get)
    with pytest.raises(ValueError, match="cut short"):
        decompress(stored[:-5], {key: DICTIONARY}.get)
    with pytest.raises(ValueError, match="unknown compressed format"):
        decompress(MARK + b"\x07" + stored[2:], {key: DICTIONARY}.get)


def test_a_dictionary_another_process_added_later_is_read_from_the_store() -> None:
    table = [DICTIONARY]  # the store's table
    asked: list[int] = []

    def stored() -> list[bytes]:
        asked.append(len(table))
        return list(table)

    running = DictionaryCompressor()
    running.use(DICTIONARY, stored)
    other = DICTIONARY + b" a later version's rules"
    table.append(other)  # a later version starts, and keeps its own
    upgraded = DictionaryCompressor()
    upgraded.use(other, lambda: list(table))
    value = json.dumps(json.loads(DICTIONARY)[:2]).encode()
    written = upgraded.compress(value)
    assert written[2:10] == dictionary_id(other)
    assert running.decompress(written) == value  # read with the store's table, asked again
    assert asked == [1, 2]
    with pytest.raises(UnknownDictionaryError):
        DictionaryCompressor().decompress(written)  # a store without it: an error, said so


# --- a service's event store ---


@pytest.fixture(params=["sqlite", "postgresql"])
def settings(
    request: pytest.FixtureRequest, embedded_settings: Settings, pg_database: str
) -> Settings:
    if request.param == "sqlite":
        return embedded_settings
    return Settings(
        database_url=pg_database,
        schema_prefix=f"t{uuid4().hex[:10]}_",
        master_key=base64.b64encode(os.urandom(32)).decode(),
    )


def intake(settings: Settings, *, compress: bool = True, book: RuleBook | None = None) -> Any:
    chosen = settings.model_copy(update={"compress_stored_events": compress})
    if book is None:
        return build_application(chosen, SERVICES["intake"])
    return IntakeApplication(chosen, store_env(chosen, "intake"), book)


def register(app: IntakeApplication) -> UUID:
    today = date(2026, 12, 1)
    client = app.register_client(
        client_id=uuid4(),
        provenance=Provenance(actor=STAFF, organisation="municipality:320", occurred_at=utc_now()),
        personal=PersonalDetails(given_names="Olena", family_name="Kovalenko"),
        facts=ClientFacts(
            home_municipality="320",
            non_temporary_social_assistance=True,
            residence_permit=ResidencePermit(
                type=PermitType.A, first_permit_on=today - timedelta(days=30)
            ),
        ),
        relationship_started_on=today,
        source="test",
    )
    return UUID(str(client.id))


@pytest.fixture
def closing() -> Iterator[list[Any]]:
    opened: list[Any] = []
    yield opened
    for app in opened:
        app.close()


def amended(book: RuleBook) -> RuleBook:
    """The rule book as a later version might have it: a citation reworded."""
    rules = book.all()
    first = rules[0]
    changed = Rule.model_validate(first.model_dump() | {"citation": first.citation + " (reworded)"})
    return RuleBook([changed, *rules[1:]])


def test_events_of_every_version_read_back_and_the_chain_holds(
    settings: Settings, closing: list[Any]
) -> None:
    before = intake(settings, compress=False)  # a store written before compression
    closing.append(before)
    legacy = register(before)
    HashChain(before).extend()
    before.close()

    now = intake(settings)
    closing.append(now)
    current = register(now)
    later = intake(settings, book=amended(rulebook()))  # a later version, other rules
    closing.append(later)
    newest = register(later)

    states = {n.originator_id: bytes(n.state) for n in now.recorder.select_notifications(1, 100)}
    assert states[legacy][:1] == b"{"  # stored as it was …
    assert states[current][:2] == states[newest][:2] == MARK + FORMAT  # … new ones compressed
    assert states[current][2:10] != states[newest][2:10]  # each with its version's dictionary
    assert len(StoredDictionaries(now.recorder).all()) == 2
    off = intake(settings, compress=False)  # compression turned off again
    closing.append(off)
    for app in (now, later, off):  # each reads all three clients
        for client_id in (legacy, current, newest):
            assert app.repository.get(client_id).personal.family_name == "Kovalenko"

    chain = HashChain(now)
    chain.extend()
    assert chain.verify().intact


def test_the_store_alone_is_enough_to_read_its_events(
    settings: Settings, closing: list[Any]
) -> None:
    app = intake(settings)
    closing.append(app)
    client_id = register(app)
    own = {dictionary_id(d): d for d in StoredDictionaries(app.recorder).all()}
    for notification in app.recorder.select_notifications(1, 100):
        plain = decompress(bytes(notification.state), own.get)  # nothing from this process
        assert json.loads(plain)["client_id"]["_data_"] == client_id.hex


def test_the_dictionary_is_made_from_the_code_alone(settings: Settings, closing: list[Any]) -> None:
    app = intake(settings)
    closing.append(app)
    register(app)
    (stored,) = StoredDictionaries(app.recorder).all()
    assert b"Olena" not in stored and b"Kovalenko" not in stored
    # Any process of this version makes the same, from the code: no stored value goes in.
    made = event_store_dictionary(
        app.mapper.transcoder,
        aggregates_of(type(app)),
        [*rulebook().all(), *municipal_targets().all()],
    )
    assert made == stored
    assert (
        rulebook().in_force("assessment.start_deadline", date(2026, 1, 1)).citation.encode()
        in stored
    )
    assert b"services.intake.domain:Client" in stored


# --- the read side's bodies (SQLite) ---


def test_a_body_stored_as_text_before_reads_back_and_new_ones_are_compressed(
    embedded: Any,
) -> None:
    engine = embedded.projector.engine
    registered = {
        "client_id": str(uuid4()),
        "source": "intake",
        "position": 1,
        "event_type": "WorkerAssigned",
        "recorded_at": utc_now(),
    }
    with engine.begin() as connection:
        new = dict(registered, body=_body(registered))
        connection.execute(insert(events), new)
        raw = connection.exec_driver_sql(
            "INSERT INTO events VALUES (?,?,?,?,?,?)",
            (
                registered["client_id"],
                "intake",
                2,
                "WorkerAssigned",
                "2026-12-01 00:00:00.000000",
                _body(registered),  # as text, as an earlier version stored it
            ),
        )
        assert raw.rowcount == 1
        stored = connection.exec_driver_sql("SELECT body FROM events").scalars().all()
        bodies = connection.execute(select(events.c.event_type, events.c.body)).all()
        kept = set(connection.execute(select(dictionaries.c.id)).scalars())
    assert sorted(type(b).__name__ for b in stored) == ["bytes", "str"]
    (compressed,) = [b for b in stored if isinstance(b, bytes)]
    assert compressed[2:10] == dictionary_id(body_dictionary()) and compressed[2:10] in kept
    assert [stored_event(kind, body).data.worker for kind, body in bodies] == ["official:w1"] * 2


def _body(row: dict[str, Any]) -> str:
    return json.dumps(
        {
            "message_id": str(uuid4()),
            "event_type": "WorkerAssigned",
            "schema_version": 1,
            "source": "intake",
            "position": 1,
            "aggregate_id": row["client_id"],
            "aggregate_version": 2,
            "occurred_at": "2026-12-01T00:00:00Z",
            "recorded_at": "2026-12-01T00:00:00Z",
            "actor": {"id": "official:test", "kind": "user"},
            "organisation": "municipality:320",
            "data": {"client_id": row["client_id"], "worker": "official:w1"},
        }
    )


# As an earlier version made the read side's timeline: keyed (message_id, client_id), with an
# index by client and time, and bodies as text.
EARLIER_EVENTS = """CREATE TABLE events (
    message_id VARCHAR(36) NOT NULL, client_id VARCHAR(36) NOT NULL,
    source VARCHAR(64) NOT NULL, position INTEGER NOT NULL, event_type VARCHAR(64) NOT NULL,
    occurred_at DATETIME NOT NULL, recorded_at DATETIME NOT NULL, actor VARCHAR(200) NOT NULL,
    organisation VARCHAR(200) NOT NULL, body TEXT NOT NULL, PRIMARY KEY (message_id, client_id))"""


def test_a_read_side_an_earlier_version_made_reads_and_goes_on(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'readside.sqlite'}")
    client_id = str(uuid4())
    first, second = _public(client_id, 1, "official:w1"), _public(client_id, 2, "official:w2")
    with engine.begin() as connection:
        connection.exec_driver_sql(EARLIER_EVENTS)
        connection.exec_driver_sql("CREATE INDEX events_client ON events (client_id, recorded_at)")
        connection.exec_driver_sql(
            "INSERT INTO events VALUES (?,?,?,?,?,?,?,?,?,?)",
            (
                str(first.message_id),
                client_id,
                "intake",
                1,
                "WorkerAssigned",
                "2026-12-01 00:00:01.000000",
                "2026-12-01 00:00:01.000000",
                "official:test",
                "municipality:320",
                first.model_dump_json(),
            ),
        )
    projector = Projector(engine, NameSeal(bytes(32)))
    assert projector.handle([second]) == 1

    assert [e.data.worker for e in timeline(engine, UUID(client_id))] == [  # type: ignore[attr-defined]
        "official:w1",
        "official:w2",
    ]
    with engine.connect() as connection:
        stored = connection.exec_driver_sql("SELECT body FROM events ORDER BY position").scalars()
        assert [type(body) for body in stored] == [str, bytes]  # as it was; the new compressed


def test_a_new_read_side_keeps_a_clients_timeline_by_its_key(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'readside.sqlite'}")
    Projector(engine, NameSeal(bytes(32)))
    with engine.connect() as connection:
        indexes = connection.exec_driver_sql(
            "SELECT name FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'events'"
        ).scalars()
        key = connection.exec_driver_sql("PRAGMA index_info('sqlite_autoindex_events_1')")
        assert [row[2] for row in key] == ["client_id", "source", "position"]
        assert set(indexes) == {"sqlite_autoindex_events_1", "events_type"}
        plan = " ".join(
            str(row[-1])
            for row in connection.exec_driver_sql(
                "EXPLAIN QUERY PLAN SELECT body FROM events WHERE client_id = ?", ("x",)
            )
        )
    assert "sqlite_autoindex_events_1 (client_id=?)" in plan  # a range of the key, no scan


def test_tables_keyed_by_text_keep_their_rows_in_the_keys_tree(tmp_path: Path) -> None:
    """No second tree holding the key again beside a row-id tree (SQLite's automatic index of
    a primary key): the rows are the key's tree (``WITHOUT ROWID``)."""
    engine = create_engine(f"sqlite:///{tmp_path / 'readside.sqlite'}")
    Projector(engine, NameSeal(bytes(32)))
    log = AccessLog(create_engine(f"sqlite:///{tmp_path / 'access.sqlite'}"))
    keyed = {
        engine: ["client_names", "name_keys", "statistics_counts", "statistics_deadlines"],
        log.engine: ["access_log_clients"],
    }
    for database, tables in keyed.items():
        with database.connect() as connection:
            for table in tables:
                (made,) = connection.exec_driver_sql(
                    "SELECT sql FROM sqlite_schema WHERE type = 'table' AND name = ?", (table,)
                ).one()
                assert made.rstrip().endswith("WITHOUT ROWID"), table
                autoindex = f"sqlite_autoindex_{table}_1"
                found = connection.exec_driver_sql(
                    "SELECT name FROM sqlite_schema WHERE name = ?", (autoindex,)
                )
                assert found.first() is None, table


def _public(client_id: str, position: int, worker: str) -> PublicEvent:
    recorded = f"2026-12-01T00:00:0{position}Z"
    return parse_event(
        json.dumps(
            {
                "message_id": str(uuid4()),
                "event_type": "WorkerAssigned",
                "schema_version": 1,
                "source": "intake",
                "position": position,
                "aggregate_id": client_id,
                "aggregate_version": position + 1,
                "occurred_at": recorded,
                "recorded_at": recorded,
                "actor": {"id": "official:test", "kind": "user"},
                "organisation": "municipality:320",
                "data": {"client_id": client_id, "worker": worker},
            }
        ),
        CONTRACTS,
    )
