"""Days and moments given as query text: ISO 8601, never a number. Pydantic reads a number as
Unix time (``?on=0`` would be 1 January 1970), and the API's document says a day or a moment
(``format: date`` / ``date-time``): a number there is a caller's mistake, refused with 422
like any other invalid value."""

from __future__ import annotations

from typing import Any

from pydantic import BeforeValidator


def _not_a_number(value: Any) -> Any:
    if isinstance(value, str):
        try:
            float(value)
        except ValueError:
            return value
        raise ValueError("a day or a moment is written as ISO 8601 text, not as a number")
    return value


ISO_TEXT = BeforeValidator(_not_a_number)
"""Metadata for a day or moment query parameter: ``Annotated[date | None, Query(…), ISO_TEXT]``."""
