"""The RabbitMQ consumer on the real broker: a message that keeps failing for a reason a retry
might mend (a database that is down) is retried with a pause, then dead-lettered by the quorum
queue's delivery limit — never dropped, never retried forever."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import aio_pika
import pytest
from faststream.rabbit import RabbitBroker

from kotoutus.registry import SERVICES
from shared.contracts import PublicEvent
from shared.messaging.consumer import event_handler, register_consumer
from shared.messaging.topology import Topology
from shared.settings import Settings
from tests.support import eligibility_determined

pytestmark = pytest.mark.distributed


async def test_a_message_that_keeps_failing_is_dead_lettered_after_the_delivery_limit(
    distributed_settings: Settings,
) -> None:
    assert distributed_settings.amqp_url
    service = SERVICES["assessment"]
    topology = Topology(distributed_settings.amqp_prefix, distributed_settings.delivery_limit)
    attempts: list[str] = []

    class DatabaseDown:
        name = service.name
        event_types = service.policies.event_types

        def position(self, source: str) -> int:
            return 0

        def handle(self, events: Sequence[PublicEvent]) -> int:
            attempts.extend(str(event.message_id) for event in events)
            raise ConnectionError("the database does not answer")

    broker = RabbitBroker(distributed_settings.amqp_url, logger=None)
    register_consumer(
        broker,
        topology,
        service.name,
        event_handler(DatabaseDown()),
        prefetch=1,
        description="assessment, with its database down",
    )
    await broker.connect()
    assert service.subscription is not None
    await topology.declare(distributed_settings.amqp_url or "", [service.subscription], [])
    await broker.start()
    try:
        event = eligibility_determined("8d0f6a52-5d0e-4a43-9a4c-0b1b6c3f2e11", position=1)
        await broker.publish(
            event.model_dump_json().encode(),
            exchange=topology.events,
            routing_key=event.routing_key,
            message_id=str(event.message_id),
            persist=True,
        )
        letter = await _next_message(
            distributed_settings.amqp_url, topology.dead_letter_queue(service.name).name
        )
    finally:
        await broker.stop()

    # The first delivery and `delivery_limit` redeliveries, then the broker dead-letters it.
    assert attempts == [str(event.message_id)] * (distributed_settings.delivery_limit + 1)
    assert letter.message_id == str(event.message_id)
    assert letter.body == event.model_dump_json().encode()
    deaths: Any = letter.headers["x-death"]
    assert deaths[0]["reason"] == "delivery_limit"


async def _next_message(amqp_url: str, queue: str) -> aio_pika.abc.AbstractIncomingMessage:
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel()
        source = await channel.get_queue(queue, ensure=False)
        for _ in range(600):
            message = await source.get(fail=False, no_ack=True)
            if message is not None:
                return message
            await asyncio.sleep(0.05)
    raise AssertionError(f"nothing arrived in {queue}")
