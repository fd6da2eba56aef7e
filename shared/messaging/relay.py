"""The outbox relay: follows one service's notification log and publishes its public events.

Order of work per batch: read stored events after the saved position → publish them all with
publisher confirms (many in flight) → save the new position. A crash anywhere before the save
publishes the batch again; consumers drop the duplicates by tracking. Nothing is published
that was not first stored, and nothing stored is skipped: the log has no gaps.

One relay per service publishes at a time, the holder of the service's relay lease
(``shared.lease``): the others wait for it. The lease saves work, not correctness — two relays
publishing at once only publish twice, and the inboxes drop the copies — so it is asked at
most once per ``lease_seconds`` while held. The holder keeps its position in memory once read
(one query less per batch) and reads it again whenever it takes the lease.

A batch is decoded in a worker thread, not on the event loop (decoding unseals personal data,
which reads keys from the store), inside one batch scope: a client's key is read once per
batch, not once per event.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping, Sequence

import asyncpg
from eventsourcing.persistence import Notification
from faststream.rabbit import RabbitBroker
from faststream.rabbit.publisher import RabbitPublisher

from shared.contracts import PublicEvent
from shared.eventstore import ServiceApplication
from shared.failpoints import failpoint
from shared.lease import Lease, SoleProcess
from shared.messaging.topology import Topology
from shared.messaging.wakeup import Wakeup
from shared.service import Service

log = logging.getLogger(__name__)


def register_publishers(
    broker: RabbitBroker, topology: Topology, service: Service
) -> dict[str, RabbitPublisher]:
    """One documented publisher per public event type of ``service``."""
    publishers = {}
    for contract in service.publishes.contracts.values():
        key = topology.routing_key(service.name, contract.EVENT_TYPE)
        publishers[contract.EVENT_TYPE] = broker.publisher(
            exchange=topology.events,
            routing_key=key,
            persist=True,
            mandatory=False,  # an event nobody subscribes to yet is not an error
            schema=contract,
            title=key,
            description=(contract.__doc__ or contract.EVENT_TYPE).strip(),
        )
    return publishers


class OutboxRelay:
    def __init__(
        self,
        service: Service,
        app: ServiceApplication,
        publishers: Mapping[str, RabbitPublisher],
        pool: asyncpg.Pool,
        schema: str,
        batch_size: int = 500,
        idle_seconds: float = 0.05,
        lease: Lease | None = None,
        lease_seconds: float = 1.0,
    ) -> None:
        self.service = service
        self.app = app
        self.publishers = publishers
        self.pool = pool
        self.table = f'"{schema}".outbox_position'
        self.batch_size = batch_size
        self.idle_seconds = idle_seconds
        self.lease = lease or SoleProcess()
        self.lease_seconds = lease_seconds
        self._leading = False
        self._asked_at = -float("inf")
        self._position: int | None = None  # saved position, once read while leading

    async def setup(self) -> None:
        await self.pool.execute(
            f"CREATE TABLE IF NOT EXISTS {self.table} "
            "(publisher text PRIMARY KEY, position bigint NOT NULL)"
        )

    async def position(self) -> int:
        value = await self.pool.fetchval(
            f"SELECT position FROM {self.table} WHERE publisher = $1", self.service.name
        )
        return int(value or 0)

    async def save_position(self, position: int) -> None:
        await self.pool.execute(
            f"INSERT INTO {self.table} AS t (publisher, position) VALUES ($1, $2) "
            "ON CONFLICT (publisher) DO UPDATE SET position = EXCLUDED.position "
            "WHERE t.position < EXCLUDED.position",
            self.service.name,
            position,
        )

    async def lead(self) -> bool:
        """Whether this process relays now (asked of the lease at most every
        ``lease_seconds``); on taking the lease the saved position is read again."""
        now = time.monotonic()
        if now - self._asked_at < self.lease_seconds:
            return self._leading
        self._asked_at = now
        leading = await asyncio.to_thread(self.lease.hold)
        if leading and not self._leading:
            self._position = None
        self._leading = leading
        return leading

    async def step(self) -> int:
        """Publishes one batch; returns how many stored events it covered."""
        if self._position is None:
            self._position = await self.position()
        notifications, events = await asyncio.to_thread(self._read, self._position + 1)
        if not notifications:
            return 0
        # Frames leave in order on one channel; the confirms are awaited together.
        await asyncio.gather(*(self._publish(e) for e in events))
        failpoint("relay.after_publish")
        await self.save_position(notifications[-1].id)
        self._position = notifications[-1].id
        return len(notifications)

    def _read(self, start: int) -> tuple[Sequence[Notification], list[PublicEvent]]:
        """The stored events from ``start`` and their public events (in a worker thread)."""
        notifications = self.app.recorder.select_notifications(start, self.batch_size)
        publishes = self.service.publishes
        events = []
        with self.app.batch():  # each client's key read once for the batch
            for notification in notifications:
                if not publishes.event_type_of(notification.topic):
                    continue  # internal events are not decoded at all
                event = publishes.to_public(
                    notification.id, self.app.mapper.to_domain_event(notification)
                )
                if event is not None:
                    events.append(event)
        return notifications, events

    async def _publish(self, event: PublicEvent) -> None:
        await self.publishers[event.event_type].publish(
            event.model_dump_json().encode(),
            message_id=str(event.message_id),
            content_type="application/json",
            message_type=event.event_type,
            timestamp=event.recorded_at,
            headers={"schema_version": event.schema_version, "source": event.source},
        )

    async def run(self, stop: asyncio.Event) -> None:
        await self.setup()
        wakeup = Wakeup(self.idle_seconds)
        wakeup.follow(self.app)
        try:
            while not stop.is_set():
                try:
                    covered = await self.step() if await self.lead() else 0
                except Exception:
                    log.exception("relay of %s failed; retrying", self.service.name)
                    covered = 0
                    self._position = None  # read again: what was saved is what counts
                    await asyncio.sleep(1)
                if covered < self.batch_size:
                    await wakeup.idle(stop)
        finally:
            self._leading = False
            await asyncio.to_thread(self.lease.release)
