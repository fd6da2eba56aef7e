"""The outbox relay: follows one service's notification log and publishes its public events.

Order of work per batch: read stored events after the saved position → publish them all with
publisher confirms (many in flight) → save the new position. A crash anywhere before the save
publishes the batch again; consumers drop the duplicates by tracking. Nothing is published
that was not first stored, and nothing stored is skipped: the log has no gaps.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping

import asyncpg
from faststream.rabbit import RabbitBroker
from faststream.rabbit.publisher import RabbitPublisher

from shared.contracts import PublicEvent
from shared.eventstore import ServiceApplication
from shared.failpoints import failpoint
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
    ) -> None:
        self.service = service
        self.app = app
        self.publishers = publishers
        self.pool = pool
        self.table = f'"{schema}".outbox_position'
        self.batch_size = batch_size
        self.idle_seconds = idle_seconds

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

    async def step(self) -> int:
        """Publishes one batch; returns how many stored events it covered."""
        position = await self.position()
        notifications = await asyncio.to_thread(
            self.app.recorder.select_notifications, position + 1, self.batch_size
        )
        if not notifications:
            return 0
        publishes = self.service.publishes
        events = [
            publishes.to_public(n.id, self.app.mapper.to_domain_event(n))
            for n in notifications
            if publishes.event_type_of(n.topic)  # internal events are not decoded at all
        ]
        # Frames leave in order on one channel; the confirms are awaited together.
        await asyncio.gather(*(self._publish(e) for e in events if e is not None))
        failpoint("relay.after_publish")
        await self.save_position(notifications[-1].id)
        return len(notifications)

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
        while not stop.is_set():
            try:
                covered = await self.step()
            except Exception:
                log.exception("relay of %s failed; retrying", self.service.name)
                covered = 0
                await asyncio.sleep(1)
            if covered < self.batch_size:
                await wakeup.idle(stop)
