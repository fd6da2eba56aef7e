"""The one place the system is put together (cosmicpython's ``bootstrap.py``): each service's
application built from settings with what it asks for, and every consumer of public events.

Both run modes, the CLI, the AsyncAPI generator and the bench build through here. An
application gets its dependencies in its constructor, by name: a service whose application
takes ``dead_letters`` (intake's erasure must reach them) is given the deployment's archive;
the others are not bothered with it.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from kotoutus.registry import READ_SIDE, SERVICES
from shared.eventstore import ServiceApplication, store_env
from shared.messaging.consumers import ApplicationConsumer, Consumer, Subscription
from shared.messaging.dead_letters import (
    BrokerDeadLetterArchive,
    DeadLetterArchive,
    SQLiteDeadLetters,
)
from shared.messaging.inprocess import Node
from shared.messaging.topology import Topology
from shared.service import ReadModel, Service
from shared.settings import Settings


def build_application(
    settings: Settings, service: Service, **dependencies: Any
) -> ServiceApplication:
    """``service``'s application on its own store, given those of ``dependencies`` its
    constructor names."""
    wanted = inspect.signature(service.application).parameters
    given = {name: value for name, value in dependencies.items() if name in wanted}
    return service.application(settings, store_env(settings, service.name), **given)


@dataclass
class System:
    """What one process runs: some services' applications, and the consumers among them and
    the read side."""

    settings: Settings
    nodes: dict[str, Node]
    read_side: Consumer | None
    read_model: ReadModel = READ_SIDE
    consumers: dict[str, Consumer] = field(default_factory=dict)

    @property
    def applications(self) -> dict[str, ServiceApplication]:
        return {name: node.app for name, node in self.nodes.items()}

    @property
    def services(self) -> dict[str, Service]:
        return {name: node.service for name, node in self.nodes.items()}

    def close(self) -> None:
        for node in self.nodes.values():
            node.app.close()
        engine = getattr(self.read_side, "engine", None)
        if engine is not None:
            engine.dispose()


def bootstrap(
    settings: Settings,
    names: Iterable[str] | None = None,
    *,
    read_side: bool = True,
    services: Mapping[str, Service] = SERVICES,
    **dependencies: Any,
) -> System:
    """The services ``names`` (default: all) built for ``settings``, each with a consumer if
    it reacts to public events, and the read side if ``read_side``."""
    chosen = list(services) if names is None else list(names)
    nodes = {
        name: Node(services[name], build_application(settings, services[name], **dependencies))
        for name in chosen
    }
    consumers: dict[str, Consumer] = {
        name: ApplicationConsumer(name, node.app, node.service.policies)
        for name, node in nodes.items()
        if node.service.policies
    }
    projections = READ_SIDE.build(settings) if read_side else None
    if projections is not None:
        consumers[READ_SIDE.name] = projections
    return System(settings, nodes, projections, READ_SIDE, consumers)


def subscriptions(services: Mapping[str, Service] = SERVICES) -> list[Subscription]:
    """Every consumer of public events in the deployment: the services that react to some,
    and the read side (every event)."""
    found = [s.subscription for s in services.values() if s.subscription is not None]
    return [*found, READ_SIDE.subscription]


def inbound(services: Mapping[str, Service] = SERVICES) -> list[str]:
    """The services that take other systems' messages."""
    return [s.name for s in services.values() if s.receives is not None]


def dead_letter_archive(
    settings: Settings, services: Mapping[str, Service] = SERVICES
) -> DeadLetterArchive:
    """Where the deployment keeps its dead letters: every consumer's dead-letter queue on
    RabbitMQ when distributed, the data folder's SQLite file when embedded."""
    if settings.amqp_url:
        topology = Topology.of(settings)
        consumers = topology.consumers(subscriptions(services), inbound(services))
        return BrokerDeadLetterArchive(settings.amqp_url, topology, consumers)
    return SQLiteDeadLetters(settings.data_dir / "dead-letters.sqlite")
