"""Staff routes of the initial assessment."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Annotated
from uuid import UUID, uuid4

from fastapi import APIRouter, Depends, Query
from pydantic import AwareDatetime, ConfigDict, Field

from services.assessment.application import AssessmentApplication
from services.assessment.domain import Documentation
from services.assessment.interview import InterviewContent
from services.assessment.model import (
    Findings,
    Interview,
    OpenedBy,
    ReferralOutcome,
    ReferralService,
)
from services.assessment.views import AssessmentView, ResponsibilityView
from shared.api import BusinessTime, Caller, Problem, application
from shared.auth.access import client_access
from shared.auth.errors import OtherOrganisationError
from shared.auth.roles import Permission
from shared.clock import HELSINKI
from shared.contracts.records import FurtherMeasure, InformationSource, Maker
from shared.errors import NotFoundError
from shared.iso_text import ISO_TEXT, Day
from shared.restriction_record import refuse_if_restricted

router = APIRouter(prefix="/clients/{client_id}/assessment", tags=["assessment"])
Assessment = Annotated[
    AssessmentApplication, Depends(application("assessment", AssessmentApplication))
]
ERRORS: dict[int | str, dict[str, object]] = {404: {"model": Problem}, 409: {"model": Problem}}
# What each route may be called by (shared.auth.roles has the table of who has what).
ReadCase = Annotated[Caller, Depends(client_access("assessment", Permission.READ_CASE))]
ReadClient = Annotated[Caller, Depends(client_access("assessment", Permission.READ_CLIENT))]
# Commands answer with the case, so they wait while the client's processing is restricted.
OpenCase = Annotated[
    Caller,
    Depends(client_access("assessment", Permission.RECORD_CASE, opens=True, unrestricted=True)),
]
RecordCase = Annotated[
    Caller, Depends(client_access("assessment", Permission.RECORD_CASE, unrestricted=True))
]
ChangeCase = Annotated[
    Caller, Depends(client_access("assessment", Permission.CHANGE_CLIENT, unrestricted=True))
]


class RequestAssessment(BusinessTime):
    opened_by: OpenedBy = Field(
        default=OpenedBy.REQUEST, description="request (the client asked) or contact_notice"
    )
    received_on: Day = Field(description="The day the request or notice arrived.")
    responsible_organisation: str | None = Field(
        default=None, description="Who answers for it; the caller's organisation if not given."
    )


class StartAssessment(BusinessTime, InterviewContent):
    """Optionally with what the interview covered and told, as POST .../interview takes."""

    model_config = ConfigDict(frozen=False, extra="ignore")  # as before the decree's fields

    started_on: Day = Field(description="Day of the first assessment meeting.")
    interview: Interview


class RecordInterview(BusinessTime, InterviewContent):
    """Matters covered (a matter given again replaces its record) and told (added)."""

    client_understands_language: bool | None = Field(
        default=None, description="The statement on the interview's language, if given now."
    )


class RecordFindings(BusinessTime):
    findings: Findings


class WaiveAssessment(BusinessTime):
    waived_on: Day
    reason: str = Field(min_length=1, max_length=2000, examples=["resident in Finland 12 years"])


class MakeReferral(BusinessTime):
    referral_id: str = Field(
        default_factory=lambda: uuid4().hex, pattern=r"^[\w-]{1,64}$", description="Idempotency."
    )
    service: ReferralService
    referred_on: Day


class RecordReferralOutcome(BusinessTime):
    outcome: ReferralOutcome
    on: Day


class DocumentAssessment(BusinessTime):
    """What the national data store asks of the assessment (Decree 874/2024 §1(1)) beyond its
    other records. Each field given replaces the one recorded; null leaves it as it was."""

    further_measures: tuple[FurtherMeasure, ...] | None = Field(
        default=None,
        max_length=20,
        description="The further measures it includes (Decree 869/2024 §3(1)); empty: none.",
    )
    plan_planned_on: Day | None = Field(
        default=None,
        description="The planned date of the integration plan, or of the other referral made; "
        "not before the assessment started.",
    )
    makers: tuple[Maker, ...] | None = Field(
        default=None,
        min_length=1,
        max_length=20,
        description="Who made it, each with an email or a phone number.",
    )
    sources: tuple[InformationSource, ...] | None = Field(
        default=None, min_length=1, max_length=20, description="Where its information came from."
    )

    def documentation(self) -> Documentation:
        return Documentation(
            further_measures=self.further_measures,
            plan_planned_on=self.plan_planned_on,
            makers=self.makers,
            sources=self.sources,
        )


class CompleteAssessment(DocumentAssessment):
    """Optionally with what the national data store asks of it (as POST .../documentation
    takes), recorded with the completion."""

    completed_on: Day
    plan_needed: bool = Field(description="Does the client need an integration plan?")
    reason: str = Field(min_length=1, max_length=2000, description="Why (or why not).")


@router.get("", responses=ERRORS, summary="A client's initial assessment")
def get_assessment(client_id: UUID, caller: ReadCase, app: Assessment) -> AssessmentView:
    refuse_if_restricted(app, client_id)  # GDPR Art. 18: say only that it is
    return AssessmentView.of(app.assessment_of(client_id))


@router.get(
    "/responsibility", responses=ERRORS, summary="Who answered for the assessment at a moment"
)
def responsibility(
    client_id: UUID,
    caller: ReadClient,
    app: Assessment,
    on: Annotated[date | None, Query(description="End of this day, in Finland"), ISO_TEXT] = None,
    at: Annotated[AwareDatetime | None, Query(description="Or this exact moment"), ISO_TEXT] = None,
) -> ResponsibilityView:
    refuse_if_restricted(app, client_id)  # GDPR Art. 18: say only that it is
    assessment = app.assessment_of(client_id)
    moment = at or (datetime.combine(on, time.max, HELSINKI) if on else datetime.now(HELSINKI))
    period = app.responsibility_at(assessment, moment)
    if period is None:
        raise NotFoundError(f"no assessment of client {client_id} at {moment.isoformat()}")
    return ResponsibilityView(
        organisation=period.organisation,
        since=period.since,
        legal_basis=list(period.legal_basis),
        deadline=assessment.deadline,
    )


@router.post("", status_code=201, responses=ERRORS, summary="Open one on request or notice")
def request_assessment(
    client_id: UUID, body: RequestAssessment, caller: OpenCase, app: Assessment
) -> AssessmentView:
    # Only roles that reach every organisation may open a case for another one.
    named = body.responsible_organisation
    if named not in (None, caller.organisation) and not caller.may(Permission.ANY_ORGANISATION):
        raise OtherOrganisationError()
    assessment = app.request(
        client_id,
        provenance=caller.provenance(body.occurred_at),
        opened_by=body.opened_by,
        received_on=body.received_on,
        responsible_organisation=body.responsible_organisation or caller.organisation,
    )
    return AssessmentView.of(assessment)


@router.post("/start", responses=ERRORS, summary="Record the initial interview")
def start_assessment(
    client_id: UUID, body: StartAssessment, caller: RecordCase, app: Assessment
) -> AssessmentView:
    assessment = app.start(
        client_id,
        provenance=caller.provenance(body.occurred_at),
        started_on=body.started_on,
        interview=body.interview,
        content=InterviewContent(covered=body.covered, told=body.told),
    )
    return AssessmentView.of(assessment)


@router.post(
    "/interview",
    responses={**ERRORS, 422: {"model": Problem}},
    summary="Record what the initial interview covered and told (Government Decree 869/2024 §2)",
)
def record_interview(
    client_id: UUID, body: RecordInterview, caller: RecordCase, app: Assessment
) -> AssessmentView:
    assessment = app.record_interview(
        client_id,
        provenance=caller.provenance(body.occurred_at),
        content=InterviewContent(covered=body.covered, told=body.told),
        client_understands_language=body.client_understands_language,
    )
    return AssessmentView.of(assessment)


@router.post("/findings", responses=ERRORS, summary="Record what the assessment found")
def record_findings(
    client_id: UUID, body: RecordFindings, caller: ChangeCase, app: Assessment
) -> AssessmentView:
    assessment = app.record_findings(
        client_id, provenance=caller.provenance(body.occurred_at), findings=body.findings
    )
    return AssessmentView.of(assessment)


@router.post("/waive", responses=ERRORS, summary="Waive it as obviously unnecessary")
def waive(
    client_id: UUID, body: WaiveAssessment, caller: ChangeCase, app: Assessment
) -> AssessmentView:
    assessment = app.waive(
        client_id,
        provenance=caller.provenance(body.occurred_at),
        waived_on=body.waived_on,
        reason=body.reason,
    )
    return AssessmentView.of(assessment)


@router.post("/referrals", responses=ERRORS, summary="Refer the client to a service")
def refer(
    client_id: UUID, body: MakeReferral, caller: ChangeCase, app: Assessment
) -> AssessmentView:
    assessment = app.refer(
        client_id,
        provenance=caller.provenance(body.occurred_at),
        referral_id=body.referral_id,
        service=body.service,
        referred_on=body.referred_on,
    )
    return AssessmentView.of(assessment)


@router.post("/referrals/{referral_id}/outcome", responses=ERRORS, summary="A referral's outcome")
def referral_outcome(
    client_id: UUID,
    referral_id: str,
    body: RecordReferralOutcome,
    caller: ChangeCase,
    app: Assessment,
) -> AssessmentView:
    assessment = app.record_referral_outcome(
        client_id,
        provenance=caller.provenance(body.occurred_at),
        referral_id=referral_id,
        outcome=body.outcome,
        on=body.on,
    )
    return AssessmentView.of(assessment)


@router.post("/complete", responses=ERRORS, summary="Complete it and decide the plan need")
def complete_assessment(
    client_id: UUID, body: CompleteAssessment, caller: RecordCase, app: Assessment
) -> AssessmentView:
    assessment = app.complete(
        client_id,
        provenance=caller.provenance(body.occurred_at),
        completed_on=body.completed_on,
        plan_needed=body.plan_needed,
        reason=body.reason,
        documentation=body.documentation(),
    )
    return AssessmentView.of(assessment)


@router.post(
    "/documentation",
    responses=ERRORS,
    summary="Record what the national data store asks of it (Decree 874/2024 §1)",
)
def document_assessment(
    client_id: UUID, body: DocumentAssessment, caller: RecordCase, app: Assessment
) -> AssessmentView:
    """On an assessment started or completed (not one only due, nor a waived one): makers,
    sources, further measures and the plan's planned date, at once or field by field."""
    assessment = app.document(
        client_id,
        provenance=caller.provenance(body.occurred_at),
        documentation=body.documentation(),
    )
    return AssessmentView.of(assessment)
