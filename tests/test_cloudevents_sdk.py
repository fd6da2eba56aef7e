"""Inbound messages made by the CloudEvents SDK itself (``cloudevents.core``), in both content
modes over both transports: each applied once, a redelivery a duplicate, ``time`` optional,
the same (``source``, ``id``) with other content a conflict, a malformed message refused with
a reason that says what is wrong."""

from __future__ import annotations

import asyncio
import base64
import copy
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import aio_pika
import httpx
import pytest
from cloudevents.core.bindings import amqp, http, rabbitmq
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent
from fastapi.testclient import TestClient

from kotoutus.embedded import EmbeddedSystem
from services.intake.application import IntakeApplication
from services.intake.inbound import InboundReceipt
from shared.contracts.envelope import ContractError
from shared.contracts.inbound import (
    AddressChanged,
    Died,
    HomeMunicipalityRegistered,
    InboundMessage,
    parse_inbound,
)
from shared.messaging.erasure import ErasedPerson
from shared.messaging.topology import Topology
from shared.settings import Settings
from shared.values import Actor, ActorKind, Provenance
from tests.support import ACTOR, INTEGRATION, ServiceProcesses, eventually, queue_depth
from tests.test_intake import identity_code
from tests.test_intake_distributed import cli, lookup, staff_register

FORMAT = JSONFormat()


def event(
    model: type[Any] = HomeMunicipalityRegistered,
    message_id: str | None = None,
    *,
    time: datetime | None = datetime(2025, 2, 3, 6, 15, tzinfo=UTC),
    **data: Any,
) -> CloudEvent:
    """An event as a sender's SDK makes it (``time=None``: the sender gives none)."""
    attributes: dict[str, Any] = {
        "id": message_id or str(uuid4()),
        "source": "urn:fi:dvv:vtj",
        "type": model.TYPE,
        "datacontenttype": "application/json",
    }
    if time is not None:
        attributes["time"] = time
    made = CloudEvent(attributes, {**copy.deepcopy(model.EXAMPLE), **data})
    if time is None:
        # The SDK gives every event it makes a time (now); a sender may send none (§3.1.1
        # of CloudEvents 1.0 makes it optional), which the bindings then leave out.
        del made.get_attributes()["time"]
    return made


def person(code: str, **names: str) -> dict[str, str]:
    return {"identity_code": code, **names}


# --- over HTTP (the embedded system) ---


@pytest.fixture
def api(embedded: EmbeddedSystem) -> Iterator[TestClient]:
    with TestClient(embedded.api()) as client:
        yield client


def post(api: TestClient, message: http.HTTPMessage, **headers: str) -> httpx.Response:
    return api.post(
        "/inbound", content=message.body, headers={**message.headers, **INTEGRATION, **headers}
    )


def outcome(response: httpx.Response) -> str:
    assert response.status_code == 202, response.text
    return str(response.json()["outcome"])


def client_of(api: TestClient, code: str) -> dict[str, Any]:
    found = api.post(
        "/clients/lookup", json={"kind": "identity_code", "value": code}, headers=ACTOR
    ).json()
    assert found["client_id"], f"no client for {code}"
    view = api.get(f"/clients/{found['client_id']}", headers=ACTOR).json()
    return dict(view)


def test_binary_and_structured_http_messages_of_the_sdk_are_applied_once(
    api: TestClient,
) -> None:
    code = identity_code("150390", "-", "211")
    binary = http.to_binary(event(message_id="dvv-b1", person=person(code)), FORMAT)
    assert "ce-id" in binary.headers and b"specversion" not in binary.body  # binary mode
    assert outcome(post(api, binary)) == "registered"
    assert outcome(post(api, binary)) == "duplicate"
    registered = client_of(api, code)

    # The same event in the other mode is the same message.
    same = http.to_structured(event(message_id="dvv-b1", person=person(code)), FORMAT)
    assert same.headers["content-type"] == "application/cloudevents+json"
    assert outcome(post(api, same)) == "duplicate"

    other = identity_code("160390", "-", "212")
    structured = http.to_structured(event(message_id="dvv-s1", person=person(other)), FORMAT)
    assert outcome(post(api, structured)) == "registered"
    assert outcome(post(api, structured)) == "duplicate"
    address = http.to_binary(
        event(AddressChanged, "dvv-b2", person=person(code), address="Kauppakatu 2, 98100"),
        FORMAT,
    )
    assert outcome(post(api, address)) == "updated"
    assert outcome(post(api, address)) == "duplicate"
    after = client_of(api, code)
    assert after["version"] == registered["version"] + 1  # the address, once
    assert after["personal"]["contact"]["address"] == "Kauppakatu 2, 98100"


