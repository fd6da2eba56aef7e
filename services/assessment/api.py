"""Staff routes of the initial assessment."""

from __future__ import annotations

from datetime import date
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from services.assessment.application import AssessmentApplication
from services.assessment.domain import InitialAssessment
from shared.api import BusinessTime, CallerDep, Problem, application
from shared.law.deadlines import Deadline

router = APIRouter(prefix="/clients/{client_id}/assessment", tags=["assessment"])
Assessment = Annotated[
    AssessmentApplication, Depends(application("assessment", AssessmentApplication))
]
ERRORS: dict[int | str, dict[str, object]] = {404: {"model": Problem}, 409: {"model": Problem}}


class AssessmentView(BaseModel):
    assessment_id: UUID
    client_id: UUID
    version: int
    responsible_organisation: str
    deadline: Deadline
    started_on: date | None
    completed_on: date | None
    plan_needed: bool | None

    @classmethod
    def of(cls, assessment: InitialAssessment) -> AssessmentView:
        return cls(
            assessment_id=assessment.id,
            client_id=assessment.client_id,
            version=assessment.version,
            responsible_organisation=assessment.responsible_organisation,
            deadline=assessment.deadline,
            started_on=assessment.started_on,
            completed_on=assessment.completed_on,
            plan_needed=assessment.plan_needed,
        )


class StartAssessment(BusinessTime):
    started_on: date = Field(description="Day of the first assessment meeting.")


class CompleteAssessment(BusinessTime):
    completed_on: date
    plan_needed: bool = Field(description="Does the client need an integration plan?")
    reason: str = Field(min_length=1, max_length=2000, description="Why (or why not).")


@router.get("", responses=ERRORS, summary="A client's initial assessment")
def get_assessment(client_id: UUID, caller: CallerDep, app: Assessment) -> AssessmentView:
    return AssessmentView.of(app.assessment_of(client_id))


@router.post("/start", responses=ERRORS, summary="Record that the assessment started")
def start_assessment(
    client_id: UUID, body: StartAssessment, caller: CallerDep, app: Assessment
) -> AssessmentView:
    provenance = caller.provenance(body.occurred_at)
    return AssessmentView.of(
        app.start(client_id, provenance=provenance, started_on=body.started_on)
    )


@router.post("/complete", responses=ERRORS, summary="Complete it and decide the plan need")
def complete_assessment(
    client_id: UUID, body: CompleteAssessment, caller: CallerDep, app: Assessment
) -> AssessmentView:
    assessment = app.complete(
        client_id,
        provenance=caller.provenance(body.occurred_at),
        completed_on=body.completed_on,
        plan_needed=body.plan_needed,
        reason=body.reason,
    )
    return AssessmentView.of(assessment)
