"""The AsyncAPI document, generated from the same publishers and consumers the services run."""

from __future__ import annotations

import json
from typing import Any

from faststream import FastStream
from faststream.rabbit import RabbitBroker
from faststream.specification import AsyncAPI

from kotoutus.bootstrap import subscriptions
from kotoutus.registry import SERVICES
from shared.contracts.inbound import INBOUND, CloudEvent, example
from shared.messaging.consumer import register_inbound, register_subscription
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

Other municipal systems publish to the topic exchange `<prefix>.inbound` (any routing key) a
CloudEvents 1.0 message in structured JSON mode; (`source`, `id`) identifies it and the same
pair is applied once. The same messages can be posted to the staff API's `POST /inbound`.
"""


def application() -> FastStream:
    # The document describes the default names, whatever this machine's environment says.
    defaults = Settings.model_fields
    topology = Topology(defaults["amqp_prefix"].default, defaults["delivery_limit"].default)
    broker = RabbitBroker("amqp://guest:guest@localhost:5672/", logger=None)
    # The same descriptions the running consumers are registered from, without applications.
    settings = Settings.model_construct()
    for service in SERVICES.values():
        register_publishers(broker, topology, service)
    for subscription in subscriptions():
        register_subscription(broker, topology, subscription, None, settings)
    for service in SERVICES.values():
        register_inbound(broker, topology, service, None, settings)
    return FastStream(
        broker,
        specification=AsyncAPI(title="Kotoutus events", version="1", description=DESCRIPTION),
    )


def document() -> dict[str, Any]:
    schema = application().schema.to_specification().to_jsonable()
    assert isinstance(schema, dict)
    _describe_inbound(schema)
    return schema


def _describe_inbound(schema: dict[str, Any]) -> None:
    """The inbound queue takes many message types, which the framework's one-handler view
    cannot show: each type is added with its schema and a complete example."""
    components = schema["components"]
    ref = "#/components/schemas/{model}"
    for channel_name, channel in schema["channels"].items():
        if not channel_name.endswith(".inbound:consume"):
            continue
        for operation in schema["operations"].values():
            if operation["channel"]["$ref"] == f"#/channels/{channel_name}":
                operation["messages"] = []
                target = operation
        channel["messages"] = {}
        for model in INBOUND.values():
            name = model.TYPE
            data_schema = model.model_json_schema(ref_template=ref)
            components["schemas"].update(data_schema.pop("$defs", {}))
            components["schemas"][model.__name__] = data_schema
            envelope = CloudEvent.model_json_schema(ref_template=ref)
            components["schemas"].update(envelope.pop("$defs", {}))
            envelope["properties"]["type"] = {"const": name, "type": "string"}
            envelope["properties"]["data"] = {"$ref": ref.format(model=model.__name__)}
            envelope["title"] = name
            components["schemas"][name] = envelope
            components["messages"][name] = {
                "name": name,
                "title": name,
                "summary": (model.__doc__ or name).strip(),
                "contentType": "application/cloudevents+json",
                "payload": {"$ref": ref.format(model=name)},
                "examples": [{"name": "example", "payload": example(model)}],
            }
            channel["messages"][name] = {"$ref": f"#/components/messages/{name}"}
            target["messages"].append({"$ref": f"#/channels/{channel_name}/messages/{name}"})


def render() -> str:
    return json.dumps(document(), indent=2, ensure_ascii=False, sort_keys=True) + "\n"
