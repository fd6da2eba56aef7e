"""Messages other municipal systems send to intake: CloudEvents 1.0 with JSON ``data``, in
either content mode (structured or binary), read by the ``cloudevents`` SDK; one ``type`` per
kind of fact, versioned by its suffix (``….v1``), its ``data`` one of the models here.

Delivery: AMQP exchange ``<prefix>.inbound`` (any routing key), or ``POST /inbound``. The pair
(``source``, ``id``) identifies a message: the same pair with the same content is accepted
once; with other content it is refused as a conflict.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, ClassVar, Literal

from cloudevents.core.base import BaseCloudEvent
from cloudevents.core.bindings import amqp, http, rabbitmq
from cloudevents.core.bindings.common import CONTENT_TYPE_HEADER
from cloudevents.core.exceptions import CloudEventValidationError
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1 import event as v1
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from shared.contracts.envelope import ContractError, MalformedBodyError
from shared.contracts.intake import PersonalDetails, ResidencePermit
from shared.errors import InvalidValueError
from shared.identity import IdentifierKind
from shared.iso_text import Day, Moment


class PersonRef(PersonalDetails):
    """Who the message is about: at least one identifier; names and birth date if known."""

    model_config = ConfigDict(
        # The rule of ``_identified``, as the schema states it: one identifier, not null.
        json_schema_extra={
            "anyOf": [
                {"required": [kind.value], "properties": {kind.value: {"type": "string"}}}
                for kind in IdentifierKind
            ]
        }
    )

    @model_validator(mode="after")
    def _identified(self) -> PersonRef:
        if not self.identifiers():
            raise InvalidValueError("person_identifier_required")
        return self


class InboundData(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    TYPE: ClassVar[str]
    CREATES_CLIENT: ClassVar[bool] = True
    EXAMPLE: ClassVar[dict[str, Any]]
    person: PersonRef

    def facts(self) -> dict[str, Any]:
        """The client's facts as this message changes them."""
        return {}

    def effective_on(self) -> date:
        raise NotImplementedError

    def personal(self) -> PersonalDetails:
        """What the message says about the person."""
        return PersonalDetails.model_validate(self.person.model_dump(exclude_none=True))


class _On(InboundData):
    on: Day

    def effective_on(self) -> date:
        return self.on


class HomeMunicipalityRegistered(InboundData):
    """Population register (DVV): the person got a home municipality."""

    TYPE = "fi.dvv.home-municipality-registered.v1"
    EXAMPLE = {
        "person": {"identity_code": "131052-308T"},
        "municipality": "320",
        "since": "2025-02-03",
    }
    municipality: str = Field(pattern=r"^\d{3}$")
    since: Day
    first_registered_on: Day | None = Field(
        default=None,
        description=(
            "When the person's first home municipality in Finland was registered, where the "
            "register says: the state's compensation counts from it (681/2023 §59(2))."
        ),
    )

    @model_validator(mode="after")
    def _first_is_not_later(self) -> HomeMunicipalityRegistered:
        if self.first_registered_on is not None and self.first_registered_on > self.since:
            raise InvalidValueError("first_registered_after_since", at="/first_registered_on")
        return self

    def facts(self) -> dict[str, Any]:
        facts: dict[str, Any] = {
            "home_municipality": self.municipality,
            "home_municipality_since": self.since,
        }
        if self.first_registered_on is not None:
            facts["first_home_municipality_on"] = self.first_registered_on
        return facts

    def effective_on(self) -> date:
        return self.since


class AddressChanged(_On):
    """Population register (DVV): a new address (personal data)."""

    TYPE = "fi.dvv.address-changed.v1"
    EXAMPLE = {
        "person": {"identity_code": "131052-308T"},
        "address": "Kauppakatu 1 A 2, 98100 Kemijärvi",
        "on": "2025-02-10",
    }
    CREATES_CLIENT = False
    address: str = Field(min_length=1, max_length=300)

    def personal(self) -> PersonalDetails:
        known = self.person.model_dump(exclude_none=True)
        return PersonalDetails.model_validate({**known, "contact": {"address": self.address}})


