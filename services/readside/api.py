"""Staff routes of the read side: the caseload, a client's timeline, follow-up statistics."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import PlainTextResponse, Response
from pydantic import BaseModel, Field

from services.readside import queries, statistics
from services.readside.caseload import CaseloadRow
from services.readside.projector import Projector
from services.readside.restriction import refuse_if_restricted
from services.readside.storage import RowView
from shared.api import Caller
from shared.auth.access import client_access_by, require
from shared.auth.errors import OtherOrganisationError
from shared.auth.roles import Permission
from shared.clock import utc_now
from shared.errors import NotFoundError
from shared.law.rulebook import RuleRef
from shared.values import Actor

router = APIRouter(tags=["read side"])


def projector(request: Request) -> Projector:
    found = request.app.state.projector
    assert isinstance(found, Projector)
    return found


ReadSideDep = Annotated[Projector, Depends(projector)]
ReadClients = Annotated[Caller, Depends(require(Permission.READ_CLIENT))]
ReadClient = Annotated[Caller, Depends(client_access_by(projector, Permission.READ_CLIENT))]
ReadStatistics = Annotated[Caller, Depends(require(Permission.READ_STATISTICS))]


# The caseload row as staff read it: ``CaseloadRow``'s fields that are not hidden, in its order,
# with the name from the names projection after the key. (No docstring: it would be the
# OpenAPI document's description of the schema.)
class CaseloadItem(RowView, row=CaseloadRow):
    given_names: str | None = Field(description="null once the person is erased")
    family_name: str | None


class CaseloadPage(BaseModel):
    items: list[CaseloadItem]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null: last")


class TimelineEntry(BaseModel):
    occurred_at: datetime = Field(description="When it happened (business time)")
    recorded_at: datetime = Field(description="When the system learnt it")
    source: str
    event_type: str
    actor: Actor
    organisation: str
    record_source: str | None
    legal_basis: tuple[RuleRef, ...]
    reason: str | None = Field(description="Why, where the event gives a reason")
    data: dict[str, Any]


@router.get("/caseload", summary="Clients in care, filtered and sorted, one page at a time")
def get_caseload(
    request: Request,
    caller: ReadClients,
    read: ReadSideDep,
    where: Annotated[queries.CaseloadFilter, Query()],
    sort: queries.SortKey = queries.SortKey.NEXT_DEADLINE,
    order: Literal["asc", "desc"] = "asc",
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> CaseloadPage:
    if not caller.may(Permission.ANY_ORGANISATION):
        # Staff see the clients their own organisation answers for, and no others.
        if where.organisation not in (None, caller.organisation):
            raise OtherOrganisationError()
        where = where.model_copy(update={"organisation": caller.organisation})
    try:
        rows, next_cursor = queries.caseload_page(
            read.engine, read.seal, where, sort, order == "desc", limit, cursor
        )
    except queries.InvalidCursorError:
        # A value of the query at fault, as any other: a pointer and a code, texts from the
        # catalogues (``field.invalid_cursor``).
        raise RequestValidationError(
            [{"type": "invalid_cursor", "loc": ("query", "cursor"), "msg": "invalid cursor"}]
        ) from None
    # The access log records the read with every client whose data this page discloses.
    request.state.access_client_ids = [row["client_id"] for row in rows]
    return CaseloadPage(items=[CaseloadItem.of(row) for row in rows], next_cursor=next_cursor)


@router.get(
    "/clients/{client_id}/timeline",
    summary="Everything the services recorded about a client, in order: who, what, when, why",
)
def get_timeline(client_id: UUID, caller: ReadClient, read: ReadSideDep) -> list[TimelineEntry]:
    refuse_if_restricted(read.engine, client_id)  # GDPR Art. 18: say only that it is
    entries = queries.timeline(read.engine, client_id)
    if not entries:
        raise NotFoundError(f"client {client_id}")
    return [
        TimelineEntry(
            occurred_at=event.occurred_at,
            recorded_at=event.recorded_at,
            source=event.source,
            event_type=event.event_type,
            actor=event.actor,
            organisation=event.organisation,
            record_source=event.record_source,
            legal_basis=event.legal_basis,
            reason=getattr(event.data, "reason", None),
            data=event.data.model_dump(mode="json"),
        )
        for event in entries
    ]


@router.get(
    "/statistics",
    summary="Follow-up figures of the integration programme for a year, by month (JSON or CSV)",
    response_model=statistics.Report,
    responses={200: {"content": {"text/csv": {}}}},
)
def get_statistics(
    caller: ReadStatistics,
    read: ReadSideDep,
    year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
    format: Literal["json", "csv"] = "json",
) -> Response | statistics.Report:
    chosen = year or utc_now().year
    report = statistics.report(
        chosen,
        queries.statistics_counts(read.engine, chosen),
        queries.caseload_counts(read.engine),
    )
    if format == "csv":
        return PlainTextResponse(
            report.csv(),
            media_type="text/csv",
            headers={"Content-Disposition": f'attachment; filename="kotoutus-{chosen}.csv"'},
        )
    return report
