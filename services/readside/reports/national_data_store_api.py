"""Supervisors' and auditors' routes to the national data-store records: the export and the
report of what is missing. Every client a response names is written to the access log."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import PlainTextResponse, Response
from pydantic import BaseModel, Field

from services.readside.api import ReadSideDep
from services.readside.reports import national_data_store_export as export
from services.readside.reports.national_data_store import SCHEMA_VERSION, ClientRecord
from shared.api import Caller
from shared.auth.access import require
from shared.auth.roles import Permission
from shared.iso_text import ISO_TEXT

router = APIRouter(tags=["reports"])
ReadReports = Annotated[Caller, Depends(require(Permission.READ_REPORTS))]


def _organisation(caller: Caller) -> str | None:
    """Whose clients the caller may see: their own organisation's, or anyone's."""
    return None if caller.may(Permission.ANY_ORGANISATION) else caller.organisation


class Export(BaseModel):
    schema_version: int = Field(
        description="The records' shape (docs/national-data-store.schema.json)"
    )
    records: list[ClientRecord]
    next_after: int | None = Field(
        description="The last record's position: pass it as `after` for what changes next"
    )


@router.get(
    "/reports/national-data-store",
    summary="The national integration data store's records (Decree 874/2024), per client or "
    "changed since a day or a position (JSON, or NDJSON with format=ndjson)",
    response_model=Export,
    responses={200: {"content": {"application/x-ndjson": {}}}},
)
def get_national_data_store(
    request: Request,
    caller: ReadReports,
    read: ReadSideDep,
    client_id: UUID | None = None,
    since: Annotated[
        date | datetime | None,
        Query(description="Clients whose data changed from this day or instant"),
        ISO_TEXT,
    ] = None,
    after: Annotated[
        int, Query(ge=0, le=2**31 - 1, description="Records after this change position")
    ] = 0,
    format: Literal["json", "ndjson"] = "json",
) -> Response | Export:
    organisation = _organisation(caller)
    found = [
        record
        for record in export.records(
            read.engine, read.seal, client_id=client_id, since=since, after=after
        )
        if organisation is None or record.municipality == organisation
    ]
    request.state.access_client_ids = [str(record.client_id) for record in found]
    if format == "ndjson":
        return PlainTextResponse(
            "".join(record.model_dump_json() + "\n" for record in found),
            media_type="application/x-ndjson",
        )
    return Export(
        schema_version=SCHEMA_VERSION,
        records=found,
        next_after=found[-1].position if found else None,
    )


@router.get(
    "/reports/national-data-store/completeness",
    summary="Which items Decree 874/2024 requires are missing, per client and in total "
    "(JSON or CSV)",
    response_model=export.Completeness,
    responses={200: {"content": {"text/csv": {}}}},
)
def get_completeness(
    request: Request,
    caller: ReadReports,
    read: ReadSideDep,
    format: Literal["json", "csv"] = "json",
) -> Response | export.Completeness:
    report = export.completeness(read.engine, read.seal, _organisation(caller))
    request.state.access_client_ids = [
        str(client.client_id) for client in report.incomplete_clients
    ]
    if format == "csv":
        return PlainTextResponse(
            report.csv(),
            media_type="text/csv",
            headers={
                "Content-Disposition": 'attachment; filename="national-data-store-missing.csv"'
            },
        )
    return report