class MovedAway(_On):
    """Population register (DVV): the person moved to another municipality or abroad."""

    TYPE = "fi.dvv.moved-away.v1"
    EXAMPLE = {
        "person": {"identity_code": "131052-308T"},
        "municipality": "698",
        "on": "2025-06-01",
    }
    CREATES_CLIENT = False
    municipality: str | None = Field(default=None, pattern=r"^\d{3}$", description="new one")

    def facts(self) -> dict[str, Any]:
        return {"home_municipality": self.municipality, "home_municipality_since": self.on}


class Died(_On):
    """Population register (DVV): the person died."""

    TYPE = "fi.dvv.died.v1"
    EXAMPLE = {"person": {"identity_code": "131052-308T"}, "on": "2025-07-01"}
    CREATES_CLIENT = False

    def facts(self) -> dict[str, Any]:
        return {"deceased": True}


class ResidencePermitGranted(InboundData):
    """Migri: a residence permit was granted or changed."""

    TYPE = "fi.migri.residence-permit-granted.v1"
    EXAMPLE = {
        "person": {
            "migri_customer_number": "1234567",
            "given_names": "Olena",
            "family_name": "Kovalenko",
            "birth_date": "1985-04-12",
        },
        "permit": {
            "type": "temporary_protection",
            "ground_section": "109",
            "first_permit_on": "2024-11-20",
        },
        "decided_on": "2024-11-20",
    }
    permit: ResidencePermit
    decided_on: Day

    def facts(self) -> dict[str, Any]:
        return {"residence_permit": self.permit.model_dump()}

    def effective_on(self) -> date:
        return self.decided_on


class CitizenshipGranted(_On):
    """Migri: the person became a Finnish citizen."""

    TYPE = "fi.migri.citizenship-granted.v1"
    EXAMPLE = {"person": {"identity_code": "131052-308T"}, "on": "2030-01-15"}
    CREATES_CLIENT = False

    def facts(self) -> dict[str, Any]:
        return {"finnish_citizen": True}


class JobseekerRegistrationStarted(_On):
    """Employment services: the person registered as a jobseeker."""

    TYPE = "fi.employment.jobseeker-registration-started.v1"
    EXAMPLE = {"person": {"identity_code": "131052-308T"}, "on": "2025-03-03", "unemployed": True}
    unemployed: bool | None = Field(
        default=None,
        description=(
            "Whether the jobseeker is unemployed (Act 681/2023 §5(7)); from 2025 that, not "
            "the registration, gives an assessment (§14(1)(1)). Absent: not said."
        ),
    )

    def facts(self) -> dict[str, Any]:
        said = {} if self.unemployed is None else {"unemployed": self.unemployed}
        return {"registered_jobseeker": True, **said}


class JobseekerRegistrationEnded(_On):
    """Employment services: the jobseeker registration ended."""

    TYPE = "fi.employment.jobseeker-registration-ended.v1"
    EXAMPLE = {"person": {"identity_code": "131052-308T"}, "on": "2025-09-30"}
    CREATES_CLIENT = False

    def facts(self) -> dict[str, Any]:
        return {"registered_jobseeker": False, "unemployed": False}


class SocialAssistanceGranted(_On):
    """Wellbeing services county: social assistance was granted."""

    TYPE = "fi.wellbeing.social-assistance-granted.v1"
    EXAMPLE = {
        "person": {"identity_code": "131052-308T"},
        "non_temporary": True,
        "on": "2025-02-14",
    }
    non_temporary: bool = Field(description="Other than temporary (decides the group).")

    def facts(self) -> dict[str, Any]:
        return {"non_temporary_social_assistance": self.non_temporary}


class ChildHomeCareAllowanceGranted(_On):
    """Wellbeing services county (Kela decision): child home care allowance."""

    TYPE = "fi.wellbeing.child-home-care-allowance-granted.v1"
    EXAMPLE = {"person": {"identity_code": "131052-308T"}, "on": "2025-04-01"}

    def facts(self) -> dict[str, Any]:
        return {"child_home_care_allowance": True}


class ReceptionClientPlaced(_On):
    """Reception centre: the person was placed in the centre."""

    TYPE = "fi.reception.client-placed.v1"
    EXAMPLE = {
        "person": {
            "unhcr_number": "UNHCR-123-45678",
            "given_names": "Amina",
            "family_name": "Hassan",
        },
        "centre": "SPR Kemijärvi",
        "international_protection": True,
        "on": "2025-01-20",
    }
    centre: str = Field(min_length=1, max_length=200)
    international_protection: bool = False
    unaccompanied_minor: bool = False

    def facts(self) -> dict[str, Any]:
        return {
            "international_protection": self.international_protection,
            "unaccompanied_minor": self.unaccompanied_minor,
        }


