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

from shared.messaging.consumers import Subscription
from shared.settings import Settings


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

    def consumers(self, subscriptions: Iterable[Subscription], inbound: Iterable[str]) -> list[str]:
        """Every consumer of the deployment (each with its queue and dead-letter queue): those
        of public events, and ``inbound``'s services' consumers of other systems' messages."""
        return [s.name for s in subscriptions] + [self.inbound_consumer(n) for n in inbound]

    @staticmethod
    def routing_key(source: str, event_type: str) -> str:
        return f"{source}.{event_type}"

    @staticmethod
    def binding_keys(subscription: Subscription) -> list[str]:
        # By event type from any source: a consumer does not care who publishes a contract.
        if subscription.event_types is None:
            return ["#"]
        return [f"*.{event_type}" for event_type in sorted(subscription.event_types)]

    async def declare(
        self, amqp_url: str, subscriptions: Iterable[Subscription], inbound: Iterable[str]
    ) -> None:
        """Declares every queue of the deployment: ``subscriptions`` to public events, and
        the inbound consumers of the services named in ``inbound``."""
        connection = await aio_pika.connect(amqp_url)
        async with connection:
            channel = await connection.channel()
            await self._declare(channel, list(subscriptions), list(inbound))

    @staticmethod
    async def _queue(channel: Any, queue: RabbitQueue) -> Any:
        return await channel.declare_queue(queue.name, durable=True, arguments=queue.arguments)

    async def _declare(
        self, channel: Any, subscriptions: list[Subscription], inbound_services: list[str]
    ) -> None:
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

        # Every process declares every consumer's queue, so that nothing is published before
        # the queues of its subscribers exist.
        for subscription in subscriptions:
            queue = await consumer(subscription.name)
            for key in self.binding_keys(subscription):
                await queue.bind(events, routing_key=key)
        for service in inbound_services:
            queue = await consumer(self.inbound_consumer(service))
            await queue.bind(inbound, routing_key="#")
