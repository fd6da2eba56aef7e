"""Names and shapes of the exchanges and queues; every process declares all of them at start so
that no event is published before the queues of its subscribers exist.

They are declared on a connection of their own, not the broker's: FastStream keeps the queue
object a declaration made and consumes on that object's channel, so queues declared on the
broker's default channel would be consumed there, without the consumer's prefetch.

Queue arguments cannot change on a live queue (RabbitMQ answers PRECONDITION_FAILED), so a
change of ``delivery_limit`` is a migration: see deploy/README.md.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import aio_pika
from faststream.rabbit import ExchangeType, QueueType, RabbitExchange, RabbitQueue

from shared.service import Service
from shared.settings import Settings

READ_SIDE = "readside"  # the read side's consumer name (its queue: <prefix>.readside)


@dataclass(frozen=True)
class Topology:
    prefix: str
    delivery_limit: int
    # How long a message that cannot apply yet (it names a person not yet known) waits
    # before it is tried again.
    wait_seconds: float = 30.0

    @classmethod
    def of(cls, settings: Settings) -> Topology:
        return cls(settings.amqp_prefix, settings.delivery_limit, settings.wait_seconds)

    @property
    def events(self) -> RabbitExchange:
        return RabbitExchange(f"{self.prefix}.events", type=ExchangeType.TOPIC, durable=True)

    @property
    def inbound(self) -> RabbitExchange:
        """Where other municipal systems publish (CloudEvents, any routing key)."""
        return RabbitExchange(f"{self.prefix}.inbound", type=ExchangeType.TOPIC, durable=True)

    @property
    def dead_letters(self) -> RabbitExchange:
        return RabbitExchange(f"{self.prefix}.dead-letter", type=ExchangeType.DIRECT, durable=True)

    @staticmethod
    def inbound_consumer(service: str) -> str:
        return f"{service}.inbound"

    @staticmethod
    def is_inbound(consumer: str) -> bool:
        """Whether ``consumer`` takes other systems' messages (not public events)."""
        return consumer.endswith(".inbound")

    def queue(self, consumer: str) -> RabbitQueue:
        # Quorum: replicated, counts deliveries (poison messages end in the DLQ after
        # delivery_limit) and dead-letters at least once (needs reject-publish overflow).
        return RabbitQueue(
            f"{self.prefix}.{consumer}",
            queue_type=QueueType.QUORUM,
            durable=True,
            arguments={
                "x-dead-letter-exchange": self.dead_letters.name,
                "x-dead-letter-routing-key": consumer,
                "x-dead-letter-strategy": "at-least-once",
                "x-overflow": "reject-publish",
                "x-delivery-limit": self.delivery_limit,
            },
        )

    def wait_queue(self, consumer: str) -> RabbitQueue:
        """Where a message that cannot apply yet waits ``wait_seconds``; the broker then
        dead-letters it back to the consumer's queue (through the default exchange)."""
        return RabbitQueue(
            f"{self.prefix}.{consumer}.wait",
            queue_type=QueueType.QUORUM,
            durable=True,
            arguments={
                "x-message-ttl": round(self.wait_seconds * 1000),
                "x-dead-letter-exchange": "",
                "x-dead-letter-routing-key": self.queue(consumer).name,
                "x-dead-letter-strategy": "at-least-once",
                "x-overflow": "reject-publish",
            },
        )

    def queue_names(self, consumer: str) -> list[str]:
        """Every queue of ``consumer``: its own, where messages wait, its dead letters."""
        return [
            self.queue(consumer).name,
            self.wait_queue(consumer).name,
            self.dead_letter_queue(consumer).name,
        ]

    def dead_letter_queue(self, consumer: str) -> RabbitQueue:
        return RabbitQueue(
            f"{self.prefix}.{consumer}.dead-letter", queue_type=QueueType.QUORUM, durable=True
        )

    def consumers(self, services: Iterable[Service]) -> list[str]:
        """Every consumer of the deployment, each with its queue and dead-letter queue."""
        names = [READ_SIDE]
        for service in services:
            if service.policies:
                names.append(service.name)
            if service.receives is not None:
                names.append(self.inbound_consumer(service.name))
        return names

    @staticmethod
    def routing_key(source: str, event_type: str) -> str:
        return f"{source}.{event_type}"

    @staticmethod
    def binding_keys(service: Service) -> list[str]:
        # By event type from any source: a consumer does not care who publishes a contract.
        return [f"*.{event_type}" for event_type in sorted(service.policies)]

    async def declare(self, amqp_url: str, services: Iterable[Service]) -> None:
        connection = await aio_pika.connect(amqp_url)
        async with connection:
            channel = await connection.channel()
            await self._declare(channel, services)

    @staticmethod
    async def _queue(channel: Any, queue: RabbitQueue) -> Any:
        return await channel.declare_queue(queue.name, durable=True, arguments=queue.arguments)

    async def _declare(self, channel: Any, services: Iterable[Service]) -> None:
        async def exchange(declared: RabbitExchange) -> Any:
            return await channel.declare_exchange(
                declared.name, type=declared.type.value, durable=True
            )

        events = await exchange(self.events)
        inbound = await exchange(self.inbound)
        dead_letters = await exchange(self.dead_letters)

        async def consumer(name: str) -> Any:
            queue = await self._queue(channel, self.queue(name))
            await self._queue(channel, self.wait_queue(name))
            dead_letter_queue = await self._queue(channel, self.dead_letter_queue(name))
            await dead_letter_queue.bind(dead_letters, routing_key=name)
            return queue

        # The read side takes every public event; declared by every process so that nothing
        # is published before its queue exists.
        read_side = await consumer(READ_SIDE)
        await read_side.bind(events, routing_key="#")
        for service in services:
            if service.policies:
                queue = await consumer(service.name)
                for key in self.binding_keys(service):
                    await queue.bind(events, routing_key=key)
            if service.receives is not None:
                queue = await consumer(self.inbound_consumer(service.name))
                await queue.bind(inbound, routing_key="#")
