"""Staff routes of the integration plan."""

from __future__ import annotations

from datetime import date
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from services.plans.application import PlansApplication
from services.plans.domain import Documentation, IntegrationPlan
from shared.api import BusinessTime, Caller, Problem, application
from shared.auth.access import client_access
from shared.auth.roles import Permission
from shared.contracts.plans import (
    ExtensionGround,
    Goal,
    Measure,
    MeasureKind,
    PlanEndReason,
    PlanKind,
    PlanPeriod,
)
from shared.contracts.records import InformationSource, Maker, ReviewContent
from shared.iso_text import Day
from shared.law.deadlines import Deadline
from shared.restriction_record import refuse_if_restricted

router = APIRouter(prefix="/clients/{client_id}/plan", tags=["plans"])
Plans = Annotated[PlansApplication, Depends(application("plans", PlansApplication))]
ERRORS: dict[int | str, dict[str, object]] = {404: {"model": Problem}, 409: {"model": Problem}}
# What each route may be called by (shared.auth.roles has the table of who has what).
ReadCase = Annotated[Caller, Depends(client_access("plans", Permission.READ_CASE))]
# Commands answer with the plan, so they wait while the client's processing is restricted.
RecordCase = Annotated[
    Caller, Depends(client_access("plans", Permission.RECORD_CASE, unrestricted=True))
]
ChangeCase = Annotated[
    Caller, Depends(client_access("plans", Permission.CHANGE_CLIENT, unrestricted=True))
]


class PlanReviewView(BaseModel):
    reviewed_on: date
    content: ReviewContent | None = Field(description="Null: nothing recorded beyond its date.")


class PlanView(BaseModel):
    plan_id: UUID
    client_id: UUID
    assessment_id: UUID
    version: int
    responsible_organisation: str
    deadline: Deadline
    drafted_on: date | None
    agreed_on: date | None
    period: PlanPeriod | None
    enrolled_on: date | None
    referral_due: Deadline | None = Field(
        description="Referral to the agreed service (681/2023 §20(5); 1386/2010 §14(3))."
    )
    review_due: Deadline | None
    reviews_due: list[Deadline] = Field(description="Every review deadline set, in order.")
    ended_on: date | None
    end_reason: PlanEndReason | None
    makers: list[Maker] | None = Field(default=None, description="Decree 874/2024 §2(1).")
    sources: list[InformationSource] | None = Field(
        default=None, description="Decree 874/2024 §2(1)."
    )
    review_planned_on: date | None = Field(default=None, description="Decree 874/2024 §2(1).")
    reviews: list[PlanReviewView] = Field(
        default=[], description="Each day reviewed, with what was recorded of it (§3(2))."
    )

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
            agreed_on=plan.agreed_on,
            period=plan.period,
            enrolled_on=plan.enrolled_on,
            referral_due=plan.enrolment_due,
            review_due=plan.review_due,
            reviews_due=list(plan.reviews_due),
            ended_on=plan.ended_on,
            end_reason=plan.end_reason,
            makers=None if plan.makers is None else list(plan.makers),
            sources=None if plan.sources is None else list(plan.sources),
            review_planned_on=plan.review_planned_on,
            reviews=[
                PlanReviewView(reviewed_on=day, content=content)
                for day, content in sorted(plan.reviews.items())
            ],
        )


class DraftPlan(BusinessTime):
    drafted_on: Day = Field(description="Day preparation of the plan started.")


@router.get("", responses=ERRORS, summary="A client's integration plan")
def get_plan(client_id: UUID, caller: ReadCase, app: Plans) -> PlanView:
    refuse_if_restricted(app, client_id)  # GDPR Art. 18: say only that it is
    return PlanView.of(app.plan_of(client_id))


@router.post("/draft", responses=ERRORS, summary="Record that preparation of the plan started")
def draft_plan(client_id: UUID, body: DraftPlan, caller: ChangeCase, app: Plans) -> PlanView:
    plan = app.draft(
        client_id, provenance=caller.provenance(body.occurred_at), drafted_on=body.drafted_on
    )
    return PlanView.of(plan)


class DocumentPlan(BusinessTime):
    """What the national data store asks of the plan (Decree 874/2024 §2(1)) beyond its other
    records. Each field given replaces the one recorded; null leaves it as it was."""

    makers: tuple[Maker, ...] | None = Field(
        default=None,
        min_length=1,
        max_length=20,
        description="Who made it, each with an email or a phone number.",
    )
    sources: tuple[InformationSource, ...] | None = Field(
        default=None, min_length=1, max_length=20, description="Where its information came from."
    )
    review_planned_on: Day | None = Field(
        default=None, description="When its review is planned; not before the plan was agreed."
    )

    def documentation(self) -> Documentation:
        return Documentation(
            makers=self.makers, sources=self.sources, review_planned_on=self.review_planned_on
        )


