"""A service's consumer on RabbitMQ: contract check → policy with tracking → ack.

- Handled, or a duplicate (tracking says so): ack.
- Permanent failure (the message is at fault: not a contract, invalid, refused by the domain):
  the original body is published to the service's dead-letter queue with the reason in a
  header, then acked.
- Not yet (it names what another message is expected to bring, e.g. a person whose
  registration is on its way): the body is put in the consumer's wait queue, which hands it
  back after ``wait_seconds``; only after ``wait_rounds`` waits is it dead-lettered, with its
  reason. Waiting there, not in the handler, keeps the consumer moving meanwhile.
- Anything else (database down, timeout, an inconsistency of our own records — the latter also
  reported loudly): rejected back to the queue after a pause; the quorum queue's delivery
  limit moves a message that keeps failing to the dead-letter queue.
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

from shared.contracts import CONTRACTS, parse_event
from shared.eventstore import ServiceApplication
from shared.failpoints import failpoint
from shared.inconsistencies import report
from shared.messaging.consumers import Consumer, Subscription
from shared.messaging.dead_letters import REASON_HEADER
from shared.messaging.errors import is_inconsistency, is_not_yet, is_permanent, reason
from shared.messaging.topology import Topology
from shared.service import Service
from shared.settings import Settings

log = logging.getLogger(__name__)


async def _raw_body(message: Any) -> bytes:
    # Contracts are checked by the handler itself, so that a body no parser accepts becomes
    # a dead letter with a reason rather than an error inside the framework.
    return bytes(message.body)


Handle = Callable[[bytes], object]


WAITS_HEADER = "x-kotoutus-waits"  # how often a message has waited (see wait_queue)


def _waits(message: RabbitMessage) -> int:
    count = (message.raw_message.headers or {}).get(WAITS_HEADER)
    return count if isinstance(count, int) else 0


def _delivery_count(message: RabbitMessage) -> int:
    """Earlier deliveries of this message, as the quorum queue counts them."""
    count = (message.raw_message.headers or {}).get("x-delivery-count")
    return count if isinstance(count, int) else 0


def event_handler(consumer: Consumer) -> Handle:
    """Body → contract (parsed here, at the edge) → the consumer, exactly once by its own
    record of what it handled."""

    def handle(body: bytes) -> object:
        return consumer.handle([parse_event(body, CONTRACTS)])

    return handle


def register_consumer(
    broker: RabbitBroker,
    topology: Topology,
    consumer: str,
    handle: Handle,
    prefetch: int,
    description: str,
    wait_rounds: int = 0,
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

    async def wait(message: RabbitMessage, waits: int) -> None:
        raw = message.raw_message
        await broker.publish(
            message.body,
            queue=topology.wait_queue(consumer).name,  # through the default exchange
            persist=True,
            message_id=message.message_id,
            content_type=message.content_type,
            # Its deliveries start afresh when it comes back (the back-off counts from them).
            headers={
                **{k: v for k, v in (raw.headers or {}).items() if k != "x-delivery-count"},
                WAITS_HEADER: waits,
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

    async def park(message: RabbitMessage, error: Exception) -> bool:
        """Moves a failed message to where it waits, or to the dead letters, with its reason;
        False for a failure to retry here."""
        waits = _waits(message)
        if is_not_yet(error) and waits < wait_rounds:
            log.info("%s waits (%d): %s", message.message_id, waits + 1, reason(error))
            await wait(message, waits + 1)
            return True
        if is_not_yet(error) or is_permanent(error):
            why = reason(error) + (f" (after {waits} waits)" if waits else "")
            log.warning("dead-letter %s: %s", message.message_id, why)
            await dead_letter(message, why)
            return True
        return False

    async def retry_later(message: RabbitMessage, why: str) -> None:
        deliveries = _delivery_count(message)
        log.warning(
            "%s failed (delivery %d), will retry: %s", message.message_id, deliveries + 1, why
        )
        # Backs off up to a minute: with the default delivery limit a message rides out
        # several minutes of a database or broker outage before it is dead-lettered.
        await asyncio.sleep(min(0.2 * 2**deliveries, 60.0))
        await message.reject(requeue=True)

    async def on_message(body: bytes, message: RabbitMessage) -> None:
        try:
            await asyncio.to_thread(handle, body)
        except Exception as error:
            try:
                parked = await park(message, error)  # the copy is stored before the ack
            except Exception as refused:  # the broker took no copy: keep the original
                await retry_later(message, reason(refused))
                return
            if parked:
                await message.ack()
                return
            if is_inconsistency(error):
                report(f"consumer {queue.name}", error)
            await retry_later(message, reason(error))
            return
        failpoint("consumer.before_ack")
        await message.ack()

    subscriber(on_message)
    return subscriber


def documentation_only(_: bytes) -> object:
    raise RuntimeError("this broker only describes the contracts")


def register_subscription(
    broker: RabbitBroker,
    topology: Topology,
    subscription: Subscription,
    consumer: Consumer | None,
    settings: Settings,
) -> RabbitSubscriber:
    """The queue of public events of ``subscription``, handed to ``consumer`` (without one,
    for the AsyncAPI document only, the handler refuses to run)."""
    return register_consumer(
        broker,
        topology,
        subscription.name,
        event_handler(consumer) if consumer is not None else documentation_only,
        settings.consumer_prefetch,
        subscription.description,
    )


def register_inbound(
    broker: RabbitBroker,
    topology: Topology,
    service: Service,
    app: ServiceApplication | None,
    settings: Settings,
) -> RabbitSubscriber | None:
    """The queue of other municipal systems' messages, if ``service`` takes them."""
    receives = service.receives
    if receives is None:
        return None
    return register_consumer(
        broker,
        topology,
        topology.inbound_consumer(service.name),
        (lambda body: receives(app, body)) if app else documentation_only,
        settings.consumer_prefetch,
        f"{service.name} takes messages of other municipal systems (CloudEvents 1.0)",
        wait_rounds=settings.wait_rounds,
    )
