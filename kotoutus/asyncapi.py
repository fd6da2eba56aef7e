"""The AsyncAPI document, generated from the same publishers and consumers the services run."""

from __future__ import annotations

import inspect
import json
from datetime import datetime
from typing import Any

from cloudevents.core.bindings import amqp
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent
from faststream import FastStream
from faststream.rabbit import RabbitBroker
from faststream.specification import AsyncAPI

from kotoutus.bootstrap import subscriptions
from kotoutus.registry import SERVICES
from shared.contracts.inbound import ATTRIBUTES, INBOUND, InboundData, example
from shared.contracts.inbound import CloudEvent as Envelope
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
Consumers ignore fields they do not know. A publisher sends the newest `schema_version` of its
type; a channel's other messages (`v1`, …) are earlier versions every consumer still reads
(docs/versioning.md). A message no consumer can accept is moved to
`<prefix>.<service>.dead-letter` with its reason in the `x-kotoutus-reason` header.

Other municipal systems publish to the topic exchange `<prefix>.inbound` (any routing key) a
CloudEvents 1.0 message in either content mode: structured (the whole event as the body,
`content_type` `application/cloudevents+json`; a JSON body without attribute headers is read
the same way) or binary (the attributes in the message's headers, `cloudEvents_*` as the
CloudEvents AMQP binding writes them, `cloudEvents:*`, or `ce-*` as the RabbitMQ binding does;
the body is the event's `data`, `content_type` `application/json`). (`source`, `id`) identifies
a message: the same pair with the same content is applied once; with other content it is
dead-lettered as a conflict. `time` is optional: without it, the time the message was received
counts. The same messages can be posted to the staff API's `POST /inbound`.
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
    _describe_earlier_versions(schema)
    return schema


def _describe_earlier_versions(schema: dict[str, Any]) -> None:
    """A type's earlier schema versions that consumers still read (``EARLIER``; see
    docs/versioning.md) are messages of its channel too: still in a queue or a dead-letter
    queue, though its publisher sends only the newest (the operation's message)."""
    components = schema["components"]
    ref = "#/components/schemas/{model}"
    for service in SERVICES.values():
        for contract in service.publishes.contracts.values():
            channel = schema["channels"].get(f"{service.name}.{contract.EVENT_TYPE}")
            if channel is None:
                continue
            for earlier in contract.EARLIER:
                payload = earlier.model_json_schema(ref_template=ref)
                components["schemas"].update(payload.pop("$defs", {}))
                components["schemas"][earlier.__name__] = payload
                key = f"{service.name}.{contract.EVENT_TYPE}:v{earlier.SCHEMA_VERSION}"
                components["messages"][key] = {
                    "name": f"{contract.EVENT_TYPE} v{earlier.SCHEMA_VERSION}",
                    "title": key,
                    "summary": inspect.cleandoc(earlier.__doc__ or key),
                    "payload": {"$ref": ref.format(model=earlier.__name__)},
                }
                channel["messages"][f"v{earlier.SCHEMA_VERSION}"] = {
                    "$ref": f"#/components/messages/{key}"
                }


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
            envelope = Envelope.model_json_schema(ref_template=ref)
            components["schemas"].update(envelope.pop("$defs", {}))
            envelope["properties"]["type"] = {"const": name, "type": "string"}
            envelope["properties"]["data"] = {"$ref": ref.format(model=model.__name__)}
            envelope["title"] = name
            components["schemas"][name] = envelope
            components["messages"][name] = {
                "name": name,
                "title": name,
                "summary": (model.__doc__ or name).strip(),
                "description": "Structured content mode: the whole event is the body.",
                "contentType": "application/cloudevents+json",
                "payload": {"$ref": ref.format(model=name)},
                "examples": [{"name": "example", "payload": example(model)}],
            }
            binary = f"{name} (binary)"
            components["messages"][binary] = _binary_message(model, ref)
            for message in (name, binary):
                channel["messages"][message] = {"$ref": f"#/components/messages/{message}"}
                target["messages"].append({"$ref": f"#/channels/{channel_name}/messages/{message}"})


def _binary_message(model: type[InboundData], ref: str) -> dict[str, Any]:
    """A message of ``model``'s type in binary content mode: the attributes in the headers
    (as the CloudEvents SDK's AMQP binding writes them), the data the body."""
    sample = example(model)
    attributes = {k: v for k, v in sample.items() if k not in ("data", "time")}
    attributes["time"] = datetime.fromisoformat(sample["time"])
    written = amqp.to_binary(CloudEvent(attributes, sample["data"]), JSONFormat())
    properties: dict[str, Any] = {}
    for attribute, (_, text) in ATTRIBUTES.items():
        schema: dict[str, Any] = {"type": "string", "description": text}
        if attribute == "time":
            schema = {
                "description": text + " An AMQP timestamp (milliseconds), or RFC 3339 text.",
                "oneOf": [{"type": "integer"}, {"type": "string", "format": "date-time"}],
            }
        properties[f"{amqp.CE_PREFIX_UNDERSCORE}{attribute}"] = schema
    required = [
        f"{amqp.CE_PREFIX_UNDERSCORE}{a}" for a, (needed, _) in ATTRIBUTES.items() if needed
    ]
    return {
        "name": f"{model.TYPE} (binary)",
        "title": f"{model.TYPE} (binary content mode)",
        "summary": (model.__doc__ or model.TYPE).strip(),
        "description": (
            "The attributes in the headers: `cloudEvents_<attribute>` (the CloudEvents AMQP "
            "binding), `cloudEvents:<attribute>`, or `ce-<attribute>` (the RabbitMQ binding); "
            "the body is the event's `data`."
        ),
        "contentType": written.properties["content-type"],
        "headers": {"type": "object", "properties": properties, "required": required},
        "payload": {"$ref": ref.format(model=model.__name__)},
        "examples": [
            {
                "name": "example",
                "headers": written.application_properties,
                "payload": sample["data"],
            }
        ],
    }


def render() -> str:
    return json.dumps(document(), indent=2, ensure_ascii=False, sort_keys=True) + "\n"
