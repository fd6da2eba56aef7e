"""Embedded mode: all four services and the staff API in one process on SQLite files."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Mapping

from fastapi import FastAPI

from kotoutus.http import create_api
from kotoutus.registry import SERVICES
from services.readside.database import engine_for
from services.readside.names import NameSeal
from services.readside.projector import Projector
from shared.audit import ChainKeeper
from shared.contracts import CONTRACTS, parse_event
from shared.crypto import master_key
from shared.eventstore import ServiceApplication, store_env
from shared.messaging.dead_letters import SQLiteDeadLetters
from shared.messaging.inprocess import InProcessDelivery, Node
from shared.messaging.topology import READ_SIDE
from shared.service import Service
from shared.settings import Settings


class EmbeddedSystem:
    def __init__(self, settings: Settings, services: Mapping[str, Service] = SERVICES) -> None:
        if settings.database_url:
            raise ValueError("embedded mode keeps its stores in SQLite files; unset DATABASE_URL")
        self.settings = settings
        self.services = services
        self.nodes = {
            name: Node(service, service.application(settings, store_env(settings, name)))
            for name, service in services.items()
        }
        self.dead_letters = SQLiteDeadLetters(settings.data_dir / "dead-letters.sqlite")
        for node in self.nodes.values():
            node.app.dead_letters = self.dead_letters
        self.projector = Projector(engine_for(settings), NameSeal(master_key(settings)))
        self.delivery = InProcessDelivery(
            self.nodes,
            self.dead_letters,
            idle_seconds=settings.relay_idle_seconds,
            projector=self.projector,
        )

    @property
    def applications(self) -> dict[str, ServiceApplication]:
        return {name: node.app for name, node in self.nodes.items()}

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
            {name: node.app for name, node in self.nodes.items()},
            lifespan=lifespan,
            projector=self.projector,
        )

    def deliver_all(self) -> None:
        """Runs delivery until nothing is pending (for tests and one-shot commands)."""
        while self.delivery.step():
            pass

    def resubmit(self, consumer: str, message_ids: set[str] | None = None) -> list[str]:
        """Hands dead letters of ``consumer`` to it again (after the cause is fixed); those it
        now accepts leave the store, exactly once by its tracking."""
        done: list[str] = []
        for letter in self.dead_letters.all():
            if letter.consumer != consumer:
                continue
            if message_ids is not None and letter.message_id not in message_ids:
                continue
            event = parse_event(letter.body, CONTRACTS)
            if consumer == READ_SIDE:
                self.projector.apply(event)
            else:
                node = self.nodes[consumer]
                node.app.process(event, node.service.policies[event.event_type])
            self.dead_letters.remove(consumer, letter.message_id)
            done.append(letter.message_id)
        return done

    def close(self) -> None:
        for node in self.nodes.values():
            node.app.close()
        self.projector.engine.dispose()
