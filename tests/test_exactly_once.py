"""The exactly-once machinery of every service, on SQLite and on PostgreSQL: tracking in the
same transaction as the effect, and retries of optimistic-concurrency conflicts."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar
from uuid import UUID, uuid4

import pytest
from eventsourcing.domain import Aggregate, event

from shared.contracts import PublicEvent
from shared.contracts.events import ClientRegistered, ClientRegisteredData
from shared.eventstore import ServiceApplication, store_env
from shared.settings import Settings
from shared.values import Actor, ActorKind


class Tally(Aggregate):
    """Counts what it is told to count: not idempotent on purpose."""

    @event("Opened")
    def __init__(self) -> None:
        self.total = 0

    @event("Added")
    def add(self, amount: int) -> None:
        self.total += amount


class TallyApplication(ServiceApplication):
    name = "tally"
    service_name: ClassVar[str] = "tally"
    tally_id: UUID

    def count(self, message: PublicEvent) -> Sequence[Aggregate]:
        tally = self.load(self.tally_id, Tally)
        tally.add(1)
        return (tally,)


@pytest.fixture(params=["sqlite", "postgres"])
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    if request.param == "sqlite":
        return Settings(data_dir=tmp_path, database_url=None)
    pg_database = request.getfixturevalue("pg_database")
    return Settings(database_url=pg_database, schema_prefix=f"t{uuid4().hex[:10]}_")


@pytest.fixture
def tally_app(settings: Settings) -> Iterator[TallyApplication]:
    app = TallyApplication(settings, store_env(settings, "tally"))
    tally = Tally()
    app.save(tally)
    app.tally_id = tally.id
    yield app
    app.close()


def message(position: int) -> ClientRegistered:
    client = uuid4()
    now = datetime.now(UTC)
    return ClientRegistered(
        message_id=uuid4(),
        event_type="ClientRegistered",
        schema_version=1,
        source="upstream",
        position=position,
        aggregate_id=client,
        aggregate_version=1,
        occurred_at=now,
        recorded_at=now,
        actor=Actor(id="system:test", kind=ActorKind.SYSTEM),
        organisation="municipality:320",
        data=ClientRegisteredData(
            client_id=client,
            relationship_started_on=now.date(),
            registered_jobseeker=False,
            responsible_organisation="municipality:320",
        ),
    )


def total(app: TallyApplication) -> int:
    return app.load(app.tally_id, Tally).total


def test_a_redelivered_message_changes_nothing(tally_app: TallyApplication) -> None:
    first = message(position=5)
    assert tally_app.process(first, TallyApplication.count) is True
    assert tally_app.process(first, TallyApplication.count) is False
    assert total(tally_app) == 1


def test_out_of_order_delivery_is_neither_lost_nor_doubled(tally_app: TallyApplication) -> None:
    # A later position first (e.g. after a requeue), then the earlier one, then both again.
    for position in (9, 8, 9, 8):
        tally_app.process(message(position), TallyApplication.count)
    assert total(tally_app) == 2
    assert tally_app.tracked_position("upstream") == 9


def test_the_same_message_handled_concurrently_has_one_effect(tally_app: TallyApplication) -> None:
    same = message(position=3)
    barrier = threading.Barrier(4)
    outcomes: list[bool] = []

    def handle() -> None:
        barrier.wait()
        outcomes.append(tally_app.process(same, TallyApplication.count))

    threads = [threading.Thread(target=handle) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == [False, False, False, True]
    assert total(tally_app) == 1


def test_a_command_that_loses_a_race_decides_again_and_nothing_is_lost(
    tally_app: TallyApplication, settings: Settings
) -> None:
    rival = TallyApplication(settings, store_env(settings, "tally"))
    decisions: list[int] = []

    def decide(tally: Any) -> None:
        decisions.append(tally.version)
        if len(decisions) == 1:
            # Someone else saves between our read and our write.
            other = rival.load(tally_app.tally_id, Tally)
            other.add(10)
            rival.save(other)
        tally.add(1)

    tally_app.update(tally_app.tally_id, Tally, decide)
    rival.close()
    assert decisions == [1, 2]  # the second decision saw the rival's change
    assert total(tally_app) == 11
