"""Distributed mode: one service per process, its store on PostgreSQL, events over RabbitMQ."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Mapping

import asyncpg
from fastapi import FastAPI
from faststream.rabbit import RabbitBroker

from kotoutus.bootstrap import bootstrap, dead_letter_archive, inbound, subscriptions
from kotoutus.http import create_api
from kotoutus.registry import READ_SIDE, SERVICES
from shared.audit import ChainKeeper
from shared.lease import lease_for
from shared.messaging.consumer import register_inbound, register_subscription
from shared.messaging.relay import OutboxRelay, register_publishers
from shared.messaging.topology import Topology
from shared.service import Service
from shared.settings import Settings


class ServiceProcess:
    """One service: its application, its consumer, its outbox relay and its routes."""

    def __init__(
        self, settings: Settings, name: str, services: Mapping[str, Service] = SERVICES
    ) -> None:
        if not settings.distributed:
            raise ValueError("distributed mode needs KOTOUTUS_DATABASE_URL and KOTOUTUS_AMQP_URL")
        assert settings.database_url and settings.amqp_url
        self.settings = settings
        self.services = services
        self.service = services[name]
        self.topology = Topology.of(settings)
        dead_letters = dead_letter_archive(settings, services)
        system = bootstrap(
            settings, [name], read_side=False, services=services, dead_letters=dead_letters
        )
        self.app = system.nodes[name].app
        self.amqp_url: str = settings.amqp_url
        self.broker = RabbitBroker(settings.amqp_url, logger=None)
        self.publishers = register_publishers(self.broker, self.topology, self.service)
        consumer = system.consumers.get(name)
        if self.service.subscription is not None:
            register_subscription(
                self.broker, self.topology, self.service.subscription, consumer, settings
            )
        register_inbound(self.broker, self.topology, self.service, self.app, settings)

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        assert self.settings.database_url
        await self.broker.connect()
        # Every queue and binding exists before anything is published or consumed.
        await self.topology.declare(
            self.amqp_url, subscriptions(self.services), inbound(self.services)
        )
        await self.broker.start()
        pool = await asyncpg.create_pool(self.settings.database_url, min_size=1, max_size=2)
        relay = OutboxRelay(
            self.service,
            self.app,
            self.publishers,
            pool,
            schema=self.settings.schema_for(self.service.name),
            batch_size=self.settings.relay_batch_size,
            idle_seconds=self.settings.relay_idle_seconds,
            lease=lease_for(self.settings, self.service.name, "relay"),
        )
        stop = asyncio.Event()
        tasks = [
            asyncio.create_task(relay.run(stop)),
            asyncio.create_task(ChainKeeper(self.app).run(stop)),
        ]
        for background in self.service.background:
            tasks.append(asyncio.create_task(background(self.app).run(stop)))
        try:
            yield
        finally:
            stop.set()
            await asyncio.gather(*tasks)
            await self.broker.stop()
            await pool.close()
            self.app.close()

    def api(self) -> FastAPI:
        @contextlib.asynccontextmanager
        async def lifespan(_: FastAPI) -> AsyncIterator[None]:
            async with self.running():
                yield

        return create_api(
            self.settings,
            {self.service.name: self.service},
            {self.service.name: self.app},
            lifespan=lifespan,
            title=f"Kotoutus {self.service.name}",
        )


class ReadSideProcess:
    """The read side: its projections fed from RabbitMQ, and the staff's read routes."""

    def __init__(self, settings: Settings, services: Mapping[str, Service] = SERVICES) -> None:
        if not settings.distributed:
            raise ValueError("distributed mode needs KOTOUTUS_DATABASE_URL and KOTOUTUS_AMQP_URL")
        assert settings.amqp_url
        self.settings = settings
        self.services = services
        self.system = bootstrap(settings, [], services=services)
        self.projector = self.system.read_side
        self.topology = Topology.of(settings)
        self.amqp_url: str = settings.amqp_url
        self.broker = RabbitBroker(settings.amqp_url, logger=None)
        register_subscription(
            self.broker, self.topology, READ_SIDE.subscription, self.projector, settings
        )

    def api(self) -> FastAPI:
        @contextlib.asynccontextmanager
        async def lifespan(_: FastAPI) -> AsyncIterator[None]:
            await self.broker.connect()
            await self.topology.declare(
                self.amqp_url, subscriptions(self.services), inbound(self.services)
            )
            await self.broker.start()
            try:
                yield
            finally:
                await self.broker.stop()
                self.system.close()

        return create_api(
            self.settings,
            {},
            {},
            lifespan=lifespan,
            title="Kotoutus read side",
            projector=self.projector,
        )