class AgreePlan(DocumentPlan):
    """Optionally with what the national data store asks of it (as POST .../documentation
    takes), recorded with the agreement."""

    agreed_on: Day
    period: PlanPeriod
    kind: PlanKind = PlanKind.PERSON
    goals: tuple[Goal, ...] = ()
    measures: tuple[Measure, ...] = Field(min_length=1)
    job_seeking_obligation: bool = False


class Enrol(BusinessTime):
    enrolled_on: Day
    service: MeasureKind


class Review(BusinessTime):
    reviewed_on: Day
    content: ReviewContent | None = Field(
        default=None,
        description="What the review recorded (Decree 874/2024 §3(2)); may be completed later "
        "(POST .../reviews/{reviewed_on}/documentation). Its changes are a record only: the "
        "plan's period changes by POST .../extend.",
    )


class DocumentReview(BusinessTime):
    content: ReviewContent = Field(
        description="Each field given replaces the one recorded; null leaves it as it was."
    )


class Extend(BusinessTime):
    ends_on: Day
    reason: str = Field(min_length=1, max_length=2000)
    ground: ExtensionGround | None = Field(
        default=None,
        description=(
            "The law's ground for going beyond the base total (1386/2010 §12(4); "
            "681/2023 §23(3)–(4), §31(1)); none needed within it."
        ),
    )
    lost_days: int | None = Field(
        default=None, ge=1, le=3660, description="With temporary_obstacle: the days lost."
    )


class End(BusinessTime):
    ended_on: Day
    reason: PlanEndReason


@router.post("/agree", responses=ERRORS, summary="Agree the plan with the client")
def agree(client_id: UUID, body: AgreePlan, caller: RecordCase, app: Plans) -> PlanView:
    plan = app.agree(
        client_id,
        provenance=caller.provenance(body.occurred_at),
        agreed_on=body.agreed_on,
        period=body.period,
        kind=body.kind,
        goals=body.goals,
        measures=body.measures,
        job_seeking_obligation=body.job_seeking_obligation,
        documentation=body.documentation(),
    )
    return PlanView.of(plan)


@router.post(
    "/documentation",
    responses=ERRORS,
    summary="Record what the national data store asks of the plan (Decree 874/2024 §2)",
)
def document(client_id: UUID, body: DocumentPlan, caller: RecordCase, app: Plans) -> PlanView:
    """On an agreed plan, ended or not: makers, sources and the planned review date, at once
    or field by field."""
    plan = app.document(
        client_id,
        provenance=caller.provenance(body.occurred_at),
        documentation=body.documentation(),
    )
    return PlanView.of(plan)


@router.post("/enrol", responses=ERRORS, summary="Record enrolment in a service")
def enrol(client_id: UUID, body: Enrol, caller: ChangeCase, app: Plans) -> PlanView:
    plan = app.enrol(
        client_id,
        provenance=caller.provenance(body.occurred_at),
        enrolled_on=body.enrolled_on,
        service=body.service,
    )
    return PlanView.of(plan)


@router.post("/review", responses=ERRORS, summary="Record a review of the plan")
def review(client_id: UUID, body: Review, caller: ChangeCase, app: Plans) -> PlanView:
    plan = app.review(
        client_id,
        provenance=caller.provenance(body.occurred_at),
        reviewed_on=body.reviewed_on,
        content=body.content,
    )
    return PlanView.of(plan)


@router.post(
    "/reviews/{reviewed_on}/documentation",
    responses=ERRORS,
    summary="Complete the record of a review made (Decree 874/2024 §3)",
)
def document_review(
    client_id: UUID, reviewed_on: Day, body: DocumentReview, caller: RecordCase, app: Plans
) -> PlanView:
    """The review of ``reviewed_on`` must have been recorded (404 review_not_found if not)."""
    plan = app.document_review(
        client_id,
        provenance=caller.provenance(body.occurred_at),
        reviewed_on=reviewed_on,
        content=body.content,
    )
    return PlanView.of(plan)


@router.post("/extend", responses=ERRORS, summary="Extend the plan within the law's limits")
def extend(client_id: UUID, body: Extend, caller: ChangeCase, app: Plans) -> PlanView:
    plan = app.extend(
        client_id,
        provenance=caller.provenance(body.occurred_at),
        ends_on=body.ends_on,
        reason=body.reason,
        ground=body.ground,
        lost_days=body.lost_days,
    )
    return PlanView.of(plan)


@router.post("/end", responses=ERRORS, summary="End the plan, with the reason")
def end(client_id: UUID, body: End, caller: ChangeCase, app: Plans) -> PlanView:
    plan = app.end(
        client_id,
        provenance=caller.provenance(body.occurred_at),
        ended_on=body.ended_on,
        reason=body.reason,
    )
    return PlanView.of(plan)
