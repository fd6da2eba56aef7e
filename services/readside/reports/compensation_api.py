"""Supervisors' and auditors' routes to the state's compensation: the calculated compensation
of a year (681/2023 §61; Decree 872/2024) and the old law's assessments to claim by the end of
2026 (1386/2010 §50; 681/2023 §102(1)). They name persons: every client listed is written to
the access log."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import PlainTextResponse, Response

from services.readside.api import ReadSideDep
from services.readside.reports import compensation
from shared import i18n
from shared.api import Caller
from shared.auth.access import require
from shared.auth.errors import ForbiddenError
from shared.auth.roles import Permission
from shared.clock import HELSINKI, utc_now
from shared.settings import Settings
from shared.values import OrganisationKind

router = APIRouter(tags=["reports"])
ReadReports = Annotated[Caller, Depends(require(Permission.READ_REPORTS))]


def _settings(request: Request, caller: Caller) -> Settings:
    """The deployment's settings; the report is the municipality's, so only its own staff
    (or a caller of any organisation, an auditor) may read it."""
    settings: Settings = request.app.state.settings
    own = settings.organisation(OrganisationKind.MUNICIPALITY)
    if not caller.may(Permission.ANY_ORGANISATION) and caller.organisation != own:
        raise ForbiddenError()
    return settings


def _csv(text: str, filename: str, language: str) -> PlainTextResponse:
    return PlainTextResponse(
        text,
        media_type="text/csv",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            **_in_language(language),
        },
    )


def _language(request: Request, response: Response) -> str:
    """The language of the report's texts, by ``Accept-Language`` (as errors choose theirs)."""
    language = i18n.negotiate(request.headers.get("accept-language"))
    response.headers.update(_in_language(language))
    return language


def _in_language(language: str) -> dict[str, str]:
    return {"Content-Language": language, "Vary": "Accept-Language"}


@router.get(
    "/reports/compensation",
    summary="The state's calculated compensation of a year, per person and in total, and the "
    "persons whose facts are missing (681/2023 §61; Decree 872/2024) — JSON or CSV",
    response_model=compensation.CompensationReport,
    responses={200: {"content": {"text/csv": {}}}},
)
def get_compensation(
    request: Request,
    response: Response,
    caller: ReadReports,
    read: ReadSideDep,
    year: Annotated[
        int | None, Query(ge=compensation.FIRST_YEAR, le=2100, description="Default: this year")
    ] = None,
    format: Literal["json", "csv"] = "json",
) -> Response | compensation.CompensationReport:
    settings = _settings(request, caller)
    chosen = year or utc_now().astimezone(HELSINKI).year
    language = _language(request, response)
    report = compensation.compensation_report(
        read.engine, read.seal, chosen, compensation.Municipality.of(settings), language
    )
    request.state.access_client_ids = [str(c) for c in report.client_ids()]
    if format == "csv":
        name = f"compensation-{settings.municipality_code}-{chosen}.csv"
        return _csv(report.csv(), name, language)
    return report


@router.get(
    "/reports/compensation/old-law",
    summary="The initial assessments organised under the old Act 1386/2010 (§50), to claim by "
    "31 Dec 2026 (681/2023 §102(1) as amended by 1100/2024) — JSON or CSV",
    response_model=compensation.OldLawReport,
    responses={200: {"content": {"text/csv": {}}}},
)
def get_compensation_old_law(
    request: Request,
    response: Response,
    caller: ReadReports,
    read: ReadSideDep,
    format: Literal["json", "csv"] = "json",
) -> Response | compensation.OldLawReport:
    settings = _settings(request, caller)
    language = _language(request, response)
    report = compensation.old_law_report(
        read.engine,
        read.seal,
        compensation.Municipality.of(settings),
        settings.organisation(OrganisationKind.MUNICIPALITY),
        settings.old_law_assessment_euros,
        utc_now().astimezone(HELSINKI).date(),
        language,
    )
    request.state.access_client_ids = [str(c) for c in report.client_ids()]
    if format == "csv":
        name = f"compensation-old-law-{settings.municipality_code}.csv"
        return _csv(report.csv(), name, language)
    return report
