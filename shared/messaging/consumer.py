"""A service's consumer on RabbitMQ: contract check → policy with tracking → ack.

- Handled, or a duplicate (tracking says so): ack.
- Permanent failure (not a contract, invalid, refused by the domain): the original body is
  published to the service's dead-letter queue with the reason in a header, then acked.
- Anything else (database down, timeout): rejected back to the queue after a pause; the quorum
  queue's delivery limit moves a message that keeps failing to the dead-letter queue.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from faststream import AckPolicy
from faststream.rabbit import Channel, RabbitBroker
from faststream.rabbit.annotations import RabbitMessage
from faststream.rabbit.subscriber import RabbitSubscriber

from shared.contracts import CONTRACTS, PublicEvent, parse_event
from shared.eventstore import Policy, ServiceApplication
from shared.failpoints import failpoint
from shared.messaging.dead_letters import REASON_HEADER
from shared.messaging.errors import is_permanent, reason
from shared.messaging.topology import Topology
from shared.service import Service
from shared.settings import Settings

log = logging.getLogger(__name__)


async def _raw_body(message: Any) -> bytes:
    # Contracts are checked by the handler itself, so that a body no parser accepts becomes
    # a dead letter with a reason rather than an error inside the framework.
    return bytes(message.body)


Process = Callable[[PublicEvent, Policy], bool]
Handle = Callable[[bytes], object]


def _delivery_count(message: RabbitMessage) -> int:
    """Earlier deliveries of this message, as the quorum queue counts them."""
    count = (message.raw_message.headers or {}).get("x-delivery-count")
    return count if isinstance(count, int) else 0


def event_handler(service: Service, process: Process) -> Handle:
    """Body → contract → the service's policy, applied exactly once by ``process``."""

    def handle(body: bytes) -> object:
        event = parse_event(body, CONTRACTS)
        policy = service.policies.get(event.event_type)
        if policy is None:
            raise LookupError(f"{service.name} has no policy for {event.event_type}")
        return process(event, policy)

    return handle


def register_consumer(
    broker: RabbitBroker,
    topology: Topology,
    consumer: str,
    handle: Handle,
    prefetch: int,
    description: str,
) -> RabbitSubscriber:
    """Subscribes ``handle`` (synchronous; run in a worker thread) to the queue of ``consumer``."""
    queue = topology.queue(consumer)

    async def dead_letter(message: RabbitMessage, why: str) -> None:
        raw = message.raw_message
        await broker.publish(
            message.body,
            exchange=topology.dead_letters,
            routing_key=consumer,
            persist=True,
            message_id=message.message_id,
            content_type=message.content_type,
            headers={
                **(raw.headers or {}),
                REASON_HEADER: why,
                "x-kotoutus-queue": queue.name,
                "x-original-exchange": raw.exchange or "",
                "x-original-routing-key": raw.routing_key or "",
            },
        )

    subscriber = broker.subscriber(
        queue,
        channel=Channel(prefetch_count=prefetch),
        ack_policy=AckPolicy.MANUAL,
        decoder=_raw_body,
        title=f"{queue.name}:consume",
        description=description,
    )

    async def on_message(body: bytes, message: RabbitMessage) -> None:
        try:
            await asyncio.to_thread(handle, body)
        except Exception as error:
            if is_permanent(error):
                why = reason(error)
                log.warning("dead-letter %s: %s", message.message_id, why)
                await dead_letter(message, why)
                await message.ack()
                return
            deliveries = _delivery_count(message)
            log.warning(
                "%s failed (delivery %d), will retry: %s",
                message.message_id,
                deliveries + 1,
                reason(error),
            )
            # Backs off up to a minute: with the default delivery limit a message rides out
            # several minutes of a database or broker outage before it is dead-lettered.
            await asyncio.sleep(min(0.2 * 2**deliveries, 60.0))
            await message.reject(requeue=True)
            return
        failpoint("consumer.before_ack")
        await message.ack()

    subscriber(on_message)
    return subscriber


def register_consumers(
    broker: RabbitBroker,
    topology: Topology,
    service: Service,
    app: ServiceApplication | None,
    settings: Settings,
) -> None:
    """The queues ``service`` consumes: public events it reacts to, and inbound messages.
    Without ``app`` (documentation only) the handlers refuse to run."""

    def documentation_only(*_: Any) -> bool:
        raise RuntimeError("this broker only describes the contracts")

    if service.policies:
        register_consumer(
            broker,
            topology,
            service.name,
            event_handler(service, app.process if app else documentation_only),
            settings.consumer_prefetch,
            f"{service.name} reacts to: {', '.join(sorted(service.policies))}",
        )
    if service.receives is not None:
        receives = service.receives
        register_consumer(
            broker,
            topology,
            topology.inbound_consumer(service.name),
            (lambda body: receives(app, body)) if app else documentation_only,
            settings.consumer_prefetch,
            f"{service.name} takes messages of other municipal systems (CloudEvents 1.0)",
        )
