"""The read side's subscription on RabbitMQ: every public event, into the projections."""

from __future__ import annotations

from faststream.rabbit import RabbitBroker

from services.readside.projector import Projector
from shared.contracts import CONTRACTS, parse_event
from shared.messaging.consumer import register_consumer
from shared.messaging.topology import READ_SIDE, Topology
from shared.settings import Settings


def register_read_side(
    broker: RabbitBroker, topology: Topology, projector: Projector | None, settings: Settings
) -> None:
    """Without ``projector`` (documentation only) the handler refuses to run."""

    def handle(body: bytes) -> bool:
        if projector is None:
            raise RuntimeError("this broker only describes the contracts")
        return projector.apply(parse_event(body, CONTRACTS))

    register_consumer(
        broker,
        topology,
        READ_SIDE,
        handle,
        settings.consumer_prefetch,
        "the read side's projections (caseload, timeline, names) take every public event",
    )
