"""Embedded mode's delivery: follows each service's notification log in this process and hands
every public event to the consumers that take it — through the same contracts, the same
consumer shape and the same records of what was handled as the RabbitMQ path, so a restart
resumes where each consumer's own record says.

A consumer is handed the events it takes in runs of up to ``consumer_batch``, in log order,
each run stored in one transaction. A run that fails because an event is at fault is split in
halves until that event is alone, and it is dead-lettered with its reason; the rest are stored.
A run that fails otherwise (the store busy, an inconsistency of our records) is tried one event
at a time: those before the failing one are stored, and the link waits at it until the next
turn, as if events had come one by one.

An event is decoded (and unsealed) once per turn, however many consumers take it, and a
producer's events of a turn in one batch scope of its application: each client's key is read
once, not once per event and consumer."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from eventsourcing.persistence import Notification

from shared.contracts import CONTRACTS, parse_event
from shared.contracts.envelope import PublicEvent
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


@dataclass(frozen=True)
class _Item:
    """An event of a run: its place in the log, its body as it would travel, and that body as
    a consumer reads it — parsed once for every consumer of the turn (contracts are frozen);
    None where the contracts refused it."""

    position: int
    public: PublicEvent
    body: bytes
    parsed: PublicEvent | None

    @classmethod
    def of(cls, position: int, public: PublicEvent) -> _Item:
        body = public.model_dump_json().encode()
        try:
            parsed: PublicEvent | None = parse_event(body, CONTRACTS)
        except Exception:  # each consumer's batch meets the error, and decides what it is
            parsed = None
        return cls(position, public, body, parsed)

    def received(self) -> PublicEvent:
        if self.parsed is None:
            # Parsed again, for an error of this consumer's own: one error raised for each
            # would gather every raise's traceback and be chained to another event's error.
            return parse_event(self.body, CONTRACTS)
        return self.parsed


Link = tuple[str, str]  # (consumer, source)


class InProcessDelivery:
    def __init__(
        self,
        producers: Mapping[str, Node],
        consumers: Sequence[Consumer],
        dead_letters: SQLiteDeadLetters,
        batch_size: int = 200,
        idle_seconds: float = 0.05,
        consumer_batch: int = 100,
    ) -> None:
        self.producers = producers
        self.dead_letters = dead_letters
        self.batch_size = batch_size  # notifications read per link and turn
        self.consumer_batch = consumer_batch  # events a consumer takes in one transaction
        self.idle_seconds = idle_seconds
        # Positions read but not handled (events a consumer does not take) leave no record;
        # keep them here so they are not read again while the process lives.
        self._cursors: dict[tuple[str, str], int] = {}
        # This turn's decoded events, by (producer, position): shared by the consumers.
        self._decoded: dict[tuple[str, int], _Item | None] = {}
        # This turn's end of each producer's log, read once for all its links: a link already
        # there reads nothing (most links, most turns).
        self._ends: dict[str, int] = {}
        self.links = [
            (consumer, producer)
            for consumer in consumers
            for producer in producers.values()
            if producer.service.name != consumer.name
            and any(takes(consumer, t) for t in producer.service.publishes.event_types)
        ]
        # Per producer, the public event types some consumer takes (only those are decoded).
        self._taken: dict[str, set[str]] = {
            producer.service.name: {
                t
                for t in producer.service.publishes.event_types
                if any(takes(c, t) for c, p in self.links if p is producer)
            }
            for producer in producers.values()
        }

    def step(self) -> int:
        """Delivers what is pending, one batch per link; returns how many events were read."""
        self._decoded.clear()
        self._ends.clear()
        try:
            return sum(self._guarded(consumer, producer) for consumer, producer in self.links)
        finally:
            self._decoded.clear()

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
            position = self._cursors[link] = consumer.position(source)
        if source not in self._ends:
            self._ends[source] = producer.app.recorder.max_notification_id() or 0
        if position >= self._ends[source]:
            return 0
        notifications = producer.app.recorder.select_notifications(
            start=position + 1, limit=self.batch_size
        )
        # Decoded for every consumer at once (what the first link of a turn decodes, the
        # others find decoded); then this consumer's.
        items = [
            item
            for item in self._decode(producer, notifications)
            if takes(consumer, item.public.event_type)
        ]
        run: list[_Item] = []
        for item in items:
            run.append(item)
            if len(run) >= self.consumer_batch:
                self._apply(consumer, link, run)
                self._cursors[link] = run[-1].position
                run = []
        if run:
            self._apply(consumer, link, run)
        if notifications:
            self._cursors[link] = notifications[-1].id
        return len(notifications)

    def _decode(self, producer: Node, notifications: Sequence[Notification]) -> list[_Item]:
        """The public events of ``notifications`` that any consumer takes, decoded once this
        turn (decoding unseals personal data: in one batch scope, each client's key is read
        once)."""
        source = producer.service.name
        publishes = producer.service.publishes
        wanted = [
            n for n in notifications if publishes.event_type_of(n.topic) in self._taken[source]
        ]
        new = [n for n in wanted if (source, n.id) not in self._decoded]
        if new:
            with producer.app.batch():
                for notification in new:
                    public = publishes.to_public(
                        notification.id, producer.app.mapper.to_domain_event(notification)
                    )
                    # Through JSON, as over the broker: the same contract checks apply.
                    self._decoded[(source, notification.id)] = (
                        None if public is None else _Item.of(notification.id, public)
                    )
        found = (self._decoded[(source, n.id)] for n in wanted)
        return [item for item in found if item is not None]

    def _apply(self, consumer: Consumer, link: Link, run: list[_Item]) -> None:
        """Stores ``run`` in one transaction; an event at fault is split out and
        dead-lettered. Raises, with the link's cursor after what was stored, for a failure
        that is not the event's (retried on the next turn from there)."""
        try:
            consumer.handle([item.received() for item in run])
        except Exception as error:
            if is_permanent(error) and len(run) == 1:
                self._dead_letter(consumer, link, run[0], reason(error))
            elif is_permanent(error):
                half = len(run) // 2
                self._apply(consumer, link, run[:half])
                self._cursors[link] = run[half - 1].position
                self._apply(consumer, link, run[half:])
            elif len(run) > 1:
                for item in run:  # the one that fails raises, those before it are stored
                    self._apply(consumer, link, [item])
                    self._cursors[link] = item.position
            else:
                raise  # retried on the next turn from this very position

    def _dead_letter(self, consumer: Consumer, link: Link, item: _Item, why: str) -> None:
        public = item.public
        log.warning("dead-lettered %s for %s: %s", public.message_id, link, why)
        self.dead_letters.add(
            consumer.name, str(public.message_id), public.routing_key, item.body, why
        )

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
