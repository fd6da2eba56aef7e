"""Batches in every consumer (issue #14): a batch of messages is stored in one transaction with a
tracking row per message, all or nothing; a message at fault is split out and dead-lettered
alone with its reason while the rest are stored once; a redelivered batch, or a message twice
in one, changes nothing; nothing is acknowledged before it is stored. On SQLite and PostgreSQL,
in-process and over RabbitMQ."""

from __future__ import annotations

import asyncio
import base64
import copy
import json
import os
import random
import threading
import traceback
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, ClassVar
from uuid import uuid4

import aio_pika
import psycopg
import pytest
from eventsourcing.domain import Aggregate, event
from eventsourcing.persistence import Tracking
from faststream.rabbit import RabbitBroker

from services.intake.domain import Client
from services.intake.errors import UnknownPersonError
from shared.contracts import CONTRACTS, PublicEvent, parse_event
from shared.contracts.envelope import ContractError
from shared.contracts.events import ClientRegistered
from shared.contracts.inbound import (
    AddressChanged,
    InboundData,
    ResidencePermitGranted,
    SocialAssistanceGranted,
    example,
)
from shared.errors import DomainError
from shared.eventstore import ServiceApplication, store_env
from shared.failpoints import CRASH_EXIT_CODE
from shared.identity import IdentifierKind
from shared.messaging import inprocess
from shared.messaging.consumer import event_handler, register_consumer
from shared.messaging.consumers import ApplicationConsumer, Consumer, Handlers, Subscription
from shared.messaging.dead_letters import REASON_HEADER, SQLiteDeadLetters
from shared.messaging.inprocess import InProcessDelivery, Node
from shared.messaging.topology import Topology
from shared.service import PublicMapping, Service
from shared.settings import Settings
from shared.values import Provenance
from tests.support import (
    ServiceProcesses,
    eligibility_determined,
    events_broker,
    eventually,
    queue_depth,
)
from tests.test_distributed import assessment_version
from tests.test_exactly_once import Tally, TallyApplication, message, total
from tests.test_intake_nothing_lost import intake_store, person_code

# --- the store: one transaction per batch, a tracking row per message ---


class Counter(TallyApplication):
    """Counts each message it takes; refuses the positions in ``refused`` (a message at
    fault, every time)."""

    refused: ClassVar[frozenset[int]] = frozenset()

    def count_unless_refused(self, message: ClientRegistered) -> Sequence[Aggregate]:
        if message.position in self.refused:
            raise DomainError(f"position {message.position} is refused")
        return self.count(message)

    def count_on_even_only(self, message: ClientRegistered) -> Sequence[Aggregate]:
        """Changes the tally for every message, but returns it only for even positions."""
        tally = self.load(self.tally_id, Tally)
        tally.add(1)
        return (tally,) if message.position % 2 == 0 else ()

    def track_only(self, message: ClientRegistered) -> Sequence[Aggregate]:
        return ()


COUNT = Handlers[Counter]().on(ClientRegistered, Counter.count_unless_refused)


@pytest.fixture(params=["sqlite", "postgres"])
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    if request.param == "sqlite":
        return Settings(data_dir=tmp_path, database_url=None)
    pg_database = request.getfixturevalue("pg_database")
    return Settings(
        database_url=pg_database,
        schema_prefix=f"t{uuid4().hex[:10]}_",
        master_key=base64.b64encode(os.urandom(32)).decode(),
    )


def counter(settings: Settings, refused: frozenset[int] = frozenset()) -> Counter:
    app = Counter(settings, store_env(settings, "tally"))
    app.refused = refused
    tally = Tally()
    app.save(tally)
    app.tally_id = tally.id
    return app


@pytest.fixture
def app(settings: Settings) -> Iterator[Counter]:
    made = counter(settings)
    yield made
    made.close()