def test_an_event_without_time_happened_when_it_was_received(
    api: TestClient, embedded: EmbeddedSystem
) -> None:
    code = identity_code("170390", "-", "213")
    before = datetime.now(UTC)
    for to in (http.to_binary, http.to_structured):
        message = to(
            event(time=None, message_id=f"dvv-t-{to.__name__}", person=person(code)), FORMAT
        )
        assert "ce-time" not in message.headers and b'"time"' not in message.body
        assert outcome(post(api, message)) in {"registered", "updated"}
        assert outcome(post(api, message)) == "duplicate"  # no time: still the same message
    after = datetime.now(UTC)
    intake = embedded.applications["intake"]
    assert isinstance(intake, IntakeApplication)
    receipt_id = InboundReceipt.create_id("urn:fi:dvv:vtj", "dvv-t-to_binary")
    received = next(iter(intake.repository.event_store.get(receipt_id)))
    assert before <= received.sent_at <= after  # type: ignore[attr-defined]
    assert before <= received.provenance.occurred_at <= after  # type: ignore[attr-defined]


def test_the_same_source_and_id_with_other_content_is_a_409_in_three_languages(
    api: TestClient,
) -> None:
    code = identity_code("180390", "-", "214")
    first = event(message_id="dvv-c1", person=person(code))
    assert outcome(post(api, http.to_binary(first, FORMAT))) == "registered"
    for changed in (
        event(message_id="dvv-c1", person=person(code), municipality="698"),  # other data
        event(Died, "dvv-c1", person=person(code)),  # another type
        event(message_id="dvv-c1", person=person(code), time=datetime(2025, 2, 4, tzinfo=UTC)),
    ):
        for to in (http.to_binary, http.to_structured):
            response = post(api, to(changed, FORMAT), **{"Accept-Language": "sv"})
            assert response.status_code == 409, response.text
            assert response.headers["content-type"].startswith("application/problem+json")
            problem = response.json()
            assert problem["code"] == "inbound_message_conflict"
            assert set(problem["messages"]) == {"fi", "sv", "en"}
            assert problem["detail"] == problem["messages"]["sv"]
            assert code not in response.text
    # The message first received is still a duplicate of itself.
    assert outcome(post(api, http.to_structured(first, FORMAT))) == "duplicate"


def test_a_malformed_binary_message_is_refused_for_what_it_lacks(api: TestClient) -> None:
    message = http.to_binary(event(), FORMAT)
    without_source = {k: v for k, v in message.headers.items() if k != "ce-source"}
    response = api.post("/inbound", content=message.body, headers={**without_source, **INTEGRATION})
    assert response.status_code == 422, response.text
    detail = response.json()["messages"]["en"]
    assert "binary-mode CloudEvent: missing attribute(s) source: ce-source" in detail
    assert "Field required" not in detail

    bad_time = {**message.headers, "ce-time": "yesterday"}
    response = api.post("/inbound", content=message.body, headers={**bad_time, **INTEGRATION})
    assert response.status_code == 422
    assert "time: not an RFC 3339 timestamp" in response.json()["messages"]["en"]

    not_data = {**message.headers}
    response = api.post("/inbound", content=b"[1, 2]", headers={**not_data, **INTEGRATION})
    assert response.status_code == 422
    assert "data: a JSON object is required" in response.json()["messages"]["en"]