class ReceptionClientLeft(_On):
    """Reception centre: the person left the centre."""

    TYPE = "fi.reception.client-left.v1"
    EXAMPLE = {
        "person": {"unhcr_number": "UNHCR-123-45678"},
        "centre": "SPR Kemijärvi",
        "on": "2025-05-31",
    }
    CREATES_CLIENT = False
    centre: str = Field(min_length=1, max_length=200)


INBOUND: dict[str, type[InboundData]] = {
    model.TYPE: model
    for model in (
        HomeMunicipalityRegistered,
        AddressChanged,
        MovedAway,
        Died,
        ResidencePermitGranted,
        CitizenshipGranted,
        JobseekerRegistrationStarted,
        JobseekerRegistrationEnded,
        SocialAssistanceGranted,
        ChildHomeCareAllowanceGranted,
        ReceptionClientPlaced,
        ReceptionClientLeft,
    )
}


# The media types of JSON (as the SDK reads them): ``data`` is a JSON object.
JSON_MEDIA_TYPE = r"^(application|text)/([a-zA-Z0-9\-\.]+\+)?json(;.*)?$"


class CloudEvent(BaseModel):
    """A received CloudEvent 1.0, as the ``cloudevents`` SDK read it (in either content mode):
    its attributes, extensions included, and ``data``, a JSON object.

    ``time`` is optional (CloudEvents 1.0): absent, the time it was received counts."""

    model_config = ConfigDict(frozen=True, extra="allow")

    specversion: Literal["1.0"]
    id: str = Field(min_length=1, max_length=200)
    source: str = Field(min_length=1, max_length=500, examples=["urn:fi:dvv:vtj"])
    type: str = Field(examples=[HomeMunicipalityRegistered.TYPE])
    time: Moment | None = Field(
        default=None, description="When it happened; absent, the time it was received."
    )
    subject: str | None = Field(default=None, max_length=500)
    dataschema: str | None = Field(default=None, max_length=500)
    datacontenttype: str = Field(default="application/json", pattern=JSON_MEDIA_TYPE)
    data: dict[str, Any]

    @model_validator(mode="after")
    def _extensions_are_cloudevents_values(self) -> CloudEvent:
        # The CloudEvents type system (string, integer, boolean, binary, timestamp): an object,
        # an array or a fraction has no canonical form, so two senders of the same event
        # could not be told apart from two different events.
        for name, value in (self.model_extra or {}).items():
            if isinstance(value, bool | str | bytes | datetime):
                continue
            if isinstance(value, int) and -(2**31) <= value < 2**31:
                continue
            raise ValueError(
                f"extension {name!r}: not a CloudEvents value (a string, an integer of 32 bits,"
                " a boolean)"
            )
        return self

    def payload(self) -> InboundData:
        model = INBOUND.get(self.type)
        if model is None:
            raise ContractError(f"unknown type {self.type!r}; known: {', '.join(sorted(INBOUND))}")
        try:
            return model.model_validate(self.data)
        except ValidationError as error:
            raise ContractError(f"{self.type}: {_fields(error, 'data')}", at="/data") from error

    def digest(self) -> str:
        """What the sender said, in one value: every attribute but those of the transport,
        and ``data``, canonically. The same (``source``, ``id``) with another digest is
        another message under a used identity, not a redelivery."""
        said = self.model_dump(exclude_none=True, exclude=_TRANSPORT_ATTRIBUTES)
        canonical = {name: _canonical(value) for name, value in said.items() if name != "data"}
        text = json.dumps(
            {"attributes": canonical, "data": said["data"]},
            sort_keys=True,
            separators=(",", ":"),
            ensure_ascii=False,
            default=str,
        )
        return hashlib.sha256(text.encode()).hexdigest()


# How the event travelled, not what it says: the media type (a binary-mode message names it
# by the transport's content type) and the distributed tracing extension, set per hop.
_TRANSPORT_ATTRIBUTES = {"datacontenttype", "traceparent", "tracestate"}