def tracked(app: ServiceApplication, positions: Iterable[int]) -> list[int]:
    """Which of upstream's ``positions`` ``app`` has tracked."""
    pairs = app.tracked([Tracking("upstream", p) for p in positions])
    return sorted(position for _, position in pairs)


def test_a_batch_is_one_transaction_with_a_tracking_row_each(app: Counter) -> None:
    batch = [message(p) for p in range(1, 6)]
    assert app.process_many(batch, COUNT) == 5
    assert total(app) == 5
    # One aggregate changed by every message of the batch: each saw the others' changes.
    assert app.load(app.tally_id, Tally).version == 1 + 5
    assert tracked(app, range(1, 9)) == [1, 2, 3, 4, 5]


def test_duplicates_within_a_batch_and_a_redelivered_batch_change_nothing(app: Counter) -> None:
    one, two, three = message(1), message(2), message(3)
    assert app.process_many([one, two, one], COUNT) == 2
    assert app.process_many([one, two], COUNT) == 0  # the whole batch again
    assert app.process_many([two, three, three], COUNT) == 1  # partly seen
    assert total(app) == 3


def test_a_batch_is_stored_all_or_nothing(settings: Settings) -> None:
    app = counter(settings, refused=frozenset({2}))
    try:
        batch = [message(p) for p in (1, 2, 3)]
        with pytest.raises(DomainError):
            app.process_many(batch, COUNT)
        assert total(app) == 0
        assert tracked(app, (1, 2, 3)) == []
        assert app.process_many([batch[0], batch[2]], COUNT) == 2
        assert total(app) == 2
    finally:
        app.close()


def test_a_change_a_handler_does_not_return_is_not_seen_by_the_next_message(
    app: Counter,
) -> None:
    # As if each message had had a transaction of its own: what a handler changed and did not
    # return is not stored, nor seen by the next message of the batch.
    handlers = Handlers[Counter]().on(ClientRegistered, Counter.count_on_even_only)
    assert app.process_many([message(p) for p in (1, 2, 3, 4)], handlers) == 4
    assert total(app) == 2