def test_a_receipt_stored_before_digests_takes_a_redelivery_as_a_duplicate(
    embedded: EmbeddedSystem,
) -> None:
    intake = embedded.applications["intake"]
    assert isinstance(intake, IntakeApplication)
    old = InboundReceipt(
        source="urn:fi:dvv:vtj",
        message_id="dvv-old",
        message_type=HomeMunicipalityRegistered.TYPE,
        sent_at=datetime(2024, 1, 1, tzinfo=UTC),
        provenance=Provenance(
            actor=Actor(id="integration:urn:fi:dvv:vtj", kind=ActorKind.INTEGRATION),
            organisation="system:urn:fi:dvv:vtj",
            occurred_at=datetime(2024, 1, 1, tzinfo=UTC),
        ),
        client_id=None,
        outcome="registered",
        digest=None,
    )
    received = old.collect_events()
    del received[0].__dict__["digest"]  # stored as before receipts kept a digest
    intake.events.put(received)
    assert intake.repository.get(old.id).digest is None
    message = http.to_binary(event(message_id="dvv-old"), FORMAT)
    received = InboundMessage(message.body, message.headers, message.headers["content-type"])
    assert intake.receive(received) == "duplicate"


def test_an_erasure_finds_the_person_in_a_binary_mode_dead_letter() -> None:
    code = identity_code("190390", "-", "215")
    person_ = ErasedPerson.of(uuid4(), {code})
    binary = amqp.to_binary(event(Died, person=person(code)), FORMAT)
    assert person_.named_in("intake.inbound", binary.application_data)  # its data, parsed
    other = amqp.to_binary(event(Died, person={"migri_customer_number": "1234567"}), FORMAT)
    assert not person_.named_in("intake.inbound", other.application_data)
    assert ErasedPerson.of(uuid4(), {"1234567"}).named_in("intake.inbound", other.application_data)


# --- over AMQP (a real RabbitMQ and the intake process) ---


def publish(
    settings: Settings,
    body: bytes,
    headers: dict[str, Any],
    content_type: str | None,
    message_id: str,
) -> None:
    """Publishes as a sender would: the SDK's message, its headers as the AMQP headers."""

    async def send() -> None:
        connection = await aio_pika.connect(settings.amqp_url or "")
        async with connection:
            channel = await connection.channel(publisher_confirms=True)
            exchange = await channel.get_exchange(f"{settings.amqp_prefix}.inbound", ensure=False)
            await exchange.publish(
                aio_pika.Message(
                    body,
                    headers=headers,
                    content_type=content_type,
                    message_id=message_id,
                    delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                ),
                routing_key="dvv",
            )

    asyncio.run(send())


def publish_amqp(settings: Settings, message: amqp.AMQPMessage, message_id: str) -> None:
    content_type = message.properties.get("content-type")
    headers = message.application_properties
    publish(settings, message.application_data, headers, content_type, message_id)


def publish_rabbitmq(
    settings: Settings, message: rabbitmq.RabbitMQMessage, message_id: str
) -> None:
    publish(settings, message.body, dict(message.headers), message.content_type, message_id)


def dead_letters(settings: Settings, count: int) -> dict[str, str]:
    """The dead letters of the inbound queue once there are ``count``: reason by message id."""

    def listed() -> str | None:
        result = cli(settings, "dead-letters", "list", "intake.inbound")
        return result.stdout if result.stdout.count("\n") >= count else None

    listing = eventually(listed, what=f"{count} dead letters listed")
    return {line.split("\t")[0]: line.split("\t")[2] for line in listing.splitlines()}


