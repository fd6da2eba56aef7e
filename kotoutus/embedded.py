"""Embedded mode: all four services, the read side and the staff API in one process on
SQLite files, events delivered in-process."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Mapping

from fastapi import FastAPI

from kotoutus.bootstrap import bootstrap
from kotoutus.http import create_api
from kotoutus.registry import SERVICES
from services.readside.projector import Projector
from shared.audit import ChainKeeper
from shared.contracts import CONTRACTS, parse_event
from shared.eventstore import ServiceApplication
from shared.messaging.dead_letters import SQLiteDeadLetters
from shared.messaging.inprocess import InProcessDelivery
from shared.service import Service
from shared.settings import Settings


class EmbeddedSystem:
    def __init__(self, settings: Settings, services: Mapping[str, Service] = SERVICES) -> None:
        if settings.database_url:
            raise ValueError("embedded mode keeps its stores in SQLite files; unset DATABASE_URL")
        self.settings = settings
        self.services = services
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        self.dead_letters = SQLiteDeadLetters(settings.data_dir / "dead-letters.sqlite")
        self.system = bootstrap(settings, services=services, dead_letters=self.dead_letters)
        self.nodes = self.system.nodes
        projector = self.system.read_side
        assert isinstance(projector, Projector)
        self.projector = projector
        self.delivery = InProcessDelivery(
            self.nodes,
            list(self.system.consumers.values()),
            self.dead_letters,
            batch_size=max(200, settings.consumer_batch),
            idle_seconds=settings.relay_idle_seconds,
            consumer_batch=settings.consumer_batch,
        )

    @property
    def applications(self) -> dict[str, ServiceApplication]:
        return self.system.applications

    def api(self) -> FastAPI:
        @contextlib.asynccontextmanager
        async def lifespan(_: FastAPI) -> AsyncIterator[None]:
            stop = asyncio.Event()
            tasks = [asyncio.create_task(self.delivery.run(stop))]
            for node in self.nodes.values():
                tasks.append(asyncio.create_task(ChainKeeper(node.app).run(stop)))
                for background in node.service.background:
                    tasks.append(asyncio.create_task(background(node.app).run(stop)))
            try:
                yield
            finally:
                stop.set()
                await asyncio.gather(*tasks)
                self.close()

        return create_api(
            self.settings,
            self.services,
            self.applications,
            lifespan=lifespan,
            projector=self.projector,
        )

    def deliver_all(self) -> None:
        """Runs delivery until nothing is pending (for tests and one-shot commands)."""
        while self.delivery.step():
            pass

    def resubmit(self, consumer: str, message_ids: set[str] | None = None) -> list[str]:
        """Hands dead letters of ``consumer`` to it again (after the cause is fixed); those it
        now accepts leave the store, exactly once by its own record of what it handled."""
        done: list[str] = []
        for letter in self.dead_letters.all():
            if letter.consumer != consumer:
                continue
            if message_ids is not None and letter.message_id not in message_ids:
                continue
            self.system.consumers[consumer].handle([parse_event(letter.body, CONTRACTS)])
            self.dead_letters.remove(consumer, letter.message_id)
            done.append(letter.message_id)
        return done

    def close(self) -> None:
        self.system.close()