@pytest.mark.parametrize("handler", [Counter.count_unless_refused, Counter.track_only])
def test_overlapping_batches_at_once_apply_each_message_once(app: Counter, handler: Any) -> None:
    handlers = Handlers[Counter]().on(ClientRegistered, handler)
    messages = [message(p) for p in range(1, 9)]
    barrier = threading.Barrier(4)
    new: list[int] = []

    def handle(seed: int) -> None:
        batch = random.Random(seed).sample(messages, 6)
        barrier.wait()
        new.append(app.process_many(batch, handlers))

    threads = [threading.Thread(target=handle, args=(seed,)) for seed in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seen = {m.position for seed in range(4) for m in random.Random(seed).sample(messages, 6)}
    assert sum(new) == len(seen)
    assert tracked(app, range(1, 9)) == sorted(seen)
    if handler is Counter.count_unless_refused:
        assert total(app) == len(seen)


# --- no ping before each query: a connection the server cut is retried ---


def cut_every_connection(database_url: str) -> int:
    """Ends every other session of the test database, as a server restart would."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchall()
    return len(rows)


def test_queries_on_connections_the_server_cut_are_retried_not_failed(
    pg_database: str,
) -> None:
    settings = Settings(
        database_url=pg_database,
        schema_prefix=f"t{uuid4().hex[:10]}_",
        master_key=base64.b64encode(os.urandom(32)).decode(),
    )
    app = counter(settings)
    intake = intake_store(settings)
    try:
        assert app.process_many([message(1), message(2)], COUNT) == 2
        assert intake.receive_many(person(3)) == ["registered", "updated"]
        assert cut_every_connection(pg_database) >= 2  # both pools' connections are gone
        # Each of our queries meets a dead connection first: tracking, the store, the keys
        # and the lookups, in a batch and alone.
        assert tracked(app, (1, 2, 3)) == [1, 2]
        assert app.process_many([message(3), message(4)], COUNT) == 2
        assert total(app) == 4
        cut_every_connection(pg_database)
        fourth = person(4)
        assert intake.receive_many(fourth) == ["registered", "updated"]
        cut_every_connection(pg_database)
        assert intake.find(IdentifierKind.IDENTITY_CODE, person_code(4)) is not None
        assert intake.receive_many(fourth) == ["duplicate", "duplicate"]
    finally:
        app.close()
        intake.close()


# --- intake's inbound messages: a batch in one transaction ---


def test_inbound_messages_in_one_batch_see_each_other(settings: Settings) -> None:
    app = intake_store(settings)
    try:
        permit, assistance = person(1)
        # The second message finds the person the first registered in the same batch.
        assert app.receive_many([permit, assistance]) == ["registered", "updated"]
        assert app.receive_many([assistance, permit]) == ["duplicate", "duplicate"]
        clients = {
            n.originator_id
            for n in app.recorder.select_notifications(1, 1000)
            if n.topic.endswith("Client.Registered")
        }
        assert len(clients) == 1
        assert isinstance(app.client(next(iter(clients))), Client)
        # A message that cannot apply fails the whole batch, and nothing of it is stored.
        other = person(2)
        unknown = inbound(AddressChanged, {"identity_code": person_code(27)})
        with pytest.raises(UnknownPersonError):
            app.receive_many([other[0], unknown, other[1]])
        assert app.receive_many(other) == ["registered", "updated"]
    finally:
        app.close()


def inbound(model: type[InboundData], person: dict[str, str]) -> bytes:
    """A message of ``model`` about ``person`` (the model's example left as it is)."""
    message = example(model, f"{model.TYPE}-{uuid4()}")
    message["data"] = {**copy.deepcopy(message["data"]), "person": person}
    return json.dumps(message).encode()


def person(n: int) -> list[bytes]:
    """A residence permit and social assistance of person ``n``: each would register them."""
    code = person_code(n)
    return [
        inbound(
            ResidencePermitGranted,
            {"identity_code": code, "given_names": "Amina", "family_name": "P"},
        ),
        inbound(SocialAssistanceGranted, {"identity_code": code}),
    ]


# --- in-process delivery: runs of the log ---


class Person(Aggregate):
    @event("Registered")
    def __init__(
        self,
        *,
        provenance: Provenance,
        relationship_started_on: date,
        registered_jobseeker: bool,
        responsible_organisation: str,
    ) -> None:
        self.responsible_organisation = responsible_organisation


class Upstream(ServiceApplication):
    name = "upstream"
    service_name: ClassVar[str] = "upstream"


UPSTREAM = Service(
    name="upstream",
    application=Upstream,
    publishes=PublicMapping("upstream", "client_id", {"Person.Registered": ClientRegistered}),
)


def register_people(app: Upstream, count: int) -> None:
    for _ in range(count):
        app.save(
            Person(
                provenance=Provenance.system("upstream", "municipality:320", datetime.now(UTC)),
                relationship_started_on=date(2026, 1, 5),
                registered_jobseeker=False,
                responsible_organisation="municipality:320",
            )
        )


class Recording:
    """A consumer that remembers the batches it was handed, and fails as told first."""

    def __init__(self, inner: ApplicationConsumer, failures: list[Any] | None = None) -> None:
        self.inner = inner
        self.name = inner.name
        self.event_types = inner.event_types
        self.batches: list[list[int]] = []
        # What becomes of the first calls, one each: (events, inner) -> whether to fail.
        self.failures = failures or []

    def position(self, source: str) -> int:
        return self.inner.position(source)

    def handle(self, events: Sequence[PublicEvent]) -> int:
        self.batches.append([e.position for e in events])
        if self.failures and self.failures.pop(0)(events, self.inner):
            raise ConnectionError("the database does not answer")
        return self.inner.handle(events)


def fails_before_storing(events: Sequence[PublicEvent], inner: ApplicationConsumer) -> bool:
    return True


def fails_after_storing(events: Sequence[PublicEvent], inner: ApplicationConsumer) -> bool:
    inner.handle(events)  # stored: the transaction committed, the answer was lost
    return True


@pytest.fixture
def embedded_pair(tmp_path: Path) -> Iterator[tuple[Upstream, Settings]]:
    settings = Settings(data_dir=tmp_path, database_url=None)
    upstream = Upstream(settings, store_env(settings, "upstream"))
    yield upstream, settings
    upstream.close()


def delivery(
    upstream: Upstream, consumer: Consumer, settings: Settings, batch: int
) -> InProcessDelivery:
    return InProcessDelivery(
        {"upstream": Node(UPSTREAM, upstream)},
        [consumer],
        SQLiteDeadLetters(settings.data_dir / "dead-letters.sqlite"),
        consumer_batch=batch,
    )


def deliver_all(delivering: InProcessDelivery, upstream: Upstream) -> None:
    """Steps until the consumer has read the whole log (a failed step reads again)."""
    end = upstream.recorder.max_notification_id()
    for _ in range(100):
        delivering.step()
        if delivering._cursors.get(("tally", "upstream")) == end:
            return
    raise AssertionError("delivery never reached the end of the log")


def test_in_process_a_message_at_fault_is_dead_lettered_alone_and_the_rest_stored_once(
    embedded_pair: tuple[Upstream, Settings],
) -> None:
    upstream, settings = embedded_pair
    register_people(upstream, 12)
    app = counter(settings, refused=frozenset({5}))
    try:
        consumer = Recording(ApplicationConsumer("tally", app, COUNT))
        delivering = delivery(upstream, consumer, settings, batch=6)
        deliver_all(delivering, upstream)

        assert total(app) == 11
        assert tracked(app, range(1, 13)) == [p for p in range(1, 13) if p != 5]
        assert consumer.batches[0] == [1, 2, 3, 4, 5, 6]  # one run, refused as a whole
        assert [5] in consumer.batches  # then split until the one at fault was alone
        letters = delivering.dead_letters.all()
        assert [parse_event(letter.body, CONTRACTS).position for letter in letters] == [5]
        assert letters[0].reason == "DomainError: position 5 is refused"

        # The same log handed over again from the start: nothing changes.
        again = delivery(upstream, consumer, settings, batch=6)
        again._cursors[("tally", "upstream")] = 0
        deliver_all(again, upstream)
        assert total(app) == 11
        assert len(again.dead_letters.all()) == 1
    finally:
        app.close()


def test_in_process_a_failed_run_is_retried_and_each_message_applied_once(
    embedded_pair: tuple[Upstream, Settings],
) -> None:
    upstream, settings = embedded_pair
    register_people(upstream, 10)
    app = counter(settings)
    try:
        # The first run fails before it is stored, then one alone after it was stored.
        consumer = Recording(
            ApplicationConsumer("tally", app, COUNT),
            [fails_before_storing, lambda events, inner: False, fails_after_storing],
        )
        delivering = delivery(upstream, consumer, settings, batch=4)
        deliver_all(delivering, upstream)
        assert total(app) == 10
        assert tracked(app, range(1, 11)) == list(range(1, 11))
        assert delivering.dead_letters.all() == []
        # The run that failed for no fault of its own was tried one message at a time.
        assert consumer.batches[:3] == [[1, 2, 3, 4], [1], [2]]
    finally:
        app.close()


def test_in_process_an_event_its_contract_refuses_is_dead_lettered_alone(
    embedded_pair: tuple[Upstream, Settings], monkeypatch: pytest.MonkeyPatch
) -> None:
    # A turn parses each event once for all its consumers; one the contracts refuse is still
    # the fault of that event alone, for each consumer that takes it, as over the broker, and
    # each meets an error of its own.
    upstream, settings = embedded_pair
    register_people(upstream, 8)
    parse = inprocess.parse_event
    parsed: list[int] = []
    refusals: list[ContractError] = []

    def refusing_the_third(body: bytes | str, contracts: Any) -> PublicEvent:
        event = parse(body, contracts)
        parsed.append(event.position)
        if event.position == 3:
            refusals.append(ContractError("the third is refused by its contract"))
            raise refusals[-1]
        return event

    monkeypatch.setattr(inprocess, "parse_event", refusing_the_third)
    first, second = counter(settings), Counter(settings, store_env(settings, "second"))
    try:
        second.save(tally := Tally())
        second.tally_id = tally.id
        consumers = [
            Recording(ApplicationConsumer("tally", first, COUNT)),
            Recording(ApplicationConsumer("second", second, COUNT)),
        ]
        delivering = InProcessDelivery(
            {"upstream": Node(UPSTREAM, upstream)},
            consumers,
            SQLiteDeadLetters(settings.data_dir / "dead-letters.sqlite"),
            consumer_batch=4,
        )
        deliver_all(delivering, upstream)
        for app in (first, second):
            assert total(app) == 7
            assert tracked(app, range(1, 9)) == [p for p in range(1, 9) if p != 3]
        letters = delivering.dead_letters.all()
        assert sorted(letter.consumer for letter in letters) == ["second", "tally"]
        assert [parse(letter.body, CONTRACTS).position for letter in letters] == [3, 3]
        assert all("the third is refused by its contract" in it.reason for it in letters)
        # Each event parsed once for both; the refused one again for each run that held it,
        # of each consumer, raising an error of its own each time.
        assert sorted(p for p in parsed if p != 3) == [1, 2, 4, 5, 6, 7, 8]
        assert len(refusals) == parsed.count(3) >= 3
        # Each that reached a consumer raised once: its traceback holds no other raise's frames.
        met = [[frame.name for frame in traceback.extract_tb(e.__traceback__)] for e in refusals]
        met = [frames for frames in met if "received" in frames]
        assert len(met) == len(refusals) - 1  # all but the first, the turn's own parse
        assert all(f.count("received") == f.count("refusing_the_third") == 1 for f in met)
    finally:
        first.close()
        second.close()


# --- RabbitMQ: batches from the prefetch window ---


def subscription(name: str) -> Subscription:
    return Subscription(name, frozenset({"ClientRegistered"}), "counts registrations")


async def _drain(amqp_url: str, queue: str) -> list[aio_pika.abc.AbstractIncomingMessage]:
    taken = []
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel()
        source = await channel.get_queue(queue, ensure=False)
        while (got := await source.get(fail=False, no_ack=True)) is not None:
            taken.append(got)
    return taken


async def run_consumer(
    settings: Settings,
    consumer: Recording,
    messages: Sequence[PublicEvent],
    done: Any,
    *,
    prefetch: int = 50,
    batch: int = 8,
) -> None:
    """Publishes ``messages`` to the consumer's queue, then consumes until ``done()``."""
    assert settings.amqp_url
    topology = Topology(settings.amqp_prefix, settings.delivery_limit)
    broker = RabbitBroker(settings.amqp_url, logger=None)
    register_consumer(
        broker,
        topology,
        consumer.name,
        event_handler(consumer),
        prefetch=prefetch,
        description="counts registrations",
        batch_size=batch,
    )
    await broker.connect()
    await topology.declare(settings.amqp_url, [subscription(consumer.name)], [])
    for m in messages:  # all waiting before the consumer starts: the window fills at once
        await broker.publish(
            m.model_dump_json().encode(),
            exchange=topology.events,
            routing_key=m.routing_key,
            message_id=str(m.message_id),
            persist=True,
        )
    await broker.start()
    try:
        for _ in range(1200):
            if await asyncio.to_thread(done):
                return
            await asyncio.sleep(0.05)
        raise AssertionError(f"not done: batches {consumer.batches}")
    finally:
        await broker.stop()


def upstream_messages(count: int) -> list[ClientRegistered]:
    return [message(p) for p in range(1, count + 1)]


@pytest.mark.distributed
async def test_over_rabbitmq_a_message_at_fault_is_dead_lettered_alone_with_its_reason(
    distributed_settings: Settings,
) -> None:
    assert distributed_settings.amqp_url
    app = counter(distributed_settings, refused=frozenset({13}))
    consumer = Recording(ApplicationConsumer("tally", app, COUNT))
    topology = Topology(distributed_settings.amqp_prefix, distributed_settings.delivery_limit)
    queue, dead = topology.queue("tally").name, topology.dead_letter_queue("tally").name
    letters: list[aio_pika.abc.AbstractIncomingMessage] = []

    def done() -> bool:
        letters.extend(asyncio.run(_drain(distributed_settings.amqp_url or "", dead)))
        return bool(letters) and queue_depth(distributed_settings, queue) == 0

    try:
        await run_consumer(distributed_settings, consumer, upstream_messages(30), done)
        assert total(app) == 29
        assert tracked(app, range(1, 31)) == [p for p in range(1, 31) if p != 13]
        assert max(len(b) for b in consumer.batches) > 1  # batches formed
        assert [13] in consumer.batches  # and the one at fault was tried alone
        assert len(letters) == 1
        assert parse_event(letters[0].body, CONTRACTS).position == 13
        assert letters[0].headers[REASON_HEADER] == "DomainError: position 13 is refused"
    finally:
        app.close()


@pytest.mark.distributed
async def test_over_rabbitmq_nothing_is_acked_before_it_is_stored(
    distributed_settings: Settings,
) -> None:
    assert distributed_settings.amqp_url
    app = counter(distributed_settings)
    # The first batch fails before it is stored; a later one after it was stored (the
    # commit happened, its answer was lost): each is delivered again, and applied once.
    consumer = Recording(
        ApplicationConsumer("tally", app, COUNT),
        [fails_before_storing, fails_after_storing],
    )
    topology = Topology(distributed_settings.amqp_prefix, distributed_settings.delivery_limit)
    queue, dead = topology.queue("tally").name, topology.dead_letter_queue("tally").name

    def done() -> bool:
        return total(app) == 20 and queue_depth(distributed_settings, queue) == 0

    try:
        await run_consumer(distributed_settings, consumer, upstream_messages(20), done)
        assert total(app) == 20
        assert tracked(app, range(1, 21)) == list(range(1, 21))
        assert await asyncio.to_thread(queue_depth, distributed_settings, dead) == 0
        failed = consumer.batches[0]
        assert len(failed) > 1
        # Every message of the failed batch came back, each alone.
        assert all([p] in consumer.batches[1:] for p in failed)
    finally:
        app.close()


@pytest.mark.distributed
def test_a_consumer_killed_before_its_commit_gets_the_whole_batch_again(
    processes: ServiceProcesses, distributed_settings: Settings
) -> None:
    processes.start("assessment", failpoint="batch.before_commit")
    broker = events_broker(distributed_settings)
    clients = [str(uuid4()) for _ in range(12)]
    for n, client_id in enumerate(clients, start=1):
        e = eligibility_determined(client_id, position=n)
        broker.publish(e.model_dump_json().encode(), e.routing_key, str(e.message_id))
    # The first batch was decided, and the process died before storing it.
    assert processes.wait_exit("assessment") == CRASH_EXIT_CODE
    assert {assessment_version(distributed_settings, c) for c in clients} == {(0, 0)}

    processes.start("assessment")
    queue = Topology(distributed_settings.amqp_prefix, 3).queue("assessment").name
    eventually(
        lambda: (
            queue_depth(distributed_settings, queue) == 0
            and all(assessment_version(distributed_settings, c) == (1, 1) for c in clients)
        ),
        timeout=60,
        what="every message handled",
    )
    processes.stop("assessment")
    assert {assessment_version(distributed_settings, c) for c in clients} == {(1, 1)}
    assert "dead-letter" not in processes.log("assessment")