@pytest.mark.distributed
def test_sdk_messages_over_amqp_in_both_modes_are_applied_once_or_dead_lettered(
    processes: ServiceProcesses, distributed_settings: Settings
) -> None:
    processes.start("intake")
    url = processes.url("intake")
    settings = distributed_settings
    codes = [identity_code(f"0{n}0485", "-", f"30{n}") for n in range(1, 5)]

    # The SDK's AMQP binding (cloudEvents_* properties, the time an AMQP timestamp), its
    # RabbitMQ binding (ce-* headers, here without a time), and the structured mode of each,
    # each sent twice.
    first = amqp.to_binary(event(message_id="amqp-1", person=person(codes[0])), FORMAT)
    assert isinstance(first.application_properties["cloudEvents_time"], int)
    publish_amqp(settings, first, "amqp-1")
    publish_amqp(settings, first, "amqp-1")
    second = amqp.to_structured(event(message_id="amqp-2", person=person(codes[1])), FORMAT)
    publish_amqp(settings, second, "amqp-2")
    publish_amqp(settings, second, "amqp-2")
    third = event(message_id="rmq-3", time=None, person=person(codes[2]))
    third_binary = rabbitmq.to_binary(third, FORMAT)
    assert "ce-id" in third_binary.headers and "ce-time" not in third_binary.headers
    publish_rabbitmq(settings, third_binary, "rmq-3")
    publish_rabbitmq(settings, third_binary, "rmq-3")
    fourth = rabbitmq.to_structured(event(message_id="rmq-4", person=person(codes[3])), FORMAT)
    publish_rabbitmq(settings, fourth, "rmq-4")
    publish_rabbitmq(settings, fourth, "rmq-4")
    # The same event in the other mode is the same message (a duplicate).
    publish_rabbitmq(settings, rabbitmq.to_structured(third, FORMAT), "rmq-3")

    client_ids = [eventually(lambda c=c: lookup(url, c), what=f"{c} registered") for c in codes]
    queue = Topology(settings.amqp_prefix, 3).queue("intake.inbound").name
    eventually(lambda: queue_depth(settings, queue) == 0, what="every message handled")
    for client_id in client_ids:  # Registered, EligibilityDetermined, ResponsibilityAssigned
        assert httpx.get(f"{url}/clients/{client_id}", headers=ACTOR).json()["version"] == 3

    # Another message under a used (source, id); a binary one without its source; a death
    # notice about someone intake does not know yet.
    changed = event(message_id="amqp-1", person=person(codes[0]), municipality="698")
    publish_amqp(settings, amqp.to_binary(changed, FORMAT), "amqp-1-again")
    malformed = amqp.to_binary(event(message_id="amqp-5"), FORMAT)
    without_source = {
        k: v for k, v in malformed.application_properties.items() if k != "cloudEvents_source"
    }
    publish(settings, malformed.application_data, without_source, "application/json", "amqp-5")
    stranger = identity_code("050485", "-", "305")
    died = amqp.to_binary(event(Died, "amqp-6", person=person(stranger)), FORMAT)
    publish_amqp(settings, died, "amqp-6")

    reasons = dead_letters(settings, 3)
    assert reasons["amqp-1-again"].startswith("InboundMessageConflictError: urn:fi:dvv:vtj amqp-1")
    assert reasons["amqp-5"] == (
        "ContractError: binary-mode CloudEvent: missing attribute(s) source:"
        " cloudEvents_source (or ce-source)"
    )
    assert reasons["amqp-6"].startswith("UnknownPersonError")
    assert stranger not in "".join(reasons.values())

    # Staff register the person; the dead letter, resubmitted, keeps its headers and applies.
    client_id = staff_register(url, "Pekka", "Virtanen", stranger)
    resubmitted = cli(settings, "dead-letters", "resubmit", "intake.inbound", "amqp-6")
    assert resubmitted.stdout.split() == ["amqp-6"], resubmitted.stderr

    def deceased() -> bool:
        view = httpx.get(f"{url}/clients/{client_id}", headers=ACTOR).json()
        return bool(view["facts"]["deceased"])

    eventually(deceased, what="the resubmitted binary-mode death notice applied")
    # The conflicting message changed nothing.
    first_client = httpx.get(f"{url}/clients/{client_ids[0]}", headers=ACTOR).json()
    assert first_client["version"] == 3 and first_client["facts"]["home_municipality"] == "320"


# --- edge cases of the envelope (found by trying what senders and middleware send) ---