def _canonical(value: Any) -> str:
    """An attribute's canonical string (CloudEvents 1.0 type system): a header carries an
    integer or a boolean as text, an AMQP property natively, a time in any offset."""
    if isinstance(value, datetime):
        # To the millisecond: an AMQP timestamp has no finer resolution.
        return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    return str(value)


@dataclass(frozen=True)
class InboundMessage:
    """One message as a transport delivered it: the body, and the headers that carry the
    attributes of a binary-mode event.

    ``http``: the request's ``ce-*`` headers (percent-encoded, the SDK's HTTP binding);
    ``amqp``: the AMQP message's headers (application properties), ``cloudEvents_*`` or
    ``cloudEvents:*`` as the SDK's AMQP binding writes them, or ``ce-*`` as its RabbitMQ binding
    does. ``content_type``: the request's ``Content-Type``, the AMQP ``content_type``."""

    body: bytes
    headers: Mapping[str, Any] = field(default_factory=dict)
    content_type: str | None = None
    transport: Literal["http", "amqp"] = "http"

    @classmethod
    def of(cls, message: InboundMessage | bytes | str) -> InboundMessage:
        """A bare body is a structured-mode message."""
        if isinstance(message, InboundMessage):
            return message
        return cls(message.encode() if isinstance(message, str) else bytes(message))

    def attribute_headers(self) -> list[str]:
        """The headers that name CloudEvents attributes (HTTP's names in any case; AMQP's as
        the SDK's bindings write and read them, case and all)."""
        prefixes = _PREFIXES[self.transport]
        if self.transport == "http":
            return [name for name in self.headers if name.lower().startswith(prefixes)]
        return [name for name in self.headers if name.startswith(prefixes)]

    @property
    def binary(self) -> bool:
        """Binary content mode: the attributes in headers. A structured-mode content type wins
        (the spec's rule); without one, a plain JSON body with no attribute headers is a
        structured event too, as senders have long posted it."""
        if (self.content_type or "").lower().startswith("application/cloudevents"):
            return False
        return bool(self.attribute_headers())


_PREFIXES: dict[str, tuple[str, ...]] = {
    "http": (http.CE_PREFIX,),
    "amqp": (amqp.CE_PREFIX_UNDERSCORE, amqp.CE_PREFIX_COLON, rabbitmq.CE_PREFIX),
}


class _MissingAttributesError(Exception):
    def __init__(self, names: list[str]) -> None:
        super().__init__(", ".join(names))
        self.names = names


class _SentEvent(v1.CloudEvent):
    """The SDK's CloudEvents 1.0 event, given only what the sender sent: the SDK would give a
    missing ``id`` a random one (so that a redelivery would be a new message), a missing
    ``specversion`` 1.0 and a missing ``time`` the time of parsing."""

    def __init__(self, attributes: dict[str, Any], data: Any = None) -> None:
        # A JSON null is an absent attribute (CloudEvents JSON format, 3.1).
        given = {name: value for name, value in attributes.items() if value is not None}
        missing = [name for name in v1.REQUIRED_ATTRIBUTES if name not in given]
        if missing:
            raise _MissingAttributesError(missing)
        self.sent = frozenset(given)
        super().__init__(given, data)


def parse_inbound(message: InboundMessage | bytes | str) -> tuple[CloudEvent, InboundData]:
    """The event in ``message`` (either content mode, read by the ``cloudevents`` SDK) and
    its ``data`` as the model of its type."""
    received = InboundMessage.of(message)
    envelope = _read_binary(received) if received.binary else _read_structured(received)
    return envelope, envelope.payload()


def named_person(body: bytes) -> PersonalDetails:
    """Who a message's body names, without its headers (a dead letter read for an erasure):
    a structured event's person, or a binary-mode one's, whose body is the ``data``. Raises
    ``ValueError`` (``ContractError``, ``ValidationError``) for a body that names no one."""
    try:
        return parse_inbound(body)[1].personal()
    except ContractError:
        raw = json.loads(body)
        data = raw.get("data") if isinstance(raw, dict) and "specversion" in raw else raw
        if not isinstance(data, dict):
            raise
        return PersonRef.model_validate(data.get("person"))


