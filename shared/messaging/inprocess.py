"""Embedded mode's delivery: follows each service's notification log in this process and hands
every public event to the consumers that take it — through the same contracts, the same
consumer shape and the same records of what was handled as the RabbitMQ path, so a restart
resumes where each consumer's own record says."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from shared.contracts import CONTRACTS, parse_event
from shared.eventstore import ServiceApplication
from shared.inconsistencies import report
from shared.messaging.consumers import Consumer, takes
from shared.messaging.dead_letters import SQLiteDeadLetters
from shared.messaging.errors import is_inconsistency, is_permanent, reason
from shared.messaging.wakeup import Wakeup
from shared.service import Service

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Node:
    """A service with its application: a producer of public events."""

    service: Service
    app: ServiceApplication


class InProcessDelivery:
    def __init__(
        self,
        producers: Mapping[str, Node],
        consumers: Sequence[Consumer],
        dead_letters: SQLiteDeadLetters,
        batch_size: int = 200,
        idle_seconds: float = 0.05,
    ) -> None:
        self.producers = producers
        self.dead_letters = dead_letters
        self.batch_size = batch_size
        self.idle_seconds = idle_seconds
        # Positions read but not handled (events a consumer does not take) leave no record;
        # keep them here so they are not read again while the process lives.
        self._cursors: dict[tuple[str, str], int] = {}
        self.links = [
            (consumer, producer)
            for consumer in consumers
            for producer in producers.values()
            if producer.service.name != consumer.name
            and any(takes(consumer, t) for t in producer.service.publishes.event_types)
        ]

    def step(self) -> int:
        """Delivers what is pending, one batch per link; returns how many events were read."""
        return sum(self._guarded(consumer, producer) for consumer, producer in self.links)

    def _guarded(self, consumer: Consumer, producer: Node) -> int:
        """One link's batch. A failure is retried on the next turn from the same position and
        holds up only its own link; an inconsistency of our records is reported as such."""
        try:
            return self._deliver(consumer, producer)
        except Exception as error:
            link = f"in-process delivery {producer.service.name} → {consumer.name}"
            if is_inconsistency(error):
                report(link, error)
            else:
                log.exception("%s failed; retrying", link)
            return 0

    def _deliver(self, consumer: Consumer, producer: Node) -> int:
        source = producer.service.name
        link = (consumer.name, source)
        position = self._cursors.get(link)
        if position is None:
            position = consumer.position(source)
        notifications = producer.app.recorder.select_notifications(
            start=position + 1, limit=self.batch_size
        )
        publishes = producer.service.publishes
        for notification in notifications:
            event_type = publishes.event_type_of(notification.topic)
            if event_type is not None and takes(consumer, event_type):
                # Decoded (and unsealed) only for a consumer that takes it.
                domain_event = producer.app.mapper.to_domain_event(notification)
                public = publishes.to_public(notification.id, domain_event)
                if public is not None:
                    # Through JSON, as over the broker: the same contract checks apply.
                    body = public.model_dump_json().encode()
                    try:
                        consumer.handle([parse_event(body, CONTRACTS)])
                    except Exception as error:
                        if not is_permanent(error):
                            raise  # retried on the next turn from this very position
                        why = reason(error)
                        log.warning("dead-lettered %s for %s: %s", public.message_id, link, why)
                        self.dead_letters.add(
                            consumer.name, str(public.message_id), public.routing_key, body, why
                        )
            self._cursors[link] = notification.id
        return len(notifications)

    async def run(self, stop: asyncio.Event) -> None:
        wakeup = Wakeup(self.idle_seconds)
        for node in self.producers.values():
            wakeup.follow(node.app)  # a command or a policy that stores events wakes delivery
        while not stop.is_set():
            try:
                read = await asyncio.to_thread(self.step)
            except Exception:
                log.exception("in-process delivery failed; retrying")
                read = 0
            if read == 0:
                await wakeup.idle(stop)