def test_a_time_at_the_calendar_s_edge_is_refused_not_an_error(api: TestClient) -> None:
    for time in ("0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"):
        body = {**_structured(), "time": time}
        answer = api.post("/inbound", json=body, headers=INTEGRATION)
        assert answer.status_code == 422, answer.text
        assert "time" in answer.json()["detail"]
    # Over AMQP a timestamp in milliseconds beyond any calendar: a contract error, dead-lettered
    # with its reason, not an outage retried.
    message = amqp.to_binary(event(), FORMAT)
    headers = {**message.application_properties, "cloudEvents_time": 10**20}
    with pytest.raises(ContractError, match="time"):
        parse_inbound(_amqp(headers, message.application_data))


def test_extension_values_are_cloudevents_values_so_a_resend_is_a_duplicate() -> None:
    with pytest.raises(ContractError, match="extension 'ext'"):
        parse_inbound(json.dumps({**_structured(), "ext": {"a": 1, "b": 2}}).encode())
    with pytest.raises(ContractError, match="extension 'ratio'"):
        parse_inbound(json.dumps({**_structured(), "ratio": 1.5}).encode())
    sent = _structured()
    plain = parse_inbound(json.dumps({**sent, "region": "lappi", "n": 3}).encode())[0]
    # The same extension as a header's text and as a JSON integer says the same.
    again = parse_inbound(json.dumps({**sent, "region": "lappi", "n": "3"}).encode())[0]
    other = parse_inbound(json.dumps({**sent, "region": "uusimaa", "n": 3}).encode())[0]
    assert plain.digest() == again.digest() != other.digest()


def test_the_amqp_binding_is_the_one_whose_specversion_is_there() -> None:
    message = amqp.to_binary(event(), FORMAT)
    # A tracing middleware's stray ce- header beside the AMQP binding's attributes.
    headers = {**message.application_properties, "ce-traceparent": "00-0af7651916cd43dd-01"}
    envelope, _ = parse_inbound(_amqp(headers, message.application_data))
    assert envelope.id == event_id(message.application_properties)
    # The RabbitMQ binding's own headers still read as that binding.
    rabbit = rabbitmq.to_binary(event(), FORMAT)
    envelope, _ = parse_inbound(
        InboundMessage(rabbit.body, dict(rabbit.headers), rabbit.content_type, "amqp")
    )
    assert envelope.type == HomeMunicipalityRegistered.TYPE


def test_media_types_are_read_in_any_case_and_data_base64_of_json_is_data(
    api: TestClient,
) -> None:
    message = http.to_binary(event(), FORMAT)
    headers = {**message.headers, "content-type": "Application/JSON ; charset=utf-8"}
    answer = post(api, http.HTTPMessage(headers, message.body))
    assert answer.status_code == 202, answer.text
    sent = _structured()
    data = base64.b64encode(json.dumps(sent.pop("data")).encode()).decode()
    _, payload = parse_inbound(json.dumps({**sent, "data_base64": data}).encode())
    assert isinstance(payload, HomeMunicipalityRegistered)
    # A body that is not UTF-8 is refused for that, not for its time.
    with pytest.raises(ContractError, match="UTF-8"):
        parse_inbound(json.dumps(_structured()).encode("utf-16"))


def test_a_binary_extension_over_amqp_keeps_its_bytes() -> None:
    message = amqp.to_binary(event(), FORMAT)
    headers = {**message.application_properties, "cloudEvents_blob": bytearray(b"\xff\x00")}
    envelope, _ = parse_inbound(_amqp(headers, message.application_data))
    assert envelope.model_extra == {"blob": b"\xff\x00"}


def _structured() -> dict[str, Any]:
    return {
        "specversion": "1.0",
        "id": str(uuid4()),
        "source": "urn:fi:dvv:vtj",
        "type": HomeMunicipalityRegistered.TYPE,
        "time": "2025-02-03T08:15:00+02:00",
        "data": copy.deepcopy(HomeMunicipalityRegistered.EXAMPLE),
    }


def _amqp(headers: dict[str, Any], body: bytes) -> InboundMessage:
    return InboundMessage(body, headers, "application/json", "amqp")


def event_id(headers: dict[str, Any]) -> str:
    return str(headers["cloudEvents_id"])
