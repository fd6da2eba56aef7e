"""Embedded mode's delivery: follows each service's notification log in this process and hands
every public event to the services that react to it — through the same contracts, policies and
tracking as the RabbitMQ path, so a restart resumes where each consumer's tracking says."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from services.readside.projector import Projector
from shared.contracts import CONTRACTS, parse_event
from shared.eventstore import ServiceApplication
from shared.inconsistencies import report
from shared.messaging.dead_letters import SQLiteDeadLetters
from shared.messaging.errors import is_inconsistency, is_permanent, reason
from shared.messaging.topology import READ_SIDE
from shared.messaging.wakeup import Wakeup
from shared.service import Service

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Node:
    service: Service
    app: ServiceApplication


class InProcessDelivery:
    def __init__(
        self,
        nodes: Mapping[str, Node],
        dead_letters: SQLiteDeadLetters,
        batch_size: int = 200,
        idle_seconds: float = 0.05,
        projector: Projector | None = None,
    ) -> None:
        self.nodes = nodes
        self.projector = projector
        self.dead_letters = dead_letters
        self.batch_size = batch_size
        self.idle_seconds = idle_seconds
        # Positions read but not handled (events a consumer ignores) leave no tracking row;
        # keep them here so they are not read again while the process lives.
        self._cursors: dict[tuple[str, str], int] = {}
        self.links = [
            (down, up)
            for down, consumer in nodes.items()
            for up, producer in nodes.items()
            if up != down
            and set(consumer.service.policies) & set(producer.service.publishes.event_types)
        ]

    def step(self) -> int:
        """Delivers what is pending, one batch per link; returns how many events were read."""
        read = 0
        for down, up in self.links:
            read += self._guarded((down, up), self._deliver, self.nodes[down], self.nodes[up])
        if self.projector is not None:
            for producer in self.nodes.values():
                link = (READ_SIDE, producer.service.name)
                read += self._guarded(link, self._project, self.projector, producer)
        return read

    def _guarded(self, link: tuple[str, str], deliver: Callable[..., int], *args: Any) -> int:
        """One link's batch. A failure is retried on the next turn from the same position and
        holds up only its own link; an inconsistency of our records is reported as such."""
        try:
            return deliver(*args)
        except Exception as error:
            if is_inconsistency(error):
                report(f"in-process delivery {link[1]} → {link[0]}", error)
            else:
                log.exception("in-process delivery %s → %s failed; retrying", link[1], link[0])
            return 0

    def _project(self, projector: Projector, producer: Node) -> int:
        """The read side takes every public event, in each source's order."""
        link = (READ_SIDE, producer.service.name)
        position = self._cursors.get(link)
        if position is None:
            position = projector.position(producer.service.name)
        notifications = producer.app.recorder.select_notifications(
            start=position + 1, limit=self.batch_size
        )
        publishes = producer.service.publishes
        for notification in notifications:
            if publishes.event_type_of(notification.topic):
                domain_event = producer.app.mapper.to_domain_event(notification)
                public = publishes.to_public(notification.id, domain_event)
                if public is not None:
                    # Through JSON, as over the broker: the same contract checks apply.
                    body = public.model_dump_json().encode()
                    try:
                        projector.apply(parse_event(body, CONTRACTS))
                    except Exception as error:
                        if not is_permanent(error):
                            raise  # retried on the next turn from this very position
                        why = reason(error)
                        log.warning(
                            "dead-lettered %s for the read side: %s", public.message_id, why
                        )
                        self.dead_letters.add(
                            READ_SIDE, str(public.message_id), public.routing_key, body, why
                        )
            self._cursors[link] = notification.id
        return len(notifications)

    def _deliver(self, consumer: Node, producer: Node) -> int:
        link = (consumer.service.name, producer.service.name)
        position = self._cursors.get(link)
        if position is None:
            position = consumer.app.tracked_position(producer.service.name)
        notifications = producer.app.recorder.select_notifications(
            start=position + 1, limit=self.batch_size
        )
        for notification in notifications:
            event_type = producer.service.publishes.event_type_of(notification.topic)
            policy = consumer.service.policies.get(event_type) if event_type else None
            public = None
            if policy is not None:  # decode only what this consumer reacts to
                domain_event = producer.app.mapper.to_domain_event(notification)
                public = producer.service.publishes.to_public(notification.id, domain_event)
            if public is not None and policy is not None:
                body = public.model_dump_json().encode()
                try:
                    consumer.app.process(parse_event(body, CONTRACTS), policy)
                except Exception as error:
                    if not is_permanent(error):
                        raise  # retried on the next turn from this very position
                    why = reason(error)
                    log.warning("dead-lettered %s for %s: %s", public.message_id, link, why)
                    self.dead_letters.add(
                        consumer.service.name, str(public.message_id), public.routing_key, body, why
                    )
            self._cursors[link] = notification.id
        return len(notifications)

    async def run(self, stop: asyncio.Event) -> None:
        wakeup = Wakeup(self.idle_seconds)
        for node in self.nodes.values():
            wakeup.follow(node.app)  # a command or a policy that stores events wakes delivery
        while not stop.is_set():
            try:
                read = await asyncio.to_thread(self.step)
            except Exception:
                log.exception("in-process delivery failed; retrying")
                read = 0
            if read == 0:
                await wakeup.idle(stop)
