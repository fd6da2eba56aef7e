"""Value objects of the integration plan, shared by its events and their public contracts.
Goals are codes, not free text: a plan's prose about a person stays out of events."""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.contracts.assessment import Cefr


class PlanKind(StrEnum):
    PERSON = "person"
    FAMILY = "family"
    MINOR = "minor"


class Goal(StrEnum):
    EMPLOYMENT = "employment"
    EDUCATION = "education"
    LANGUAGE = "language"
    EVERYDAY_LIFE = "everyday_life"
    FAMILY_AND_CHILDREN = "family_and_children"


class MeasureKind(StrEnum):
    FINNISH_STUDY = "finnish_study"
    SWEDISH_STUDY = "swedish_study"
    INTEGRATION_TRAINING = "integration_training"
    CIVIC_ORIENTATION = "civic_orientation"
    LITERACY = "literacy"
    MOTHER_TONGUE_TEACHING = "mother_tongue_teaching"
    JOB_SEARCH = "job_search"
    OTHER = "other"


class Measure(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: MeasureKind
    target_level: Cefr | None = Field(default=None, description="For language study.")
    provider: str | None = Field(default=None, max_length=200)


class PlanPeriod(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    starts_on: date
    ends_on: date

    @model_validator(mode="after")
    def _ordered(self) -> PlanPeriod:
        if self.ends_on <= self.starts_on:
            raise ValueError("ends_on must be after starts_on")
        return self


class ExtensionGround(StrEnum):
    """What the law allows a plan's total to be extended for."""

    # 1386/2010 §12(4); 681/2023 §23(3): special measures (new law: on a low educational
    # background or a need for multi-agency services).
    SPECIAL_MEASURES = "special_measures"
    # 681/2023 §23(3): the total ran out while the client received child home care allowance.
    HOME_CARE_ALLOWANCE = "home_care_allowance"
    # 1386/2010 §12(4); 681/2023 §23(4): disability, illness, pregnancy or parental allowance
    # days, or a comparable reason: the time lost is added.
    TEMPORARY_OBSTACLE = "temporary_obstacle"
    # 681/2023 §31(1): a client under 25 finishing self-study supported by unemployment benefit.
    SELF_STUDY_UNDER_25 = "self_study_under_25"


class PlanEndReason(StrEnum):
    GOALS_MET = "goals_met"
    MAXIMUM_REACHED = "maximum_reached"
    MOVED_AWAY = "moved_away"
    EMPLOYMENT_PLAN_INSTEAD = "employment_plan_instead"
    WITHDRAWN = "withdrawn"
