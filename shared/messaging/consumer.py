"""A consumer on RabbitMQ: batches from the prefetch window → contract check → the consumer's
one transaction per batch → ack each.

Deliveries of the prefetch window are gathered into batches of up to ``batch_size``: while
one batch is being stored, the next gathers, so a busy queue is taken in large batches and
a quiet one message at a time, without waiting. A batch is handed over in one call (stored all
or nothing); each of its messages is acked only after that call returned, i.e. after the
commit. A message delivered before (requeued after a failure, or left unacknowledged by a
process that died) is tried alone, so that only its own failures count against it.

- Handled, or a duplicate (tracking says so): ack.
- Permanent failure (the message is at fault: not a contract, invalid, refused by the domain):
  in a batch, the batch is split in halves and each tried again, until the message at fault is
  alone; it is published to the consumer's dead-letter queue with the reason in a header, then
  acked. The others are stored and acked as usual.
- Not yet (it names what another message is expected to bring, e.g. a person whose
  registration is on its way): split out the same way; alone, the body is put in the
  consumer's wait queue, which hands it back after ``wait_seconds``; only after ``wait_rounds``
  waits is it dead-lettered, with its reason. Waiting there, not in the handler, keeps the
  consumer moving meanwhile.
- Anything else (database down, timeout, an inconsistency of our own records — the latter also
  reported loudly): each message of the batch is rejected back to the queue after a pause (and
  then tried alone); the quorum queue's delivery limit moves a message that keeps failing to
  the dead-letter queue.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any

from faststream import AckPolicy
from faststream.rabbit import Channel, RabbitBroker
from faststream.rabbit.annotations import RabbitMessage
from faststream.rabbit.subscriber import RabbitSubscriber
from pydantic import WithJsonSchema

from shared.clock import utc_now
from shared.contracts import CONTRACTS, parse_event
from shared.contracts.inbound import InboundMessage
from shared.eventstore import ServiceApplication
from shared.failpoints import failpoint
from shared.inconsistencies import report
from shared.messaging.consumers import Consumer, Subscription
from shared.messaging.dead_letters import DEAD_LETTERED_AT_HEADER, REASON_HEADER
from shared.messaging.errors import is_inconsistency, is_not_yet, is_permanent, reason
from shared.messaging.topology import Topology
from shared.service import Service
from shared.settings import Settings

log = logging.getLogger(__name__)


async def _the_message(message: Any) -> Any:
    # The handler takes the message itself, its body undecoded: contracts are checked by the
    # handler, so that a body no parser accepts becomes a dead letter with a reason rather
    # than an error inside the framework. (Asked for as a ``RabbitMessage`` parameter, the
    # message would be looked up in the framework's context by a worker thread, a hop per
    # message.)
    return message


# What the AsyncAPI document says a consumer takes: the raw body (the contracts are described
# with the publishers).
Delivered = Annotated[Any, WithJsonSchema({"type": "string", "format": "binary"})]


Handle = Callable[[Sequence[Any]], object]
"""Takes the bodies of a batch (or what ``Read`` makes of each delivery) in one transaction:
every one stored (or found a duplicate), or an error raised and none stored. Synchronous: run
in a worker thread."""

Read = Callable[[RabbitMessage], object]
"""What a handler takes of a delivery: its body, unless the consumer needs more of it."""


def _body(message: RabbitMessage) -> bytes:
    return bytes(message.body)


def _inbound_message(message: RabbitMessage) -> InboundMessage:
    # A binary-mode CloudEvent carries its attributes in the headers, its data in the body.
    return InboundMessage(
        bytes(message.body),
        dict(message.raw_message.headers or {}),
        message.content_type or None,
        transport="amqp",
    )


WAITS_HEADER = "x-kotoutus-waits"  # how often a message has waited (see wait_queue)


def _waits(message: RabbitMessage) -> int:
    count = (message.raw_message.headers or {}).get(WAITS_HEADER)
    return count if isinstance(count, int) else 0


def _delivery_count(message: RabbitMessage) -> int:
    """Earlier deliveries of this message, as the quorum queue counts them."""
    count = (message.raw_message.headers or {}).get("x-delivery-count")
    return count if isinstance(count, int) else 0


def _delivered_before(message: RabbitMessage) -> bool:
    return bool(message.raw_message.redelivered) or _delivery_count(message) > 0


def event_handler(consumer: Consumer) -> Handle:
    """Bodies → contracts (parsed here, at the edge) → the consumer, exactly once by its own
    record of what it handled."""

    def handle(bodies: Sequence[bytes]) -> object:
        return consumer.handle([parse_event(body, CONTRACTS) for body in bodies])

    return handle


@dataclass(eq=False)
class _Delivery:
    body: object  # as ``Read`` took it
    message: RabbitMessage
    # None: stored (or a duplicate), to be acked; else what failed it, alone or in a batch.
    outcome: asyncio.Future[Exception | None]
    alone: bool


class Batches:
    """Gathers the deliveries of one subscriber into batches and hands each to ``handle``."""

    def __init__(self, handle: Handle, batch_size: int, name: str) -> None:
        self.handle = handle
        self.batch_size = batch_size
        self.name = name
        self._waiting: deque[_Delivery] = deque()
        self._worker: asyncio.Task[None] | None = None

    async def submit(self, body: object, message: RabbitMessage) -> Exception | None:
        """Waits for the batch that takes ``message`` to be stored; None, or the error that
        failed the message (alone, or in a batch no split could mend)."""
        delivery = _Delivery(
            body,
            message,
            asyncio.get_running_loop().create_future(),
            alone=_delivered_before(message),
        )
        self._waiting.append(delivery)
        if self._worker is None or self._worker.done():
            self._worker = asyncio.create_task(self._work())
        return await delivery.outcome

    async def _work(self) -> None:
        batch: list[_Delivery] = []
        try:
            while self._waiting:
                await asyncio.sleep(0)  # deliveries read in the same turn join the batch
                batch = self._take()
                await self._apply(batch)
        except BaseException:
            # Stopped (cancelled): what was not stored stays unacknowledged, to be delivered
            # again; its handlers end.
            for delivery in (*batch, *self._waiting):
                if not delivery.outcome.done():
                    delivery.outcome.cancel()
            self._waiting.clear()
            raise

    def _take(self) -> list[_Delivery]:
        first = self._waiting.popleft()
        batch = [first]
        if first.alone:
            return batch
        while self._waiting and len(batch) < self.batch_size and not self._waiting[0].alone:
            batch.append(self._waiting.popleft())
        return batch

    async def _apply(self, batch: list[_Delivery]) -> None:
        try:
            await asyncio.to_thread(self.handle, [delivery.body for delivery in batch])
        except Exception as error:
            if len(batch) > 1 and (is_permanent(error) or is_not_yet(error)):
                # One of them is at fault: halves, until it is alone (the rest stored).
                half = len(batch) // 2
                await self._apply(batch[:half])
                await self._apply(batch[half:])
                return
            if is_inconsistency(error):
                report(f"consumer {self.name}", error)
            _settle(batch, error)
            return
        failpoint("consumer.before_ack")  # stored, nothing acked yet
        _settle(batch, None)


def _settle(batch: list[_Delivery], outcome: Exception | None) -> None:
    for delivery in batch:
        if not delivery.outcome.done():  # else its handler was stopped meanwhile
            delivery.outcome.set_result(outcome)


def register_consumer(
    broker: RabbitBroker,
    topology: Topology,
    consumer: str,
    handle: Handle,
    prefetch: int,
    description: str,
    wait_rounds: int = 0,
    batch_size: int = 1,
    read: Read = _body,
) -> RabbitSubscriber:
    """Subscribes ``handle`` (synchronous; run in a worker thread) to the queue of
    ``consumer``, in batches of up to ``batch_size`` from a window of ``prefetch``; it takes
    what ``read`` makes of each delivery (by default the body)."""
    queue = topology.queue(consumer)
    batches = Batches(handle, batch_size, queue.name)

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
                DEAD_LETTERED_AT_HEADER: utc_now().isoformat(),
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
        decoder=_the_message,
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

    async def on_message(message: Delivered) -> None:
        error = await batches.submit(read(message), message)
        if error is None:
            await message.ack()
            return
        try:
            parked = await park(message, error)  # the copy is stored before the ack
        except Exception as refused:  # the broker took no copy: keep the original
            await retry_later(message, reason(refused))
            return
        if parked:
            await message.ack()
            return
        await retry_later(message, reason(error))

    subscriber(on_message)
    return subscriber


def documentation_only(_: Sequence[Any]) -> object:
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
        batch_size=settings.consumer_batch,
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
        (lambda bodies: receives(app, bodies)) if app else documentation_only,
        settings.consumer_prefetch,
        f"{service.name} takes messages of other municipal systems (CloudEvents 1.0)",
        wait_rounds=settings.wait_rounds,
        batch_size=settings.consumer_batch,
        read=_inbound_message,  # dead-lettered with its headers, so a resubmit keeps them
    )
