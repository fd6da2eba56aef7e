"""A store's preset dictionary (``shared.compression.codec``), made from the code alone: the
field and type names its stored values are written with, value objects' defaults, and every
rule's reference as events record it (citation and quote: most of an event's bytes).

Nothing is taken from stored values: a dictionary holds no one's data, so it may be kept for
as long as the store (an erasure has nothing to remove from it), and every process of a
version makes the same one. A new version whose names or rules changed makes another; the
store keeps both (values name theirs)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import fields, is_dataclass
from typing import Any

from eventsourcing.domain import Aggregate, DomainEvent
from eventsourcing.persistence import Transcoder
from eventsourcing.utils import get_topic
from pydantic import BaseModel
from pydantic_core import PydanticUndefined, to_jsonable_python

from shared.compression.codec import WINDOW
from shared.law.rulebook import Rule

# The library stores these in columns of their own, not in the state.
_NOT_IN_STATE = frozenset({"originator_id", "originator_version"})
_DEPTH = 4  # nested models written out this deep (deeper ones repeat little)


def event_store_dictionary(
    transcoder: Transcoder, aggregates: Iterable[type[Aggregate]], rules: Iterable[Rule]
) -> bytes:
    """For a service's event store: its events' states as its transcoder writes them."""
    parts = [_event_skeleton(event, transcoder) for event in _events(aggregates)]
    names = getattr(transcoder, "names", {})
    for name, transcoding in sorted(names.items()):
        model = getattr(transcoding, "type", None)
        if isinstance(model, type) and issubclass(model, BaseModel):
            parts.append(_compact({"_type_": name, "_data_": _skeleton(model, _DEPTH)}))
    # Last: DEFLATE reaches back only so far, and the rules are what events repeat most.
    parts.append(transcoder.encode({"legal_basis": [rule.ref for rule in _unique(rules)]}))
    return _fit(parts)


def aggregates_of(application: type) -> list[type[Aggregate]]:
    """The aggregates a service's store may hold, as far as the code tells: those of the
    service's package (of the first class in ``application``'s hierarchy that is a
    service's) and the shared ones (legal holds, restrictions, responsibility)."""
    packages = ["shared."]
    for cls in application.__mro__:
        if cls.__module__.startswith("services."):
            packages.append(cls.__module__.rsplit(".", 1)[0] + ".")
            break
    found: set[type[Aggregate]] = set()
    waiting = list(Aggregate.__subclasses__())
    while waiting:
        aggregate = waiting.pop()
        waiting.extend(aggregate.__subclasses__())
        if aggregate.__module__.startswith(tuple(packages)):
            found.add(aggregate)
    return sorted(found, key=get_topic)


def public_events_dictionary(contracts: Iterable[type[BaseModel]], rules: Iterable[Rule]) -> bytes:
    """For the read side's copies of public events: their contracts' JSON."""
    parts = [_compact(_skeleton(contract, _DEPTH)) for contract in contracts]
    refs = [rule.ref.model_dump(mode="json") for rule in _unique(rules)]
    parts.append(_compact({"legal_basis": refs}))
    return _fit(parts)


def _events(aggregates: Iterable[type[Aggregate]]) -> list[type[DomainEvent]]:
    found = {
        get_topic(member): member
        for aggregate in aggregates
        for member in vars(aggregate).values()
        if isinstance(member, type) and issubclass(member, DomainEvent)
    }
    return [found[topic] for topic in sorted(found)]


def _event_skeleton(event: type[DomainEvent], transcoder: Transcoder) -> bytes:
    names = [f.name for f in fields(event)] if is_dataclass(event) else []
    state: dict[str, Any] = {"timestamp": None}
    if "originator_topic" in names:
        owner = event.__qualname__.rsplit(".", 1)[0]
        state["originator_topic"] = f"{event.__module__}:{owner}"
    state.update((name, None) for name in names if name not in _NOT_IN_STATE | state.keys())
    return transcoder.encode(state)


def _skeleton(model: type[BaseModel], depth: int) -> dict[str, Any]:
    """The model's fields, each its default where it has one (else a nested model's own
    skeleton, else null)."""
    shape: dict[str, Any] = {}
    for name, field in model.model_fields.items():
        key = field.serialization_alias or field.alias or name
        if field.default is not PydanticUndefined:
            shape[key] = to_jsonable_python(field.default)
        elif (
            depth and isinstance(field.annotation, type) and issubclass(field.annotation, BaseModel)
        ):
            shape[key] = _skeleton(field.annotation, depth - 1)
        else:
            shape[key] = None
    return shape


def _unique(rules: Iterable[Rule]) -> Iterator[Rule]:
    seen: set[tuple[str, str, str]] = set()
    for rule in rules:
        key = (rule.id, rule.law, rule.valid_from.isoformat())
        if key not in seen:
            seen.add(key)
            yield rule


def _compact(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


def _fit(parts: list[bytes]) -> bytes:
    """The parts joined, cut from the front to the window (what DEFLATE could not reach)."""
    return b"".join(parts)[-WINDOW:]
