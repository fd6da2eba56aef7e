"""The read side's tables (SQLAlchemy Core, one definition for PostgreSQL and SQLite)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    DateTime,
    Dialect,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
)


class UtcDateTime(TypeDecorator[datetime]):
    """An aware instant on both databases (SQLite would hand back naive local values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("instants must be timezone-aware")
        return (
            value.astimezone(UTC)
            if dialect.name == "postgresql"
            else value.astimezone(UTC).replace(tzinfo=None)
        )

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


metadata = MetaData()

# Inbox: one row per public event applied, written in the same transaction as the rows it
# changed, so a redelivered event is recognised whatever order messages arrive in.
applied = Table(
    "applied",
    metadata,
    Column("message_id", String(36), primary_key=True),
    Column("source", String(64), nullable=False),
    Column("position", Integer, nullable=False),
    Index("applied_source_position", "source", "position"),
)

# The timeline projection: every public event about a client, personal fields left out. A
# merge concerns two clients and is kept under both.
events = Table(
    "events",
    metadata,
    Column("message_id", String(36), primary_key=True),
    Column("client_id", String(36), primary_key=True),
    Column("source", String(64), nullable=False),
    Column("position", Integer, nullable=False),
    Column("event_type", String(64), nullable=False),
    Column("occurred_at", UtcDateTime(), nullable=False),
    Column("recorded_at", UtcDateTime(), nullable=False),
    Column("actor", String(200), nullable=False),
    Column("organisation", String(200), nullable=False),
    Column("body", Text, nullable=False),
    Index("events_client", "client_id", "recorded_at"),
    Index("events_type_time", "event_type", "occurred_at"),
)

# The client-names projection: personal, so apart from everything else, sealed with the
# client's key (services.readside.names) and emptied for good when the client is erased (the
# row stays as a tombstone so that a late message cannot fill it again).
client_names = Table(
    "client_names",
    metadata,
    Column("client_id", String(36), primary_key=True),
    Column("given_names", LargeBinary),
    Column("family_name", LargeBinary),
    # Added for the state's compensation and the national data store (Decree 874/2024):
    # ``Projector`` adds them to a table made before (a rebuild of "names" fills them).
    Column("identity_code", LargeBinary),
    Column("birth_date", LargeBinary),
    Column("version", Integer, nullable=False),
    Column("erased", Boolean, nullable=False),
)

# The clients' name keys, wrapped. Not a projection: a rebuild keeps them (so the sealed
# names come out the same), and an erasure deletes the client's row.
name_keys = Table(
    "name_keys",
    metadata,
    Column("client_id", String(36), primary_key=True),
    Column("wrapped", LargeBinary, nullable=False),
)

# The caseload projection: one row per client, a fold of the client's events.
caseload = Table(
    "caseload",
    metadata,
    Column("client_id", String(36), primary_key=True),
    Column("status", String(16), nullable=False),
    Column("organisation", String(200)),
    Column("worker", String(200)),
    Column("client_group", String(64)),
    Column("in_scope", Boolean),
    Column("mother_tongue", String(8)),
    Column("interpreter_language", String(8)),
    Column("needs_interpreter", Boolean, nullable=False),
    Column("languages", Text, nullable=False),  # ",uk,ru," for a plain LIKE filter
    Column("relationship_started_on", Date),
    Column("home_municipality", String(3)),
    Column("age_group", String(8)),
    Column("assessment_state", String(16), nullable=False),
    Column("assessment_due", Date),
    Column("assessment_started_on", Date),
    Column("assessment_overdue", Boolean, nullable=False),
    Column("plan_state", String(16), nullable=False),
    Column("plan_preparation_due", Date),
    Column("plan_ends_on", Date),
    Column("enrolment_due", Date),
    Column("enrolment_overdue", Boolean, nullable=False),
    Column("next_review", Date),
    Column("review_overdue", Boolean, nullable=False),
    Column("open_referrals", Integer, nullable=False),
    Column("overdue", Boolean, nullable=False),
    Column("next_deadline", Date),
    Column("next_deadline_kind", String(32)),
    Column("last_event_at", UtcDateTime(), nullable=False),
    Index("caseload_organisation", "organisation", "next_deadline"),
    Index("caseload_worker", "worker"),
)

# The order in which clients' data last changed: the national data-store export's position
# ("after position N"). One row per client, its position raised on every event applied about
# them; positions are handed out under one lock, so they grow in commit order.
client_changes = Table(
    "client_changes",
    metadata,
    Column("client_id", String(36), primary_key=True),
    Column("position", Integer, nullable=False),
    Index("client_changes_position", "position", unique=True),
)

PROJECTIONS = ("timeline", "names", "caseload")
