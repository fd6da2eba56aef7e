"""Retention's routes: what would go (``GET /retention/due``, a dry run for supervisors and
auditors), and the legal holds that stop a client's clocks (a dispute, an audit, a request
under GDPR Art. 18)."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Annotated, Any
from uuid import UUID, uuid4

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from services.intake.application import IntakeApplication
from services.intake.domain import Client
from services.intake.retention import intake_report
from shared.api import BusinessTime, Caller, Problem, application
from shared.auth.access import client_access, may_see, require
from shared.auth.roles import Permission
from shared.clock import HELSINKI
from shared.iso_text import ISO_TEXT
from shared.retention.report import RetentionReport

router = APIRouter(tags=["retention"])
Intake = Annotated[IntakeApplication, Depends(application("intake", IntakeApplication))]
ERRORS: dict[int | str, dict[str, Any]] = {404: {"model": Problem}, 409: {"model": Problem}}
# Supervisors (their organisation's clients) and auditors (everyone's): who reads the reports.
ReportReader = Annotated[Caller, Depends(require(Permission.READ_REPORTS))]
# Who may stop a client's clocks: those who may restrict processing (GDPR Art. 18).
HoldKeeper = Annotated[Caller, Depends(client_access("intake", Permission.RESTRICT_PROCESSING))]


@router.get(
    "/retention/due",
    summary="What would go by retention on a day, per class and per client (a dry run)",
    description="Intake's classes (the client's identity), the access log and the dead letters; "
    "`kotoutus retention report` adds the classes of the other services.",
)
async def retention_due(
    request: Request,
    caller: ReportReader,
    intake: Intake,
    on: Annotated[
        date | None,
        Query(description="The business day to ask about; today if not given."),
        ISO_TEXT,
    ] = None,
) -> RetentionReport:
    now = None if on is None else datetime.combine(on, time(12), HELSINKI)

    def report() -> RetentionReport:
        return intake_report(
            intake,
            request.app.state.access_log,
            now=now,
            visible=lambda client_id: may_see(request, "intake", caller, client_id),
        )

    return await run_in_threadpool(report)


class LegalHoldBody(BusinessTime):
    hold_id: str = Field(
        default_factory=lambda: str(uuid4()),
        min_length=1,
        max_length=100,
        description="Give one to make a retried request safe.",
    )
    reason: str = Field(
        min_length=1,
        max_length=2000,
        examples=["Appeal pending at the administrative court"],
    )


class LiftBody(BusinessTime):
    reason: str = Field(min_length=1, max_length=2000, examples=["The appeal was decided"])


class LegalHoldsView(BaseModel):
    client_id: UUID
    holds: dict[str, str] = Field(description="The holds in force, by hold id: their reasons.")
    expired_classes: dict[str, date] = Field(
        description="The retention classes that went, and the day each went."
    )


def _holds(client: Client) -> LegalHoldsView:
    return LegalHoldsView(
        client_id=client.id,
        holds=dict(client.legal_holds),
        expired_classes=dict(client.expired_classes),
    )


@router.get(
    "/clients/{client_id}/legal-holds",
    responses=ERRORS,
    summary="The legal holds that stop the client's retention clocks",
)
def get_holds(client_id: UUID, caller: HoldKeeper, intake: Intake) -> LegalHoldsView:
    return _holds(intake.client(client_id))


@router.post(
    "/clients/{client_id}/legal-holds",
    responses=ERRORS,
    summary="Stop the client's retention clocks (a dispute, an audit, GDPR Art. 18)",
)
def place_hold(
    client_id: UUID, body: LegalHoldBody, caller: HoldKeeper, intake: Intake
) -> LegalHoldsView:
    client = intake.place_hold(
        client_id,
        provenance=caller.provenance(body.occurred_at),
        hold_id=body.hold_id,
        reason=body.reason,
    )
    return _holds(client)


@router.post(
    "/clients/{client_id}/legal-holds/{hold_id}/lift",
    responses=ERRORS,
    summary="Lift a legal hold: the clocks run on, longer by the time it stopped them",
)
def lift_hold(
    client_id: UUID, hold_id: str, body: LiftBody, caller: HoldKeeper, intake: Intake
) -> LegalHoldsView:
    client = intake.lift_hold(
        client_id,
        provenance=caller.provenance(body.occurred_at),
        hold_id=hold_id,
        reason=body.reason,
    )
    return _holds(client)
