"""The AsyncAPI document, generated from the same publishers and consumers the services run."""

from __future__ import annotations

import json
from typing import Any

from faststream import FastStream
from faststream.rabbit import RabbitBroker
from faststream.specification import AsyncAPI

from shared.contracts import PublicEvent
from shared.entrypoints.registry import SERVICES
from shared.eventstore import Policy
from shared.messaging.consumer import register_consumer
from shared.messaging.relay import register_publishers
from shared.messaging.topology import Topology
from shared.settings import Settings

DESCRIPTION = """\
Public events of the Kotoutus services. Each service publishes its events to the topic exchange
`<prefix>.events` with routing key `<service>.<EventType>`, persistent, with a stable
`message_id` (the same stored event always has the same id) and publisher confirms. Every body is
a versioned envelope: who (`actor`, `organisation`), when (`occurred_at` business time,
`recorded_at` record time), why (`legal_basis`: the rules that decided it) and `data`.
Consumers ignore fields they do not know. A message no consumer can accept is moved to
`<prefix>.<service>.dead-letter` with its reason in the `x-kotoutus-reason` header.
"""


def _documentation_only(event: PublicEvent, policy: Policy) -> bool:
    raise RuntimeError("this broker only describes the contracts")


def application() -> FastStream:
    # The document describes the default names, whatever this machine's environment says.
    defaults = Settings.model_fields
    topology = Topology(defaults["amqp_prefix"].default, defaults["delivery_limit"].default)
    broker = RabbitBroker("amqp://guest:guest@localhost:5672/", logger=None)
    for service in SERVICES.values():
        register_publishers(broker, topology, service)
        if service.policies:
            register_consumer(broker, topology, service, _documentation_only, 1)
    return FastStream(
        broker,
        specification=AsyncAPI(title="Kotoutus events", version="1", description=DESCRIPTION),
    )


def document() -> dict[str, Any]:
    schema = application().schema.to_specification().to_jsonable()
    assert isinstance(schema, dict)
    return schema


def render() -> str:
    return json.dumps(document(), indent=2, ensure_ascii=False, sort_keys=True) + "\n"
