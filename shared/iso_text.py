"""Days and moments as the API's documents say them: ISO 8601 text, never a number. Pydantic
reads a number as Unix time (``?on=0`` or ``"relationship_started_on": 0`` would be 1 January
1970), and the documents say a day or a moment (``format: date`` / ``date-time``): a number
there is a caller's mistake, refused with 422 (or, in a message, a dead letter) like any other
invalid value."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from pydantic import AwareDatetime, BeforeValidator

from shared.errors import InvalidValueError


def _not_a_number(value: Any) -> Any:
    if isinstance(value, bool | int | float):
        raise InvalidValueError("iso_text_required")
    if isinstance(value, str):
        try:
            float(value)
        except ValueError:
            return value
        raise InvalidValueError("iso_text_required")
    return value


ISO_TEXT = BeforeValidator(_not_a_number)
"""Metadata for a day or moment query parameter: ``Annotated[date | None, Query(…), ISO_TEXT]``."""

Day = Annotated[date, ISO_TEXT]
"""A day read from outside — a request body, an inbound message, a public contract, an import
file: ``"2025-01-31"``, not a number. (Views answered to callers keep plain ``date``.)"""

Moment = Annotated[AwareDatetime, ISO_TEXT]
"""A moment with its offset, read from outside as ``Day`` is: ``"2025-01-31T09:00:00+02:00"``."""
