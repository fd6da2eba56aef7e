"""Names and shapes of the exchanges and queues; every process declares all of them at start so
that no event is published before the queues of its subscribers exist.

Queue arguments cannot change on a live queue (RabbitMQ answers PRECONDITION_FAILED), so a
change of ``delivery_limit`` is a migration: see deploy/README.md.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from faststream.rabbit import ExchangeType, QueueType, RabbitBroker, RabbitExchange, RabbitQueue

from shared.service import Service

READ_SIDE = "readside"  # the read side's consumer name (its queue: <prefix>.readside)


@dataclass(frozen=True)
class Topology:
    prefix: str
    delivery_limit: int

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

    async def declare(self, broker: RabbitBroker, services: Iterable[Service]) -> None:
        events = await broker.declare_exchange(self.events)
        inbound = await broker.declare_exchange(self.inbound)
        dead_letters = await broker.declare_exchange(self.dead_letters)

        async def consumer(name: str) -> Any:
            queue = await broker.declare_queue(self.queue(name))
            dead_letter_queue = await broker.declare_queue(self.dead_letter_queue(name))
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
