"""The outbox relay on real PostgreSQL and RabbitMQ (issue #14): one relay of a service
publishes at a time, the holder of its lease; the next holder goes on from the saved position;
a batch is decoded with each client's key read once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack, asynccontextmanager
from uuid import UUID, uuid4

import aio_pika
import asyncpg
import pytest
from faststream.rabbit import RabbitBroker

from kotoutus.embedded import EmbeddedSystem
from kotoutus.registry import SERVICES
from services.intake.application import IntakeApplication
from services.intake.model import PersonalDetails
from shared.clock import utc_now
from shared.eventstore import store_env
from shared.lease import lease_for
from shared.messaging.relay import OutboxRelay, register_publishers
from shared.messaging.topology import Topology
from shared.settings import Settings
from shared.values import Provenance
from tests.test_first_turn import _register

PROVENANCE = Provenance.system("test", "municipality:320", utc_now())


@pytest.fixture
def intake(distributed_settings: Settings) -> Iterator[IntakeApplication]:
    app = SERVICES["intake"].application(
        distributed_settings, store_env(distributed_settings, "intake")
    )
    assert isinstance(app, IntakeApplication)
    yield app
    app.close()


class Tap:
    """Every event published to the deployment's exchange, in the order it arrived."""

    def __init__(self, queue: aio_pika.abc.AbstractQueue) -> None:
        self.queue = queue
        self.ids: list[str] = []

    async def until(self, count: int) -> list[str]:
        """Waits for the ``count``-th message (a probe of state, not of time)."""
        async with self.queue.iterator() as messages:
            async for message in messages:
                await message.ack()
                self.ids.append(str(message.message_id))
                if len(self.ids) >= count:
                    break
        return self.ids


@asynccontextmanager
async def tap(settings: Settings) -> AsyncIterator[Tap]:
    assert settings.amqp_url
    connection = await aio_pika.connect(settings.amqp_url)
    async with connection:
        channel = await connection.channel()
        await channel.set_qos(prefetch_count=1)  # what a probe has not taken stays in order
        exchange = await channel.declare_exchange(
            Topology.of(settings).events.name, aio_pika.ExchangeType.TOPIC, durable=True
        )
        queue = await channel.declare_queue(exclusive=True)
        await queue.bind(exchange, "#")
        yield Tap(queue)


@asynccontextmanager
async def relay_of(
    settings: Settings, app: IntakeApplication, pool: asyncpg.Pool
) -> AsyncIterator[tuple[OutboxRelay, asyncio.Event, asyncio.Task[None]]]:
    """A relay of intake as a process of its own runs it, with the deployment's lease."""
    assert settings.amqp_url
    service = SERVICES["intake"]
    broker = RabbitBroker(settings.amqp_url, logger=None)
    publishers = register_publishers(broker, Topology.of(settings), service)
    await broker.start()
    relay = OutboxRelay(
        service,
        app,
        publishers,
        pool,
        schema=settings.schema_for("intake"),
        idle_seconds=0.05,
        lease=lease_for(settings, "intake", "relay"),
        lease_seconds=0.05,
    )
    stop = asyncio.Event()
    task = asyncio.create_task(relay.run(stop))
    try:
        yield relay, stop, task
    finally:
        stop.set()
        await task
        await broker.stop()


def _registered(app: IntakeApplication, count: int) -> list[UUID]:
    ids = [uuid4() for _ in range(count)]
    for client_id in ids:
        _register(app, client_id)
    return ids


def _count_key_reads(app: IntakeApplication) -> list[UUID]:
    """The clients whose key ``app`` reads from its store from now on, one entry a read."""
    reads: list[UUID] = []
    read_key = app.keys._key

    def counted(client: UUID, *, create: bool) -> bytes | None:
        reads.append(client)
        return read_key(client, create=create)

    app.keys._key = counted  # type: ignore[method-assign]
    return reads