def _read_structured(message: InboundMessage) -> CloudEvent:
    why = "not a CloudEvents 1.0 JSON message"
    hint = _kafka_hint(message)
    try:
        message.body.decode("utf-8")
    except UnicodeDecodeError:
        raise MalformedBodyError(f"{why}: the body is not UTF-8 text{hint}") from None
    try:
        raw = json.loads(message.body)
    except RecursionError:
        raise MalformedBodyError(f"{why}: the body is nested too deeply to read{hint}") from None
    except json.JSONDecodeError:
        raise MalformedBodyError(
            f"{why}: the body is not JSON (in binary mode the attributes travel in "
            f"{_header_names(message, 'specversion', 'id', 'source', 'type')} headers){hint}"
        ) from None
    if not isinstance(raw, dict):
        raise ContractError(f"{why}: the body is not a JSON object{hint}")
    # A null is an absent attribute (CloudEvents JSON format, 3.1): the SDK would parse it.
    sent = {name: value for name, value in raw.items() if value is not None}
    if "time" in sent and not isinstance(sent["time"], str):
        raise ContractError(f"{why}: time: not an RFC 3339 timestamp")
    body = message.body if len(sent) == len(raw) else json.dumps(sent).encode()
    binary = f" (binary mode: {{}} headers){hint}"
    return _envelope(lambda: JSONFormat().read(_SentEvent, body), why, message, binary)


def _read_binary(message: InboundMessage) -> CloudEvent:
    why = "binary-mode CloudEvent"
    try:  # the body is the event's data: a JSON object (read again by the SDK)
        json.loads(message.body)
    except RecursionError:
        raise MalformedBodyError(f"{why}: the body is nested too deeply to read") from None
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise MalformedBodyError(f"{why}: the body (the event's data) is not JSON") from None
    return _envelope(lambda: _binary_event(message), why, message, ": {}")


def _binary_event(message: InboundMessage) -> BaseCloudEvent:
    content_type = _media_type(message.content_type)
    if message.transport == "http":
        headers = {name: str(value) for name, value in message.headers.items()}
        if content_type is not None:
            headers[CONTENT_TYPE_HEADER] = content_type
        return http.from_binary(http.HTTPMessage(headers, message.body), JSONFormat(), _SentEvent)
    headers = {name: _text(value) for name, value in message.headers.items()}
    # The binding whose specversion header is there (a stray header of the other, such as a
    # tracing middleware's, does not choose); without one, the binding of most headers.
    amqp_names = [
        n for n in headers if n.startswith((amqp.CE_PREFIX_UNDERSCORE, amqp.CE_PREFIX_COLON))
    ]
    rabbit_names = [n for n in headers if n.startswith(rabbitmq.CE_PREFIX)]
    amqp_version = any(n.endswith("specversion") for n in amqp_names)
    rabbit_version = f"{rabbitmq.CE_PREFIX}specversion" in rabbit_names
    if (rabbit_version and not amqp_version) or (
        rabbit_version == amqp_version and len(rabbit_names) > len(amqp_names)
    ):
        sent = rabbitmq.RabbitMQMessage(headers, content_type, message.body)
        return rabbitmq.from_binary(sent, JSONFormat(), _SentEvent)
    properties = {} if content_type is None else {"content-type": content_type}
    sent_amqp = amqp.AMQPMessage(properties, headers, message.body)
    return amqp.from_binary(sent_amqp, JSONFormat(), _SentEvent)


def _envelope(
    read: Callable[[], BaseCloudEvent], why: str, message: InboundMessage, where: str
) -> CloudEvent:
    """Our envelope of the event the SDK read (``read``): what the sender sent, validated by
    the SDK and by our limits. ``where`` tells where missing attributes are expected."""
    try:
        event = read()
    except _MissingAttributesError as missing:
        headers = _header_names(message, *missing.names)
        raise ContractError(
            f"{why}: missing attribute(s) {missing}{where.format(headers)}"
        ) from None
    except CloudEventValidationError as error:
        refused = "; ".join(
            f"{name}: {', '.join(str(e) for e in errors)}" for name, errors in error.errors.items()
        )
        raise ContractError(f"{why}: {refused}") from None
    except binascii.Error:
        raise ContractError(f"{why}: data_base64: not base64") from None
    except (ValueError, TypeError, OverflowError, OSError):  # the one attribute the SDK parses
        raise ContractError(f"{why}: time: not an RFC 3339 timestamp (or out of range)") from None
    assert isinstance(event, _SentEvent)
    attributes = {k: v for k, v in event.get_attributes().items() if k in event.sent}
    if isinstance(attributes.get("time"), datetime):
        try:  # in UTC from here on: a moment at the calendar's edge has no UTC time
            attributes["time"] = attributes["time"].astimezone(UTC)
        except (OverflowError, ValueError):
            raise ContractError(f"{why}: time: out of range") from None
    if isinstance(attributes.get("datacontenttype"), str):
        attributes["datacontenttype"] = _media_type(attributes["datacontenttype"])
    data = event.get_data()
    if isinstance(data, bytes | bytearray):  # data_base64 of a JSON content type
        try:
            data = json.loads(data)
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise ContractError(f"{why}: data: a JSON object is required", at="/data") from None
    if not isinstance(data, dict):
        raise ContractError(f"{why}: data: a JSON object is required", at="/data")
    try:
        return CloudEvent.model_validate({**attributes, "data": data})
    except ValidationError as error:
        raise ContractError(f"{why}: {_fields(error)}") from error


