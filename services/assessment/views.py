"""What the staff API shows of an initial assessment."""

from __future__ import annotations

from datetime import date, datetime
from typing import TypeVar
from uuid import UUID

from pydantic import BaseModel, Field

from services.assessment.domain import InitialAssessment
from services.assessment.interview import Matter, Told
from services.assessment.model import (
    Findings,
    Interview,
    OpenedBy,
    ReferralOutcome,
    ReferralService,
)
from shared.contracts.records import FurtherMeasure, InformationSource, Maker
from shared.law.deadlines import Deadline
from shared.law.rulebook import RuleRef

T = TypeVar("T")


class CoveredView(BaseModel):
    code: str | None = None
    note: str | None = None
    note_unreadable: bool = Field(
        default=False, description="A note was recorded; the client's key is forgotten."
    )


class AssessmentView(BaseModel):
    assessment_id: UUID
    client_id: UUID
    version: int
    opened_by: OpenedBy
    group: str | None
    responsible_organisation: str
    deadline: Deadline
    started_on: date | None
    interview: Interview | None
    covered: dict[Matter, CoveredView] = Field(
        description="Government Decree 869/2024 §2(1) matters recorded with the interview."
    )
    told: list[Told] = Field(description="§2(3) matters the client was told.")
    still_to_cover: list[Matter] = Field(
        description="§2(1) matters neither recorded nor coded in the findings (from 2025)."
    )
    still_to_tell: list[Told] = Field(description="§2(3) matters not told yet (from 2025).")
    findings: Findings | None
    waived_on: date | None
    overdue_on: date | None
    completed_on: date | None
    plan_needed: bool | None
    referrals: dict[str, ReferralService]
    referral_outcomes: dict[str, ReferralOutcome]
    further_measures: list[FurtherMeasure] | None = Field(
        default=None, description="Decree 874/2024 §1(1) (Decree 869/2024 §3(1)); null: none yet."
    )
    plan_planned_on: date | None = Field(default=None, description="Decree 874/2024 §1(1).")
    makers: list[Maker] | None = Field(default=None, description="Decree 874/2024 §1(1).")
    sources: list[InformationSource] | None = Field(
        default=None, description="Decree 874/2024 §1(1)."
    )

    @classmethod
    def of(cls, assessment: InitialAssessment) -> AssessmentView:
        return cls(
            assessment_id=assessment.id,
            client_id=assessment.client_id,
            version=assessment.version,
            opened_by=assessment.opened_by,
            group=assessment.group,
            responsible_organisation=assessment.responsible_organisation,
            deadline=assessment.deadline,
            started_on=assessment.started_on,
            interview=assessment.interview,
            covered=_covered(assessment),
            told=[t for t in Told if t in assessment.told],
            still_to_cover=[m for m in Matter if m not in assessment.covered()]
            if assessment.under_decree
            else [],
            still_to_tell=[t for t in Told if t not in assessment.told]
            if assessment.under_decree
            else [],
            findings=assessment.findings,
            waived_on=assessment.waived_on,
            overdue_on=assessment.overdue_on,
            completed_on=assessment.completed_on,
            plan_needed=assessment.plan_needed,
            referrals=assessment.referrals,
            referral_outcomes=assessment.referral_outcomes,
            further_measures=_listed(assessment.further_measures),
            plan_planned_on=assessment.plan_planned_on,
            makers=_listed(assessment.makers),
            sources=_listed(assessment.sources),
        )


def _listed(values: tuple[T, ...] | None) -> list[T] | None:
    return None if values is None else list(values)


def _covered(assessment: InitialAssessment) -> dict[Matter, CoveredView]:
    covered = {m: CoveredView(code=c) for m, c in assessment.interview_codes.items()}
    for matter, note in assessment.interview_notes.items():
        covered[matter] = CoveredView(note=note, note_unreadable=note is None)
    return {m: covered[m] for m in Matter if m in covered}


class ResponsibilityView(BaseModel):
    organisation: str
    since: datetime
    legal_basis: list[RuleRef]
    deadline: Deadline = Field(description="The deadline, under the law it was computed by.")
