"""The envelope every public event travels in, and the parser consumers use.

Consumers ignore fields they do not know (``extra="ignore"``), so adding a field is a safe,
backwards-compatible change within a schema version; removing or retyping one is a new version
(docs/versioning.md). A new version is the contract class; each earlier version a consumer
still reads is kept beside it as its own class in ``EARLIER``, and ``parse_event`` reads a body
by the version it names and upcasts it, so handlers see the newest version only.

A contract is written once, beside the service that publishes it (``intake.py``,
``assessment.py``, ``plans.py``, ``notifications.py``): a ``PublicEvent`` subclass whose class
name is its type and whose ``data`` is an ``EventData`` subclass; ``events.py`` lists them all.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Mapping
from typing import Any, ClassVar, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shared.iso_text import Moment
from shared.law.rulebook import RuleRef
from shared.values import Actor


class EventData(BaseModel):
    """The payload of a public event: frozen, and unknown fields are ignored."""

    model_config = ConfigDict(frozen=True, extra="ignore")


class PublicEvent(BaseModel):
    """Envelope: identity, position in the source's log, who/what/when/why, and ``data``.

    A contract names its type once, by its class name: ``EVENT_TYPE`` is derived from it, and
    so is the ``event_type`` field, a constant (``Literal``) whose default is the type, so a body
    that names another type is refused and the JSON Schema shows the constant."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    EVENT_TYPE: ClassVar[str]
    """The class name, unless the class sets it (e.g. a second schema version of a type)."""
    SCHEMA_VERSION: ClassVar[int] = 1
    EARLIER: ClassVar[tuple[type[PublicEvent], ...]] = ()
    """Earlier versions of this type that consumers still read (each with ``upcast``)."""

    message_id: UUID = Field(description="Stable id: the same stored event always has the same.")
    event_type: str
    schema_version: int = Field(ge=1)
    source: str = Field(description="The service whose event store holds the event.")
    position: int = Field(ge=1, description="Notification id in the source's gap-free log.")
    aggregate_id: UUID
    aggregate_version: int = Field(ge=1)
    occurred_at: Moment = Field(description="Business time: when it happened.")
    recorded_at: Moment = Field(description="Record time: when it was stored.")
    actor: Actor
    organisation: str
    record_source: str | None = Field(
        default=None, description="Set when the record was imported: the system and its id."
    )
    legal_basis: tuple[RuleRef, ...] = Field(
        default=(), description="The rules that decided this event, with their citations."
    )
    data: BaseModel

    def __init_subclass__(cls, **kwargs: Any) -> None:
        # Runs inside ``type.__new__``, before pydantic collects the class's fields (pydantic
        # documents this order), so the field declared here is the contract's own.
        super().__init_subclass__(**kwargs)
        event_type: str = cls.__dict__.get("EVENT_TYPE", cls.__name__)
        cls.EVENT_TYPE = event_type
        annotations = inspect.get_annotations(cls)  # the class's own
        if "event_type" not in annotations:
            cls.__annotations__ = {**annotations, "event_type": Literal[event_type]}
            cls.event_type = event_type
        if "schema_version" not in annotations:
            # Each version its own constant: a body of another version is another class's.
            version = cls.SCHEMA_VERSION
            cls.__annotations__ = {**cls.__annotations__, "schema_version": Literal[version]}

    @classmethod
    def reader(cls, schema_version: int) -> type[PublicEvent] | None:
        """The class that reads ``schema_version`` of this type: itself or an earlier one."""
        for contract in (cls, *cls.EARLIER):
            if schema_version == contract.SCHEMA_VERSION:
                return contract
        return None

    def upcast(self) -> PublicEvent:
        """This event as the next schema version of its type (an earlier version defines it)."""
        raise NotImplementedError(f"{self.event_type} v{self.schema_version} is the newest")

    @property
    def routing_key(self) -> str:
        return f"{self.source}.{self.event_type}"


class ContractError(ValueError):
    """A message that no contract accepts; the reason is meant for a person to read.

    Raised from a ``ValidationError`` (its ``__cause__``), ``at`` is the JSON Pointer of the
    part of the message that was validated (``/data``): the API names the fields at fault."""

    def __init__(self, reason: str, *, at: str = "") -> None:
        super().__init__(reason)
        self.at = at


class MalformedBodyError(ContractError):
    """A message whose body is not JSON at all (or not even UTF-8 text): not a message a
    contract could read, as the HTTP door answers it (400, not 422)."""


def parse_event(body: bytes | str, contracts: Mapping[str, type[PublicEvent]]) -> PublicEvent:
    try:
        raw: Any = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ContractError(f"body is not JSON: {error}") from error
    except RecursionError:
        raise ContractError("body is nested too deeply to read") from None
    if not isinstance(raw, dict):
        raise ContractError("body is not a JSON object")
    event_type = raw.get("event_type")
    contract = contracts.get(event_type) if isinstance(event_type, str) else None
    if contract is None:
        raise ContractError(f"unknown event_type {event_type!r}")
    version = raw.get("schema_version")
    reader = contract.reader(version) if isinstance(version, int) else contract
    if reader is None:
        known = ", ".join(f"v{c.SCHEMA_VERSION}" for c in (*contract.EARLIER, contract))
        raise ContractError(f"{event_type} v{version} is not a version read here ({known})")
    try:
        event = reader.model_validate(raw)
    except ValidationError as error:
        fields = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or '(body)'}: {e['msg']}" for e in error.errors()
        )
        raise ContractError(
            f"{event_type} v{raw.get('schema_version')} is invalid: {fields}"
        ) from error
    # A message of an earlier version (still queued, or a dead letter resubmitted) is read as
    # the version the handlers are written for.
    while event.SCHEMA_VERSION < contract.SCHEMA_VERSION:
        event = event.upcast()
    return event