def _text(value: Any) -> Any:
    """A header's value as the SDK reads it: AMQP 0-9-1 gives a long string as bytes (and a
    byte array as ``bytearray``); text when it is UTF-8, else the bytes themselves (a binary
    extension value), never a lossy decoding."""
    if isinstance(value, bytes | bytearray):
        try:
            return bytes(value).decode("utf-8")
        except UnicodeDecodeError:
            return bytes(value)
    return value


def _media_type(content_type: str | None) -> str | None:
    """A content type as the SDK's patterns read it: type and subtype are case-insensitive
    (RFC 9110 §8.3.1) and may have spaces before their parameters."""
    if content_type is None:
        return None
    kind, semicolon, parameters = content_type.partition(";")
    return kind.strip().lower() + (f";{parameters.strip()}" if semicolon else "")


def _header_names(message: InboundMessage, *attributes: str) -> str:
    if message.transport == "http":
        return ", ".join(f"ce-{name}" for name in attributes)
    return ", ".join(f"cloudEvents_{name} (or ce-{name})" for name in attributes)


def _kafka_hint(message: InboundMessage) -> str:
    if any(str(name).startswith("ce_") for name in message.headers):
        return "; ce_* headers are the Kafka binding's, not AMQP's (cloudEvents_* or ce-*)"
    return ""


def _fields(error: ValidationError, prefix: str = "") -> str:
    parts = []
    for e in error.errors():
        loc = ".".join([prefix, *(str(p) for p in e["loc"])] if prefix else map(str, e["loc"]))
        parts.append(f"{loc or '(body)'}: {e['msg']}")
    return "; ".join(parts)


def example(
    model: type[InboundData], message_id: str = "1b4e28ba-2fa1-11d2-883f-0016d3cca427"
) -> dict[str, Any]:
    """A complete CloudEvent of ``model``'s type, as a sender would publish it."""
    return {
        "specversion": "1.0",
        "id": message_id,
        "source": "urn:fi:" + model.TYPE.split(".")[1],
        "type": model.TYPE,
        "time": "2025-02-03T08:15:00+02:00",
        "datacontenttype": "application/json",
        "data": model.EXAMPLE,
    }


# --- the content modes, as the API documents describe them ---

ATTRIBUTES: dict[str, tuple[bool, str]] = {
    "specversion": (True, "`1.0`"),
    "id": (True, "The sender's id of the message: with `source`, applied once."),
    "source": (True, "The sending system, e.g. `urn:fi:dvv:vtj`."),
    "type": (True, "The kind of fact (one of the types below), e.g. `" + Died.TYPE + "`."),
    "time": (
        False,
        "When it happened (RFC 3339); absent, the time the message was received counts.",
    ),
    "subject": (False, "Optional."),
    "dataschema": (False, "Optional."),
}
"""The attributes a binary-mode message carries in headers: required, and what each says."""

HTTP_BINDING_DESCRIPTION = """\
A CloudEvents 1.0 message (HTTP protocol binding), in either content mode:

- **structured**: the whole event is the body, `Content-Type: application/cloudevents+json`
  (a plain `application/json` body without `ce-*` headers is read the same way). The schema
  below is this mode's: one shape per `type`, its `data` that type's.
- **binary**: the attributes in `ce-*` headers (`ce-specversion`, `ce-id`, `ce-source`,
  `ce-type`, optionally `ce-time`, `ce-subject`, `ce-dataschema` and extensions;
  percent-encoded), the body is the event's `data` (the schema of its type's `data` below),
  `Content-Type: application/json`. OpenAPI cannot tie a header to the body's schema, so these
  headers are described here rather than listed as parameters; `docs/asyncapi.json` shows this
  mode's messages.

(`source`, `id`) identifies a message: the same pair with the same content is a `duplicate`,
applied once; with other content it is refused (409). Without `time`, the time it was received
is the time of the event."""


