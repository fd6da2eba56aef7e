"""Staff routes of the integration plan."""

from __future__ import annotations

from datetime import date
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from services.plans.application import PlansApplication
from services.plans.domain import IntegrationPlan
from shared.api import BusinessTime, CallerDep, Problem, application
from shared.law.deadlines import Deadline

router = APIRouter(prefix="/clients/{client_id}/plan", tags=["plans"])
Plans = Annotated[PlansApplication, Depends(application("plans", PlansApplication))]
ERRORS: dict[int | str, dict[str, object]] = {404: {"model": Problem}, 409: {"model": Problem}}


class PlanView(BaseModel):
    plan_id: UUID
    client_id: UUID
    assessment_id: UUID
    version: int
    responsible_organisation: str
    deadline: Deadline
    drafted_on: date | None

    @classmethod
    def of(cls, plan: IntegrationPlan) -> PlanView:
        return cls(
            plan_id=plan.id,
            client_id=plan.client_id,
            assessment_id=plan.assessment_id,
            version=plan.version,
            responsible_organisation=plan.responsible_organisation,
            deadline=plan.deadline,
            drafted_on=plan.drafted_on,
        )


class DraftPlan(BusinessTime):
    drafted_on: date = Field(description="Day preparation of the plan started.")


@router.get("", responses=ERRORS, summary="A client's integration plan")
def get_plan(client_id: UUID, caller: CallerDep, app: Plans) -> PlanView:
    return PlanView.of(app.plan_of(client_id))


@router.post("/draft", responses=ERRORS, summary="Record that preparation of the plan started")
def draft_plan(client_id: UUID, body: DraftPlan, caller: CallerDep, app: Plans) -> PlanView:
    plan = app.draft(
        client_id, provenance=caller.provenance(body.occurred_at), drafted_on=body.drafted_on
    )
    return PlanView.of(plan)
