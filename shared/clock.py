"""The one place that reads the wall clock; the domain takes time as an argument."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

Clock = Callable[[], datetime]

# Statutory days are Finnish days: a due day ends at midnight in Finland.
HELSINKI = ZoneInfo("Europe/Helsinki")


def utc_now() -> datetime:
    return datetime.now(UTC)
