"""What a service is to the rest of the system: its store, the events it publishes, the events
it reacts to, and its HTTP routes. Both run modes are assembled from these descriptions."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import DomainEventProtocol
from fastapi import APIRouter
from pydantic import BaseModel

from shared.contracts.envelope import PublicEvent
from shared.eventstore import ServiceApplication
from shared.messaging.consumers import Consumer, Handlers, Subscription
from shared.settings import Settings

MESSAGE_ID_NAMESPACE = uuid5(NAMESPACE_URL, "urn:kotoutus:message")


def message_id(source: str, aggregate_id: UUID, version: int) -> UUID:
    """The same stored event gets the same id however often it is published."""
    return uuid5(MESSAGE_ID_NAMESPACE, f"{source}:{aggregate_id}:{version}")


@dataclass(frozen=True)
class PublicMapping:
    """Turns a service's stored domain events into its public contracts."""

    source: str
    id_field: str | None  # the data field that holds the aggregate's id, e.g. "plan_id"
    # Keyed by the stored event's class name within its aggregate, e.g. "Client.Registered".
    contracts: Mapping[str, type[PublicEvent]]
    # Value-object attributes whose fields the contracts take at top level, e.g. "facts".
    flatten: tuple[str, ...] = ()

    def to_public(self, position: int, event: DomainEventProtocol[UUID]) -> PublicEvent | None:
        contract = self.contracts.get(type(event).__qualname__)
        if contract is None:
            return None  # internal event: not part of any contract
        data_model: type[BaseModel] = contract.model_fields["data"].annotation  # type: ignore[assignment]
        stored: Any = event  # every Kotoutus event has provenance and a timestamp
        provenance = stored.provenance
        return contract(
            message_id=message_id(self.source, event.originator_id, event.originator_version),
            event_type=contract.EVENT_TYPE,
            schema_version=contract.SCHEMA_VERSION,
            source=self.source,
            position=position,
            aggregate_id=event.originator_id,
            aggregate_version=event.originator_version,
            occurred_at=provenance.occurred_at,
            recorded_at=stored.timestamp,
            actor=provenance.actor,
            organisation=provenance.organisation,
            record_source=provenance.source,
            legal_basis=tuple(getattr(event, "legal_basis", ())),
            data=data_model.model_validate(self._data_of(event)),
        )

    def event_type_of(self, topic: str) -> str | None:
        """The public type a stored event's topic maps to, without decoding (or unsealing) it."""
        contract = self.contracts.get(topic.rsplit(":", 1)[-1])
        return contract.EVENT_TYPE if contract else None

    def _data_of(self, event: DomainEventProtocol[UUID]) -> dict[str, Any]:
        attributes = dict(vars(event))
        for name in self.flatten:
            value = attributes.get(name)
            if isinstance(value, BaseModel):
                attributes = {**dict(value), **attributes}
        if self.id_field:
            attributes[self.id_field] = event.originator_id
        return attributes

    @property
    def event_types(self) -> list[str]:
        return [contract.EVENT_TYPE for contract in self.contracts.values()]


class Background(Protocol):
    async def run(self, stop: asyncio.Event) -> None: ...


@dataclass(frozen=True)
class Service:
    name: str
    # Built by the bootstrap with (settings, env) and, by name, what else it asks for.
    application: Callable[..., ServiceApplication]
    publishes: PublicMapping
    # What it does on the public events it takes, by contract class (see consumers.py).
    policies: Handlers[Any] = field(default_factory=Handlers)
    routes: APIRouter | None = None
    # Work the service does on its own while it runs (e.g. durable timers), given its app.
    background: tuple[Callable[[Any], Background], ...] = ()
    # Takes inbound messages from other municipal systems (the raw bodies), in one transaction:
    # each applied once, or an error raised and none.
    receives: Callable[[Any, Sequence[bytes]], object] | None = None

    @property
    def subscription(self) -> Subscription | None:
        """Its queue of public events, if it reacts to any."""
        if not self.policies:
            return None
        types = self.policies.event_types
        return Subscription(self.name, types, f"{self.name} reacts to: {', '.join(sorted(types))}")


@dataclass(frozen=True)
class ReadModel:
    """A part of the system that keeps no event store of its own: it takes every public event
    into its projections and serves reads (the read side)."""

    name: str
    build: Callable[[Settings], Consumer]
    description: str
    routes: APIRouter | None = None

    @property
    def subscription(self) -> Subscription:
        return Subscription(self.name, None, self.description)
