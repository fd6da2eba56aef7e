"""The read side applies batches: one transaction per batch, an inbox row per event, all or
nothing; any split of a history into batches, in any order, gives the rows one event at a time
gives; the statistics are counted as events are applied and equal a count of the history; a
rebuild writes in bulk (PostgreSQL's COPY) and equals live application."""

from __future__ import annotations

import base64
import os
from collections.abc import Iterator
from typing import Any
from uuid import uuid4

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, StaticPool, create_engine, func, select, text

from kotoutus.embedded import EmbeddedSystem
from services.readside import queries, storage, tables
from services.readside.caseload import CaseloadRow
from services.readside.names import NameSeal
from services.readside.projections import statistics as statistics_projection
from services.readside.projector import Projector
from services.readside.queries import CaseloadFilter, SortKey, page_query
from services.readside.service import projector as read_side
from services.readside.statistics import tally
from shared.contracts import PublicEvent
from shared.settings import Settings
from tests.support import SUPERVISOR
from tests.test_readside import SEAL, history, readable, scenario

PROJECTION_TABLES = (
    tables.events,
    tables.caseload,
    tables.client_names,
    tables.name_keys,
    tables.statistics_counts,
    tables.statistics_deadlines,
    tables.statistics_events,
)


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> list[PublicEvent]:
    """The history of three clients along different paths (starts, referrals, plans…)."""
    settings = Settings(data_dir=tmp_path_factory.mktemp("history"), late_entry_grace_hours=0)
    system = EmbeddedSystem(settings)
    with TestClient(system.api()) as test_client:
        scenario(test_client)
        return history(system)


def fresh() -> Projector:
    return Projector(create_engine("sqlite://", poolclass=StaticPool), SEAL)


def everything(engine: Engine) -> dict[str, Any]:
    """Every projection's rows (names opened), the inbox and the counts."""
    found: dict[str, Any] = readable(engine)
    with engine.connect() as connection:
        for table in (tables.inbox, *PROJECTION_TABLES[4:]):
            found[table.name] = sorted(connection.execute(select(table)).all(), key=repr)
    # A count taken back to nought (a start counted before its deadline came) is none.
    found["statistics_counts"] = [row for row in found["statistics_counts"] if row.count]
    return found


def counts(engine: Engine) -> dict[tuple[str, str, str], int]:
    with engine.connect() as connection:
        rows = connection.execute(select(tables.statistics_counts))
        return {(r.period, r.measure, r.dimension): r.count for r in rows if r.count}


def one_by_one(history: list[PublicEvent]) -> Projector:
    projector = fresh()
    for event in history:
        assert projector.apply(event) is True
    return projector


