"""From a client's public events to the client's record, in record order (the readings are
the package's: ``services.readside.reports.national_data_store``)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel

from services.readside.caseload import record_order
from services.readside.identities import Identity
from services.readside.reports.national_data_store.records import (
    LAW_IN_FORCE,
    SCHEMA_VERSION,
    AssessmentContent,
    AssessmentRecord,
    ClientRecord,
    Extension,
    OtherPlanContent,
    Person,
    PlanRecord,
    Referral,
    ReviewRecord,
)
from shared.contracts import PublicEvent
from shared.contracts import events as contracts
from shared.contracts.assessment import Findings, Interview
from shared.contracts.plans import ExtensionGround
from shared.contracts.records import ReviewContent


class _Assessment:
    def __init__(self, assessment_id: UUID) -> None:
        self.assessment_id = assessment_id
        self.started_on: date | None = None
        self.interview: Interview | None = None
        self.findings: Findings | None = None
        self.completed_on: date | None = None
        self.plan_needed: bool | None = None
        self.plan_need_reason: str | None = None
        self.referrals: dict[str, dict[str, Any]] = {}
        self.documented: dict[str, Any] = {}

    def record(self) -> AssessmentRecord:
        return AssessmentRecord(
            assessment_id=self.assessment_id,
            drawn_up_on=self.completed_on,
            content=AssessmentContent(
                started_on=self.started_on,
                interview=self.interview,
                findings=self.findings,
                plan_needed=self.plan_needed,
                plan_need_reason=self.plan_need_reason,
            ),
            further_measures=self.documented.get("further_measures"),
            plan_planned_on=self.documented.get("plan_planned_on"),
            referrals=tuple(Referral(**found) for found in self.referrals.values()),
            makers=self.documented.get("makers"),
            sources=self.documented.get("sources"),
        )


class _Plan:
    def __init__(self, agreed: contracts.PlanAgreedData) -> None:
        self.agreed = agreed
        self.period = agreed.period
        self.extensions: list[Extension] = []
        self.documented: dict[str, Any] = {}
        self.ended_on: date | None = None

    def record(self) -> PlanRecord:
        agreed = self.agreed
        return PlanRecord(
            plan_id=agreed.plan_id,
            drawn_up_on=agreed.agreed_on,
            duration=self.period,
            goals=agreed.goals,
            measures=agreed.measures,
            other_content=OtherPlanContent(
                kind=agreed.kind,
                job_seeking_obligation=agreed.job_seeking_obligation,
                extensions=tuple(self.extensions),
            ),
            makers=self.documented.get("makers"),
            review_planned_on=self.documented.get("review_planned_on"),
            sources=self.documented.get("sources"),
            ended_on=self.ended_on,
        )


def _given(model: BaseModel, *names: str) -> dict[str, Any]:
    """The fields of a documentation event that were given (null leaves them as they were)."""
    return {name: getattr(model, name) for name in names if getattr(model, name) is not None}


def client_record(
    client_id: UUID, history: Iterable[PublicEvent], identity: Identity | None, position: int
) -> ClientRecord | None:
    """The client's record, or None when the client is erased or not in the store."""
    municipality: str | None = None
    assessments: dict[UUID, _Assessment] = {}
    plans: dict[UUID, _Plan] = {}
    reviews: dict[tuple[UUID, date], dict[str, Any]] = {}
    changed_at: datetime | None = None
    in_store = False

    def assessment(assessment_id: UUID) -> _Assessment:
        return assessments.setdefault(assessment_id, _Assessment(assessment_id))

    for event in sorted(history, key=record_order):
        changed_at = event.recorded_at if changed_at is None else max(changed_at, event.recorded_at)
        data: Any = event.data
        match event:
            case contracts.ClientErased():
                return None
            case contracts.ClientRegistered():
                municipality = data.responsible_organisation
            case contracts.ResponsibilityAssigned():
                municipality = data.organisation
            case contracts.ResponsibilityTransferred():
                municipality = data.to_organisation
            case contracts.AssessmentStarted():
                found = assessment(data.assessment_id)
                found.started_on, found.interview = data.started_on, data.interview
                in_store |= data.started_on >= LAW_IN_FORCE
            case contracts.AssessmentFindingsRecorded():
                assessment(data.assessment_id).findings = data.findings
            case contracts.AssessmentCompleted():
                assessment(data.assessment_id).completed_on = data.completed_on
            case contracts.PlanNeedDecided():
                found = assessment(data.assessment_id)
                found.plan_needed, found.plan_need_reason = data.plan_needed, data.reason
            case contracts.ReferralMade():
                assessment(data.assessment_id).referrals[data.referral_id] = {
                    "referral_id": data.referral_id,
                    "service": data.service,
                    "referred_on": data.referred_on,
                    "outcome": None,
                }
            case contracts.ReferralOutcomeRecorded():
                referral = assessment(data.assessment_id).referrals.get(data.referral_id)
                if referral is not None:
                    referral["outcome"] = data.outcome
            case contracts.AssessmentDocumented():
                assessment(data.assessment_id).documented.update(
                    _given(data, "further_measures", "plan_planned_on", "makers", "sources")
                )
            case contracts.PlanAgreed():
                plans[data.plan_id] = _Plan(data)
                in_store |= data.agreed_on >= LAW_IN_FORCE
            case contracts.PlanExtended() if data.plan_id in plans:
                plans[data.plan_id].period = data.period
                # The record's ground is the one beyond the total; null: within it (v1's null,
                # ``within_total`` in PlanExtended v2).
                ground = data.ground if isinstance(data.ground, ExtensionGround) else None
                plans[data.plan_id].extensions.append(Extension(period=data.period, ground=ground))
            case contracts.PlanEnded() if data.plan_id in plans:
                plans[data.plan_id].ended_on = data.ended_on
            case contracts.PlanDocumented() if data.plan_id in plans:
                plans[data.plan_id].documented.update(
                    _given(data, "makers", "sources", "review_planned_on")
                )
            case contracts.PlanReviewed():
                content = data.content.model_dump(exclude_none=True) if data.content else {}
                reviews[(data.plan_id, data.reviewed_on)] = content
                in_store |= data.reviewed_on >= LAW_IN_FORCE
            case contracts.ReviewDocumented() if (data.plan_id, data.reviewed_on) in reviews:
                reviews[(data.plan_id, data.reviewed_on)].update(
                    data.content.model_dump(exclude_none=True)
                )
    if not in_store or identity is None or changed_at is None:
        return None
    reviewed_plans = {plan_id for plan_id, _ in reviews}
    return ClientRecord(
        schema_version=SCHEMA_VERSION,
        client_id=client_id,
        position=position,
        changed_at=changed_at,
        municipality=municipality,
        person=Person(
            identity_code=identity.identity_code,
            given_names=identity.given_names,
            family_name=identity.family_name,
            birth_date=identity.birth_date,
        ),
        assessments=tuple(
            found.record()
            for found in assessments.values()
            if found.started_on is not None and found.started_on >= LAW_IN_FORCE
        ),
        plans=tuple(
            plan.record()
            for plan in plans.values()
            if plan.agreed.agreed_on >= LAW_IN_FORCE or plan.agreed.plan_id in reviewed_plans
        ),
        reviews=tuple(
            ReviewRecord(
                plan_id=plan_id,
                reviewed_on=reviewed_on,
                **{**dict.fromkeys(ReviewContent.model_fields), **content},
            )
            for (plan_id, reviewed_on), content in sorted(reviews.items(), key=lambda kv: kv[0][1])
            if reviewed_on >= LAW_IN_FORCE
        ),
    )