def _public_events(app: IntakeApplication) -> int:
    """How many of intake's stored events are public (what a relay publishes)."""
    publishes = SERVICES["intake"].publishes
    stored = app.recorder.select_notifications(1, 10_000)
    return sum(1 for n in stored if publishes.event_type_of(n.topic))


@pytest.mark.distributed
async def test_one_relay_publishes_and_the_next_holder_goes_on_from_the_saved_position(
    distributed_settings: Settings, intake: IntakeApplication
) -> None:
    assert distributed_settings.database_url
    pool = await asyncpg.create_pool(distributed_settings.database_url, min_size=1, max_size=4)
    try:
        async with tap(distributed_settings) as published, AsyncExitStack() as relays:
            running = [
                await relays.enter_async_context(relay_of(distributed_settings, intake, pool))
                for _ in range(2)
            ]
            await asyncio.to_thread(_registered, intake, 3)
            before = await asyncio.to_thread(_public_events, intake)
            await asyncio.wait_for(published.until(before), 60)
            # One holds the lease, the other waits for it.
            leading = [relay._leading for relay, _, _ in running]
            assert sorted(leading) == [False, True]
            (holder, stop_holder, holder_ran), (waiter, _, _) = sorted(
                running, key=lambda r: not r[0]._leading
            )
            stop_holder.set()
            await holder_ran  # its lease released as it stops
            await asyncio.to_thread(_registered, intake, 2)
            after = await asyncio.to_thread(_public_events, intake)
            ids = await asyncio.wait_for(published.until(after), 60)
            assert waiter._leading and not holder._leading
        # Each event went out once: the waiter published nothing while it waited, and took up
        # from the saved position (anything before it, published again, would have arrived
        # ahead of the new events: in the log's order, on one channel).
        assert len(ids) == len(set(ids)) == after > before
    finally:
        await pool.close()


@pytest.mark.distributed
def test_a_batch_reads_each_clients_key_once(
    distributed_settings: Settings, intake: IntakeApplication
) -> None:
    client_id = uuid4()
    _register(intake, client_id)
    for name in ("Anna", "Aino", "Aada"):  # each correction seals the details again
        intake.correct_details(
            client_id,
            provenance=PROVENANCE,
            personal=PersonalDetails(given_names=name, family_name="B"),
            reason="typo",
        )
    reads = _count_key_reads(intake)
    relay = OutboxRelay(
        SERVICES["intake"],
        intake,
        {},
        pool=None,
        schema="unused",  # type: ignore[arg-type]
    )
    _, events = relay._read(1)
    sealed = [e for e in events if e.event_type in {"ClientRegistered", "ClientDetailsCorrected"}]
    assert len(sealed) == 4
    assert reads == [client_id]
    # Decoded with the key: the latest correction's name is in the published event.
    assert "Aada" in sealed[-1].model_dump_json()


def test_embedded_delivery_decodes_each_event_once_for_every_consumer(
    embedded: EmbeddedSystem,
) -> None:
    """In one process, the consumers of intake's events (assessment, plans, notifications,
    the read side) share one decoding per turn: the client's key is read once, not once per
    event and consumer — and each consumer still gets the details."""
    intake = embedded.nodes["intake"].app
    assert isinstance(intake, IntakeApplication)
    client_id = uuid4()
    _register(intake, client_id)
    intake.correct_details(
        client_id,
        provenance=PROVENANCE,
        personal=PersonalDetails(given_names="Aada", family_name="B"),
        reason="typo",
    )
    reads = _count_key_reads(intake)
    embedded.deliver_all()
    assert reads == [client_id]
    consumers = {c for c, source in embedded.delivery._cursors if source == "intake"}
    assert {"assessment", "plans", "notifications", "readside"} <= consumers
    last = intake.recorder.max_notification_id()
    assert all(embedded.system.consumers[c].position("intake") > 0 for c in consumers)
    assert all(embedded.delivery._cursors[(c, "intake")] == last for c in consumers)
