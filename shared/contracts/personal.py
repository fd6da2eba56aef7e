"""Personal fields of public events: which they are, and the event without them."""

from __future__ import annotations

from functools import cache
from typing import TypeVar

from pydantic import BaseModel

from shared.contracts.envelope import PublicEvent

E = TypeVar("E", bound=PublicEvent)


@cache
def personal_fields(model: type[BaseModel]) -> frozenset[str]:
    return frozenset(
        name
        for name, field in model.model_fields.items()
        if isinstance(field.json_schema_extra, dict) and field.json_schema_extra.get("x-personal")
    )


def without_personal(event: E) -> E:
    """The event as anyone may keep it: personal fields emptied (data minimisation)."""
    fields = personal_fields(type(event.data))
    if not fields:
        return event
    data = event.data.model_copy(update=dict.fromkeys(fields))
    return event.model_copy(update={"data": data})
