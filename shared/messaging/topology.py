"""Names and shapes of the exchanges and queues; every process declares all of them at start so
that no event is published before the queues of its subscribers exist.

Queue arguments cannot change on a live queue (RabbitMQ answers PRECONDITION_FAILED), so a
change of ``delivery_limit`` is a migration: see deploy/README.md.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from faststream.rabbit import ExchangeType, QueueType, RabbitBroker, RabbitExchange, RabbitQueue

from shared.service import Service


@dataclass(frozen=True)
class Topology:
    prefix: str
    delivery_limit: int

    @property
    def events(self) -> RabbitExchange:
        return RabbitExchange(f"{self.prefix}.events", type=ExchangeType.TOPIC, durable=True)

    @property
    def dead_letters(self) -> RabbitExchange:
        return RabbitExchange(f"{self.prefix}.dead-letter", type=ExchangeType.DIRECT, durable=True)

    def queue(self, service: str) -> RabbitQueue:
        # Quorum: replicated, counts deliveries (poison messages end in the DLQ after
        # delivery_limit) and dead-letters at least once (needs reject-publish overflow).
        return RabbitQueue(
            f"{self.prefix}.{service}",
            queue_type=QueueType.QUORUM,
            durable=True,
            arguments={
                "x-dead-letter-exchange": self.dead_letters.name,
                "x-dead-letter-routing-key": service,
                "x-dead-letter-strategy": "at-least-once",
                "x-overflow": "reject-publish",
                "x-delivery-limit": self.delivery_limit,
            },
        )

    def dead_letter_queue(self, service: str) -> RabbitQueue:
        return RabbitQueue(
            f"{self.prefix}.{service}.dead-letter", queue_type=QueueType.QUORUM, durable=True
        )

    @staticmethod
    def routing_key(source: str, event_type: str) -> str:
        return f"{source}.{event_type}"

    @staticmethod
    def binding_keys(service: Service) -> list[str]:
        # By event type from any source: a consumer does not care who publishes a contract.
        return [f"*.{event_type}" for event_type in sorted(service.policies)]

    async def declare(self, broker: RabbitBroker, services: Iterable[Service]) -> None:
        events = await broker.declare_exchange(self.events)
        dead_letters = await broker.declare_exchange(self.dead_letters)
        for service in services:
            if not service.policies:
                continue
            queue = await broker.declare_queue(self.queue(service.name))
            for key in self.binding_keys(service):
                await queue.bind(events, routing_key=key)
            dead_letter_queue = await broker.declare_queue(self.dead_letter_queue(service.name))
            await dead_letter_queue.bind(dead_letters, routing_key=service.name)
