"""The read side's tables (SQLAlchemy Core, one definition for PostgreSQL and SQLite): the
inbox here, each projection's in its module (``services.readside.projections``), all of them
importable from here for readers."""

from __future__ import annotations

from services.readside.inbox import inbox
from services.readside.projections.caseload import Caseload, caseload
from services.readside.projections.changes import client_changes
from services.readside.projections.names import Names, client_names, name_keys
from services.readside.projections.statistics import (
    Statistics,
    statistics_counts,
    statistics_deadlines,
    statistics_events,
)
from services.readside.projections.timeline import Timeline, events
from services.readside.storage import UtcDateTime, metadata

__all__ = [
    "PROJECTIONS",
    "UtcDateTime",
    "caseload",
    "client_changes",
    "client_names",
    "events",
    "inbox",
    "metadata",
    "name_keys",
    "statistics_counts",
    "statistics_deadlines",
    "statistics_events",
]

PROJECTIONS = (Timeline.name, Names.name, Caseload.name, Statistics.name)
"""The projections ``kotoutus projections rebuild`` may be asked for by name."""