def _inlined(schema: dict[str, Any]) -> dict[str, Any]:
    """A model's JSON schema with its ``$defs`` put in place of their references (an
    operation's schema cannot bring definitions of its own into the document's)."""
    definitions = schema.pop("$defs", {})

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref", "")
            if ref.startswith("#/$defs/"):
                return resolve(
                    {
                        **definitions[ref.removeprefix("#/$defs/")],
                        **{k: v for k, v in node.items() if k != "$ref"},
                    }
                )
            return {key: resolve(value) for key, value in node.items()}
        if isinstance(node, list):
            return [resolve(item) for item in node]
        return node

    resolved: dict[str, Any] = resolve(schema)
    return resolved


# An extension attribute's value (CloudEvents 1.0 type system, as ``CloudEvent`` checks it);
# a JSON null is an absent attribute.
_EXTENSION_VALUE: dict[str, Any] = {
    "anyOf": [
        {"type": "string"},
        {"type": "boolean"},
        {"type": "integer", "minimum": -(2**31), "maximum": 2**31 - 1},
        {"type": "null"},
    ]
}


def _optional_text(limit: int) -> dict[str, Any]:
    # A JSON null is an absent attribute (CloudEvents JSON format, 3.1).
    return {"anyOf": [{"type": "string", "minLength": 1, "maxLength": limit}, {"type": "null"}]}


def structured_event_schema(model: type[InboundData]) -> dict[str, Any]:
    """The structured-mode event of ``model``'s type, as the server reads it."""
    return {
        "title": f"CloudEvent {model.TYPE}",
        "type": "object",
        "required": ["specversion", "id", "source", "type", "data"],
        "properties": {
            "specversion": {"const": "1.0"},
            "id": {"type": "string", "minLength": 1, "maxLength": 200},
            "source": {"type": "string", "minLength": 1, "maxLength": 500},
            "type": {"const": model.TYPE},
            "time": {
                "anyOf": [{"type": "string", "format": "date-time"}, {"type": "null"}],
                "description": "When it happened (RFC 3339); absent, when it was received.",
            },
            "subject": _optional_text(500),
            "dataschema": _optional_text(500),
            "datacontenttype": {
                "anyOf": [{"type": "string", "pattern": JSON_MEDIA_TYPE}, {"type": "null"}]
            },
            "data": _inlined(model.model_json_schema()),
        },
        # Extensions: lowercase letters and digits (CloudEvents 1.0, 3.1.1).
        "propertyNames": {"pattern": "^[a-z0-9]+$"},
        "additionalProperties": _EXTENSION_VALUE,
    }


def inbound_event_schemas() -> dict[str, Any]:
    """The structured-mode event, one shape per type, as schemas of the document's components
    (``InboundEvent`` is any of them, told apart by ``type``)."""
    names = {model.TYPE: f"InboundEvent_{model.__name__}" for model in INBOUND.values()}
    return {
        "InboundEvent": {
            "oneOf": [{"$ref": f"#/components/schemas/{name}"} for name in names.values()],
            "discriminator": {
                "propertyName": "type",
                "mapping": {kind: f"#/components/schemas/{name}" for kind, name in names.items()},
            },
        },
        **{names[model.TYPE]: structured_event_schema(model) for model in INBOUND.values()},
    }


def http_binding_openapi() -> dict[str, Any]:
    """The OpenAPI of ``POST /inbound`` beyond what the route declares: the structured-mode
    body (``inbound_event_schemas``; the binary mode is described in
    ``HTTP_BINDING_DESCRIPTION``)."""
    body = {"schema": {"$ref": "#/components/schemas/InboundEvent"}}
    sample = example(HomeMunicipalityRegistered)
    return {
        "requestBody": {
            "required": True,
            "content": {
                "application/cloudevents+json": {**body, "example": sample},
                "application/json": {**body, "example": sample},
            },
        },
    }