def test_a_batch_with_a_poison_event_applies_nothing(
    recorded: list[PublicEvent], monkeypatch: pytest.MonkeyPatch
) -> None:
    projector = fresh()
    before = everything(projector.engine)
    poison = recorded[len(recorded) // 2]
    apply = CaseloadRow._apply

    def refuse(row: CaseloadRow, event: PublicEvent) -> None:
        if event.message_id == poison.message_id:
            raise ValueError("the read side cannot take this one (test)")
        apply(row, event)

    monkeypatch.setattr(CaseloadRow, "_apply", refuse)
    with pytest.raises(ValueError, match="cannot take"):
        projector.handle(recorded)
    assert everything(projector.engine) == before  # not even the inbox rows before it
    # Split around the poison, the rest goes in; the poison alone fails alone.
    half = recorded.index(poison)
    assert projector.handle(recorded[:half]) == half
    with pytest.raises(ValueError):
        projector.handle([poison])
    assert projector.handle(recorded[half + 1 :]) == len(recorded) - half - 1
    monkeypatch.setattr(CaseloadRow, "_apply", apply)
    assert projector.handle([poison]) == 1
    assert everything(projector.engine) == everything(one_by_one(recorded).engine)


def test_a_redelivered_batch_changes_nothing(recorded: list[PublicEvent]) -> None:
    projector = fresh()
    assert projector.handle(recorded) == len(recorded)
    after = everything(projector.engine)
    assert projector.handle(recorded) == 0
    assert projector.handle(list(reversed(recorded[:5]))) == 0
    assert everything(projector.engine) == after
    # An event twice in one batch is applied once.
    again = fresh()
    assert again.handle([recorded[0], recorded[0], *recorded[1:]]) == len(recorded)
    assert everything(again.engine) == after


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(order=st.randoms(use_true_random=False), sizes=st.lists(st.integers(1, 40), min_size=1))
def test_any_split_into_batches_in_any_order_gives_the_same_rows(
    order: Any, sizes: list[int], recorded: list[PublicEvent]
) -> None:
    expected = everything(one_by_one(recorded).engine)
    shuffled = list(recorded)
    order.shuffle(shuffled)
    projector = fresh()
    start, turn = 0, 0
    while start < len(shuffled):
        size = sizes[turn % len(sizes)]
        projector.handle(shuffled[start : start + size])
        start, turn = start + size, turn + 1
    assert everything(projector.engine) == expected


def test_the_statistics_are_counted_as_events_come(recorded: list[PublicEvent]) -> None:
    expected = {key: value for key, value in tally(recorded).items() if value}
    assert any(key[1] == "assessments_started_against_municipal_target" for key in expected)
    assert counts(one_by_one(recorded).engine) == expected
    # A start before its deadline is known is counted again when the deadline comes.
    starts_first = sorted(recorded, key=lambda e: e.event_type != "AssessmentStarted")
    assert counts(one_by_one(starts_first).engine) == expected
    rebuilt = fresh()
    rebuilt.rebuild(recorded)
    assert counts(rebuilt.engine) == expected
    # A rebuild marks no inbox rows: events it took from history may still come live, and
    # count once.
    assert rebuilt.handle(recorded) == len(recorded)
    assert counts(rebuilt.engine) == expected


def test_a_read_side_made_before_the_counts_counts_its_timeline(
    recorded: list[PublicEvent],
) -> None:
    projector = one_by_one(recorded)
    expected = counts(projector.engine)
    with projector.engine.begin() as connection:
        for table in statistics_projection.Statistics.tables:
            table.drop(connection)
    again = Projector(projector.engine, SEAL)
    assert counts(again.engine) == expected
    assert everything(again.engine) == everything(projector.engine)


def test_the_statistics_report_reads_the_counts(
    client: TestClient, embedded: EmbeddedSystem
) -> None:
    scenario(client)
    embedded.deliver_all()
    # Nothing of the timeline is read: its bodies could be anything.
    with embedded.projector.engine.begin() as connection:
        connection.execute(tables.events.update().values(body="{}"))
    report = client.get("/statistics", params={"year": 2025}, headers=SUPERVISOR).json()
    measures = {figure["measure"] for figure in report["figures"]}
    assert "plans_agreed" in measures
    assert "assessments_started_against_municipal_target" in measures


@pytest.fixture
def client(embedded: EmbeddedSystem) -> Iterator[TestClient]:
    with TestClient(embedded.api()) as test_client:
        yield test_client


# --- PostgreSQL: locks, COPY ---


@pytest.fixture
def on_postgres(pg_database: str) -> Iterator[Settings]:
    yield Settings(
        database_url=pg_database,
        schema_prefix=f"t{uuid4().hex[:10]}_",
        master_key=base64.b64encode(os.urandom(32)).decode(),
    )


def pg_rows(projector: Projector) -> dict[str, Any]:
    found: dict[str, Any] = {}
    with projector.engine.connect() as connection:
        for table in (*PROJECTION_TABLES, tables.client_changes):
            found[table.name] = sorted(connection.execute(select(table)).all(), key=repr)
    return found


@pytest.mark.distributed
@pytest.mark.parametrize("bulk", [storage.BULK, 1])
def test_on_postgres_batches_and_a_bulk_rebuild_equal_one_by_one(
    recorded: list[PublicEvent],
    on_postgres: Settings,
    bulk: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(storage, "BULK", bulk)  # 1: every write of rows by COPY
    projector = read_side(on_postgres)
    assert isinstance(projector, Projector)
    try:
        half = len(recorded) // 2
        assert projector.handle(recorded[:half]) == half
        assert projector.handle(recorded) == len(recorded) - half  # the first half: seen
        live = pg_rows(projector)
        assert all(rows for name, rows in live.items() if name != "statistics_deadlines")
        with projector.engine.begin() as connection:
            connection.execute(tables.caseload.update().values(worker="someone else"))
        projector.rebuild(recorded)
        rebuilt = pg_rows(projector)
        assert {k: v for k, v in rebuilt.items() if k != "client_changes"} == {
            k: v for k, v in live.items() if k != "client_changes"
        }
        assert counts(projector.engine) == {k: v for k, v in tally(recorded).items() if v}
        with projector.engine.connect() as connection:
            inbox = connection.execute(select(func.count()).select_from(tables.inbox))
            assert inbox.scalar() == len(recorded)
    finally:
        projector.engine.dispose()


@pytest.mark.distributed
def test_on_postgres_a_caseload_page_is_read_from_an_index_in_page_order(
    recorded: list[PublicEvent], on_postgres: Settings
) -> None:
    projector = read_side(on_postgres)
    assert isinstance(projector, Projector)
    try:
        projector.handle(recorded)
        first = page_query(CaseloadFilter(organisation="municipality:320"), limit=51)
        with projector.engine.connect() as connection:
            page = connection.execute(first).all()
            after = queries._encode_cursor(
                SortKey.NEXT_DEADLINE, page[0].next_deadline, page[0].client_id
            )
            later = page_query(
                CaseloadFilter(organisation="municipality:320"), limit=51, cursor=after
            )
            connection.execute(text("SET LOCAL enable_seqscan = off"))
            schema = on_postgres.schema_for("readside")
            connection.execute(text(f'SET LOCAL search_path TO "{schema}"'))
            for query in (first, later):
                compiled = query.compile(
                    dialect=connection.dialect, compile_kwargs={"literal_binds": True}
                )
                plan = "\n".join(connection.execute(text(f"EXPLAIN {compiled}")).scalars())
                assert "caseload_organisation_deadline" in plan, plan
                assert "Sort" not in plan, plan  # read in page order, not sorted
    finally:
        projector.engine.dispose()


def test_no_seal_is_kept_per_client() -> None:
    """What the read side keeps in memory does not grow with its clients."""
    projector = Projector(create_engine("sqlite://", poolclass=StaticPool), NameSeal(bytes(32)))
    held = set(vars(projector)) | {
        name for projection in projector.projections for name in vars(projection)
    }
    assert held == {"engine", "seal", "postgres", "projections"}
