"""What staff read: caseload pages, a client's timeline, the statistics' counts."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterator
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any
from uuid import UUID

from pydantic import BaseModel, Field
from sqlalchemy import ColumnElement, Connection, Engine, func, literal, select, tuple_

from services.readside.caseload import CaseloadRow
from services.readside.names import NameSeal
from services.readside.projections import statistics as statistics_projection
from services.readside.projections.caseload import FAR_FUTURE, undated_last
from services.readside.projections.timeline import stored_event
from services.readside.statistics import Key
from services.readside.storage import shown_fields
from services.readside.tables import caseload, client_names, events, name_keys
from shared.contracts import CONTRACTS, PublicEvent, parse_event
from shared.iso_text import ISO_TEXT


class SortKey(StrEnum):
    NEXT_DEADLINE = "next_deadline"
    RELATIONSHIP_STARTED_ON = "relationship_started_on"
    LAST_EVENT_AT = "last_event_at"
    CLIENT_ID = "client_id"


class CaseloadFilter(BaseModel):
    organisation: str | None = None
    worker: str | None = None
    status: str | None = None
    assessment_state: str | None = None
    plan_state: str | None = None
    overdue: bool | None = None
    language: str | None = Field(default=None, description="Mother tongue, service or interpreter")
    due_from: Annotated[date | None, ISO_TEXT] = None
    due_to: Annotated[date | None, ISO_TEXT] = None

    def conditions(self) -> list[ColumnElement[bool]]:
        c = caseload.c
        found: list[ColumnElement[bool]] = []
        for column, value in (
            (c.organisation, self.organisation),
            (c.worker, self.worker),
            (c.status, self.status),
            (c.assessment_state, self.assessment_state),
            (c.plan_state, self.plan_state),
            (c.overdue, self.overdue),
        ):
            if value is not None:
                found.append(column == value)
        if self.language:
            found.append(c.languages.contains(f",{self.language},", autoescape=True))
        if self.due_from:
            found.append(c.next_deadline >= self.due_from)
        if self.due_to:
            found.append(c.next_deadline <= self.due_to)
        return found


class InvalidCursorError(ValueError):
    pass


def _sort_expression(sort: SortKey) -> Any:
    column = caseload.c[sort.value]
    if sort in (SortKey.NEXT_DEADLINE, SortKey.RELATIONSHIP_STARTED_ON):
        return undated_last(column)
    return column


def _encode_cursor(sort: SortKey, value: Any, client_id: str) -> str:
    text = value.isoformat() if isinstance(value, date | datetime) else value
    raw = json.dumps([sort.value, text, client_id])
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode_cursor(cursor: str, sort: SortKey) -> tuple[Any, str]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        sort_name, value, client_id = json.loads(base64.urlsafe_b64decode(padded))
        UUID(client_id)
    except (ValueError, TypeError, binascii.Error) as error:
        raise InvalidCursorError("cursor is not one this API gave") from error
    if sort_name != sort.value or not isinstance(value, str | None):
        raise InvalidCursorError("cursor belongs to another sort order")
    if sort is SortKey.CLIENT_ID:
        return client_id, client_id
    parse = datetime.fromisoformat if sort is SortKey.LAST_EVENT_AT else date.fromisoformat
    try:
        parsed = parse(value) if value else None
    except ValueError as error:
        raise InvalidCursorError("cursor is not one this API gave") from error
    if isinstance(parsed, datetime) and parsed.tzinfo is None:
        raise InvalidCursorError("cursor is not one this API gave")
    return parsed, client_id


# What staff are sent of a row (its hidden fields are not read: some take decoding).
_SHOWN = [caseload.c[name] for name in shown_fields(CaseloadRow)]


def _reading(engine: Engine) -> Connection:
    """A connection for one read: each statement on its own (no BEGIN, no ROLLBACK to wait
    for), which a read of one statement needs no more than."""
    return engine.connect().execution_options(isolation_level="AUTOCOMMIT")


def _named(query: Any) -> Any:
    """The caseload rows with their sealed names and the keys that open them."""
    return (
        query.add_columns(
            client_names.c.given_names, client_names.c.family_name, name_keys.c.wrapped
        )
        .outerjoin(client_names, client_names.c.client_id == caseload.c.client_id)
        .outerjoin(name_keys, name_keys.c.client_id == caseload.c.client_id)
    )


def _opened(row: Any, seal: NameSeal) -> dict[str, Any]:
    values = dict(row._mapping)
    client_id = UUID(values["client_id"])
    wrapped = values.pop("wrapped")
    values["given_names"], values["family_name"] = seal.open_all(
        client_id, wrapped, [values["given_names"], values["family_name"]]
    )
    return values


def page_query(
    where: CaseloadFilter,
    sort: SortKey = SortKey.NEXT_DEADLINE,
    descending: bool = False,
    limit: int = 50,
    cursor: str | None = None,
) -> Any:
    """The caseload rows (with their sealed names) of a page: ``limit`` of them in page order
    from where ``cursor`` says."""
    key = _sort_expression(sort)
    # Restricted clients (GDPR Art. 18) are kept, never listed.
    conditions = [*where.conditions(), caseload.c.restricted.is_(False)]
    if cursor:
        value, after = _decode_cursor(cursor, sort)
        if sort is SortKey.NEXT_DEADLINE or sort is SortKey.RELATIONSHIP_STARTED_ON:
            value = value or FAR_FUTURE
        # As a row value, so that an index in page order starts where the page does.
        position = tuple_(key, caseload.c.client_id)
        start = tuple_(literal(value, key.type), literal(after, caseload.c.client_id.type))
        conditions.append(position < start if descending else position > start)
    order = (key.desc(), caseload.c.client_id.desc()) if descending else (key, caseload.c.client_id)
    return _named(select(*_SHOWN)).where(*conditions).order_by(*order).limit(limit)


def caseload_page(
    engine: Engine,
    seal: NameSeal,
    where: CaseloadFilter,
    sort: SortKey = SortKey.NEXT_DEADLINE,
    descending: bool = False,
    limit: int = 50,
    cursor: str | None = None,
) -> tuple[list[dict[str, Any]], str | None]:
    """One page in a stable order (sort key, then client id); the cursor names where the next
    page starts, so rows added meanwhile neither repeat nor vanish."""
    query = page_query(where, sort, descending, limit + 1, cursor)
    with _reading(engine) as connection:
        rows = [_opened(row, seal) for row in connection.execute(query)]
    if len(rows) <= limit:
        return rows, None
    last = rows[limit - 1]
    value = last["client_id"] if sort is SortKey.CLIENT_ID else last[sort.value]
    return rows[:limit], _encode_cursor(sort, value, last["client_id"])


def caseload_row(engine: Engine, seal: NameSeal, client_id: UUID) -> dict[str, Any] | None:
    query = _named(select(*_SHOWN)).where(caseload.c.client_id == str(client_id))
    with _reading(engine) as connection:
        row = connection.execute(query).first()
    return _opened(row, seal) if row else None


def timeline(engine: Engine, client_id: UUID) -> list[PublicEvent]:
    """Everything the services said about the client, in record order."""
    query = (
        select(events.c.event_type, events.c.body)
        .where(events.c.client_id == str(client_id))
        .order_by(events.c.recorded_at, events.c.source, events.c.position)
    )
    with _reading(engine) as connection:
        return [stored_event(kind, body) for kind, body in connection.execute(query)]


def statistics_counts(engine: Engine, year: int) -> dict[Key, int]:
    """The statistics' counts of ``year`` and its months."""
    with _reading(engine) as connection:
        return statistics_projection.counts(connection, year)


def events_of_types(engine: Engine, types: set[str]) -> Iterator[PublicEvent]:
    """Each event of the given types once (a merge is stored under two clients)."""
    query = select(events.c.body).where(events.c.event_type.in_(sorted(types))).distinct()
    with engine.connect() as connection:
        for body in connection.execute(query).scalars():
            yield parse_event(body, CONTRACTS)


def caseload_counts(engine: Engine) -> list[tuple[str | None, str, int]]:
    """Clients now by group and status."""
    query = select(caseload.c.client_group, caseload.c.status, func.count()).group_by(
        caseload.c.client_group, caseload.c.status
    )
    with _reading(engine) as connection:
        return [(group, status, count) for group, status, count in connection.execute(query)]
