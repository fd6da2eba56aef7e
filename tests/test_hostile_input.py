"""Random and hostile input at both doors of intake: never a 5xx, never a crash, never a lost
message — every inbound message is either applied (with a receipt) or dead-lettered."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from datetime import date, datetime
from typing import Annotated, Any, get_args, get_origin
from uuid import uuid4

import pytest
from fastapi.dependencies.utils import get_flat_params
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from pydantic import AwareDatetime, BaseModel, ValidationError

from kotoutus.embedded import EmbeddedSystem
from kotoutus.registry import SERVICES
from shared.contracts import CONTRACTS, parse_event
from shared.contracts.envelope import ContractError, MalformedBodyError
from shared.contracts.inbound import (
    INBOUND,
    CloudEvent,
    HomeMunicipalityRegistered,
    InboundMessage,
    example,
    parse_inbound,
)
from shared.eventstore import store_env
from shared.iso_text import ISO_TEXT
from shared.messaging.errors import is_permanent
from shared.messaging.topology import Topology
from shared.settings import Settings
from tests.support import (
    ACTOR,
    INTEGRATION,
    SUPERVISOR,
    Broker,
    ServiceProcesses,
    eventually,
    queue_depth,
)

JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=12,
)
HOSTILE_TEXT = st.sampled_from(
    [
        "",
        " ",
        "\x00",
        "'; DROP TABLE client_keys; --",
        "<script>alert(1)</script>",
        "9" * 400,
        "131052-308U",
        "2025-02-30",
        "2025-13-01",
        "0000-01-01",
        "¿ü?ة",
        "../../etc/passwd",
    ]
)
VALUE = JSON | HOSTILE_TEXT


@st.composite
def mutated(draw: st.DrawFn, valid: dict[str, Any]) -> dict[str, Any]:
    """A valid message with one field, anywhere in it, replaced or removed."""
    message = copy.deepcopy(valid)
    paths: list[tuple[Any, Any]] = []

    def walk(node: Any) -> None:
        items = node.items() if isinstance(node, dict) else enumerate(node)
        for key, value in list(items):
            paths.append((node, key))
            if isinstance(value, dict | list):
                walk(value)

    walk(message)
    container, key = draw(st.sampled_from(paths))
    if isinstance(container, dict) and draw(st.booleans()):
        del container[key]
    else:
        container[key] = draw(VALUE)
    return message


def valid_registration() -> dict[str, Any]:
    return {
        "relationship_started_on": "2025-02-03",
        "personal": {"given_names": "A", "family_name": "B", "identity_code": "131052-308T"},
        "facts": {
            "mother_tongue": "uk",
            "residence_permit": {
                "type": "A",
                "ground_section": "87",
                "first_permit_on": "2024-06-01",
            },
        },
    }


def inbound_messages() -> st.SearchStrategy[dict[str, Any]]:
    return st.sampled_from(list(INBOUND.values())).flatmap(
        lambda model: mutated(example(model, str(uuid4())))
    )


ANY_BODY = (
    inbound_messages()
    | JSON.map(lambda v: v if isinstance(v, dict) else {"data": v})
    | st.just({"specversion": "1.0"})
)


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    data = tmp_path_factory.mktemp("hostile")
    system = EmbeddedSystem(Settings(data_dir=data, database_url=None, amqp_url=None))
    with TestClient(system.api(), raise_server_exceptions=False) as client:
        yield client


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=mutated(valid_registration()) | JSON)
def test_the_staff_door_never_answers_5xx(api: TestClient, body: Any) -> None:
    response = api.post("/clients", json=body, headers=ACTOR)
    assert response.status_code in {201, 409, 422}, response.text


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=ANY_BODY.map(json.dumps) | st.binary(max_size=64))
def test_the_inbound_http_door_never_answers_5xx(api: TestClient, body: str | bytes) -> None:
    response = api.post("/inbound", content=body, headers=INTEGRATION)
    assert response.status_code in {202, 400, 409, 422}, response.text


@pytest.mark.distributed
# Each example starts a service process: no shrinking (it would take minutes per step).
@settings(
    max_examples=2,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    phases=[Phase.explicit, Phase.generate],
)
@given(bodies=st.lists(ANY_BODY.map(json.dumps) | st.binary(max_size=64), min_size=25, max_size=40))
def test_the_inbound_queue_loses_nothing_and_keeps_running(
    bodies: list[str | bytes], distributed_settings: Settings, tmp_path_factory: Any
) -> None:
    settings_ = distributed_settings.model_copy(
        update={"amqp_prefix": f"{distributed_settings.amqp_prefix}-{uuid4().hex[:6]}"}
    )
    processes = ServiceProcesses(settings_, tmp_path_factory.mktemp("logs"))
    processes.start("intake")
    try:
        prefix = settings_.amqp_prefix
        broker = Broker(settings_.amqp_url or "", f"{prefix}.inbound")
        for n, body in enumerate(bodies):
            raw = body.encode() if isinstance(body, str) else body
            broker.publish(raw, "random", f"random-{n}")
        topology = Topology(prefix, settings_.delivery_limit)
        queue = topology.queue("intake.inbound").name
        eventually(lambda: queue_depth(settings_, queue) == 0, what="the queue drained")
        dead = queue_depth(settings_, topology.dead_letter_queue("intake.inbound").name)
        assert processes.processes["intake"].poll() is None  # still running
    finally:
        processes.stop_all()
        from tests.support import delete_broker_names

        delete_broker_names(settings_.amqp_url or "", settings_.amqp_prefix)
    app = SERVICES["intake"].application(settings_, store_env(settings_, "intake"))
    try:
        receipts = {
            n.id
            for n in app.recorder.select_notifications(1, 100_000)
            if n.topic.endswith("InboundReceipt.Received")
        }
    finally:
        app.close()
    # Every message either left a receipt or is in the dead-letter queue (ids may repeat in
    # generated bodies: a repeated (source, id) is acknowledged as a duplicate).
    assert len(receipts) + dead <= len(bodies)
    assert dead >= 1 or receipts
    assert len(receipts) + dead + _duplicates(bodies) >= len(bodies)


def _duplicates(bodies: list[str | bytes]) -> int:
    seen: set[str] = set()
    repeated = 0
    for body in bodies:
        try:
            parsed = json.loads(body)
        except ValueError:
            continue
        if isinstance(parsed, dict):
            key = json.dumps([parsed.get("source"), parsed.get("id")], sort_keys=True)
            repeated += key in seen
            seen.add(key)
    return repeated


DAY_AND_MOMENT_QUERIES = [
    ("/retention/due", "on"),
    ("/caseload", "due_from"),
    ("/reports/national-data-store", "since"),
]


@pytest.mark.parametrize(("path", "name"), DAY_AND_MOMENT_QUERIES)
@pytest.mark.parametrize("number", ["0", "1.207950246103389e-15", "20250101", "-1"])
def test_a_number_is_not_a_day_or_a_moment(
    api: TestClient, path: str, name: str, number: str
) -> None:
    # Pydantic would read it as Unix time (found by schemathesis: ``?on=1.2e-15`` answered as
    # 1 January 1970); the document says ISO 8601 text.
    response = api.get(path, params={name: number}, headers=SUPERVISOR)
    assert response.status_code == 422, response.text
    given = "2025-01-01T12:00:00+02:00" if name in ("at", "since") else "2025-01-01"
    assert api.get(path, params={name: given}, headers=SUPERVISOR).status_code != 422


@pytest.mark.parametrize("number", [0, 20250203, 1.5, "20250203", True])
def test_a_number_in_a_body_is_not_a_day(api: TestClient, number: Any) -> None:
    # ``"relationship_started_on": 0`` was read as 1 January 1970, refused only because no
    # rule is in force then; now the value itself is refused, where it is.
    body = valid_registration()
    body["relationship_started_on"] = number
    response = api.post("/clients", json=body, headers=ACTOR)
    assert response.status_code == 422, response.text
    assert [(e["pointer"], e["code"]) for e in response.json()["errors"]] == [
        ("/relationship_started_on", "iso_text_required")
    ]
    finnish = api.post("/clients", json=body, headers={**ACTOR, "Accept-Language": "fi"})
    assert "ISO 8601 -tekstinä" in finnish.json()["errors"][0]["detail"]


@pytest.mark.parametrize("number", [0, 20250203, "20250203", "0"])
def test_a_number_in_a_message_is_not_a_day(api: TestClient, number: Any) -> None:
    message = example(HomeMunicipalityRegistered, str(uuid4()))
    message["data"] = {**message["data"], "since": number}
    response = api.post("/inbound", json=message, headers=INTEGRATION)
    assert response.status_code == 422, response.text
    assert [(e["pointer"], e["code"]) for e in response.json()["errors"]] == [
        ("/data/since", "iso_text_required")
    ]
    message["data"], message["id"] = HomeMunicipalityRegistered.EXAMPLE, str(uuid4())
    assert api.post("/inbound", json=message, headers=INTEGRATION).status_code == 202


def test_a_number_is_not_a_moment_of_a_message_or_an_event() -> None:
    # No transport hands these a number today (structured mode refuses a time that is not
    # text first; the SDK reads AMQP's milliseconds as a moment): the models refuse it too.
    with pytest.raises(ValidationError, match="ISO 8601"):
        CloudEvent.model_validate({**example(HomeMunicipalityRegistered), "time": 0})
    public = {
        "message_id": str(uuid4()),
        "event_type": "WorkerAssigned",
        "schema_version": 1,
        "source": "intake",
        "position": 1,
        "aggregate_id": str(uuid4()),
        "aggregate_version": 2,
        "occurred_at": "2026-12-01T00:00:00Z",
        "recorded_at": "2026-12-01T00:00:00Z",
        "actor": {"id": "official:test", "kind": "user"},
        "organisation": "municipality:320",
        "data": {"client_id": str(uuid4()), "worker": "official:w1"},
    }
    assert parse_event(json.dumps(public), CONTRACTS).position == 1
    with pytest.raises(ContractError) as refused:
        parse_event(json.dumps({**public, "recorded_at": 1_700_000_000}), CONTRACTS)
    assert isinstance(refused.value.__cause__, ValidationError)
    assert "ISO 8601" in str(refused.value.__cause__)


def test_every_day_and_moment_a_request_body_takes_refuses_a_number(api: TestClient) -> None:
    """Every route's path and query parameters and body, every model in it: no day or moment
    without the check (one added later as a plain ``date`` would read a number as Unix time)."""
    bare: list[str] = []
    seen: set[type[BaseModel]] = set()

    def visit(model: type[BaseModel]) -> None:
        if model in seen:
            return
        seen.add(model)
        for name, field in model.model_fields.items():
            checked = ISO_TEXT in field.metadata
            for kind, annotated in _types_in(field.annotation):
                if kind in (date, datetime, AwareDatetime) and not (checked or annotated):
                    bare.append(f"{model.__qualname__}.{name}")
                if isinstance(kind, type) and issubclass(kind, BaseModel):
                    visit(kind)

    # Routers are included lazily (FastAPI ≥ 0.16x): walk their effective routes.
    routes = [
        context.original_route
        for context in iter_route_contexts(api.app.routes)  # type: ignore[attr-defined]
    ]
    bodies = [
        route.body_field.field_info.annotation
        for route in routes
        if isinstance(route, APIRoute) and route.body_field is not None
    ]
    for route in routes:
        if isinstance(route, APIRoute):
            for parameter in get_flat_params(route.dependant):
                info = parameter.field_info
                for kind, annotated in _types_in(info.annotation):
                    if kind in (date, datetime, AwareDatetime) and not (
                        annotated or ISO_TEXT in info.metadata
                    ):
                        bare.append(f"{route.path} {parameter.name}")
    for body in bodies:
        for kind, _ in _types_in(body):
            if isinstance(kind, type) and issubclass(kind, BaseModel):
                visit(kind)
    for model in INBOUND.values():
        visit(model)
    visit(CloudEvent)
    assert len(seen) > 20  # the walk reached the bodies
    assert bare == [], bare


def _types_in(annotation: Any, checked: bool = False) -> Iterator[tuple[Any, bool]]:
    """Each type an annotation names (in unions, lists, ``Annotated``), and whether an
    ``Annotated`` around it carries the check."""
    if get_origin(annotation) is Annotated:
        base, *metadata = get_args(annotation)
        yield from _types_in(base, checked or ISO_TEXT in metadata)
    elif get_args(annotation):
        for argument in get_args(annotation):
            yield from _types_in(argument, checked)
    else:
        yield annotation, checked


@pytest.mark.parametrize("body", [b"[" * 5000 + b"]" * 5000, b'{"a":' * 5000 + b"1" + b"}" * 5000])
def test_a_message_nested_too_deeply_is_malformed_not_an_error_of_ours(body: bytes) -> None:
    # The HTTP door answered 500 and a queue would have retried it: now it is the message's
    # fault, as a body that is not JSON is (400 over HTTP, a dead letter from a queue).
    for message in (body, InboundMessage(body, {"ce-specversion": "1.0"}, "application/json")):
        with pytest.raises(MalformedBodyError, match="nested too deeply") as refused:
            parse_inbound(message)
        assert is_permanent(refused.value)
