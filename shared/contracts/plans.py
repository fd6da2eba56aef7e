"""The integration plan's public contracts: its value objects (with what a review records for
the national data store, Decree 874/2024 §3(2)) and the events plans publishes. Goals are codes,
not free text: a plan's prose about a person stays out of events.

Over ~350 lines on purpose: one producer's contracts, its events beside the value objects they
carry, so that a consumer of plans reads them in one place."""

from __future__ import annotations

from enum import StrEnum
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.contracts.assessment import Cefr, LanguageSkill
from shared.contracts.envelope import EventData, PublicEvent
from shared.contracts.records import InformationSource, Maker
from shared.errors import InvalidValueError
from shared.iso_text import Day
from shared.law.deadlines import Deadline


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

    starts_on: Day
    ends_on: Day

    @model_validator(mode="after")
    def _ordered(self) -> PlanPeriod:
        if self.ends_on <= self.starts_on:
            raise InvalidValueError("period_ends_before_start", at="/ends_on")
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


# --- what a review records (Decree 874/2024 §3(2)) ---


class ParticipationStatus(StrEnum):
    NOT_STARTED = "not_started"
    PARTICIPATING = "participating"
    COMPLETED = "completed"
    INTERRUPTED = "interrupted"
    DECLINED = "declined"


class Participation(BaseModel):
    """The client's participation in one of the plan's services or measures (874/2024 §3(2))."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    service: MeasureKind
    status: ParticipationStatus


class Progress(StrEnum):
    NOT_STARTED = "not_started"
    NO_PROGRESS = "no_progress"
    PROGRESSING = "progressing"
    ACHIEVED = "achieved"


class GoalProgress(BaseModel):
    """Progress towards one of the plan's goals (874/2024 §3(2) "edistyminen")."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    goal: Goal
    progress: Progress


class Outcome(StrEnum):
    EMPLOYED = "employed"
    IN_EDUCATION = "in_education"
    LANGUAGE_COURSE_COMPLETED = "language_course_completed"
    CIVIC_ORIENTATION_COMPLETED = "civic_orientation_completed"
    NONE_YET = "none_yet"


class Results(BaseModel):
    """What the plan has achieved so far (874/2024 §3(2) "tulokset")."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    outcomes: tuple[Outcome, ...] = Field(min_length=1)
    language_skills: tuple[LanguageSkill, ...] = Field(
        default=(), description="Finnish/Swedish levels reached (CEFR), where tested."
    )


class Hindrance(StrEnum):
    """What hindered or slowed participation (874/2024 §3(2) "osallistumista vaikeuttavat tai
    hidastavat tekijät"). ``none`` records that nothing did."""

    NONE = "none"
    HEALTH = "health"
    CHILDCARE = "childcare"
    HOUSING = "housing"
    TRANSPORT = "transport"
    WORK = "work"
    NO_SUITABLE_SERVICE = "no_suitable_service"
    WAITING_FOR_SERVICE = "waiting_for_service"
    OTHER = "other"


class PlanChanges(BaseModel):
    """Changes the review made to the plan (874/2024 §3(2) "suunnitelmaan tehtävät
    muutokset"); all empty records that it made none."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    goals_added: tuple[Goal, ...] = ()
    goals_removed: tuple[Goal, ...] = ()
    measures_added: tuple[MeasureKind, ...] = ()
    measures_removed: tuple[MeasureKind, ...] = ()
    period_ends_on: Day | None = Field(default=None, description="A new end of the plan.")


class ReviewContent(BaseModel):
    """What a review records beyond its date (874/2024 §3(2)). Every field is optional so a
    review can be recorded at once and its record completed later; the completeness report
    names what is still missing."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    participation: tuple[Participation, ...] | None = None
    progress: tuple[GoalProgress, ...] | None = None
    results: Results | None = None
    hindrances: tuple[Hindrance, ...] | None = None
    changes: PlanChanges | None = None
    next_review_planned_on: Day | None = None
    makers: tuple[Maker, ...] | None = None
    sources: tuple[InformationSource, ...] | None = None


# --- events ---


class PlanPreparationDueData(EventData):
    client_id: UUID
    plan_id: UUID
    assessment_id: UUID
    deadline: Deadline
    responsible_organisation: str


class PlanPreparationDue(PublicEvent):
    """Preparation of the integration plan must start by `deadline.due`."""

    data: PlanPreparationDueData


class PlanDraftedData(EventData):
    client_id: UUID
    plan_id: UUID
    drafted_on: Day


class PlanDrafted(PublicEvent):
    """Preparation of the integration plan started."""

    data: PlanDraftedData


class PlanAgreedData(EventData):
    client_id: UUID
    plan_id: UUID
    agreed_on: Day
    period: PlanPeriod
    kind: PlanKind
    goals: tuple[Goal, ...]
    measures: tuple[Measure, ...]
    job_seeking_obligation: bool


class PlanAgreed(PublicEvent):
    """The integration plan was agreed with the client, within the law of its date."""

    data: PlanAgreedData


class PlanDocumentedData(EventData):
    client_id: UUID
    plan_id: UUID
    makers: tuple[Maker, ...] | None = Field(default=None, description="874/2024 §2(1).")
    sources: tuple[InformationSource, ...] | None = Field(
        default=None, description="874/2024 §2(1)."
    )
    review_planned_on: Day | None = Field(
        default=None,
        description='874/2024 §2(1) "suunniteltu suunnitelman tarkistamisen ajankohta".',
    )


class PlanDocumented(PublicEvent):
    """What the national data store needs of a plan beyond its events (Decree 874/2024 §2):
    each field given replaces the one recorded before; null leaves it as it was."""

    data: PlanDocumentedData


class PlanDeadlineData(EventData):
    client_id: UUID
    plan_id: UUID
    deadline: Deadline


class EnrolmentDue(PublicEvent):
    """The client must be enrolled in a service by ``deadline.due``."""

    data: PlanDeadlineData


class ReviewDue(PublicEvent):
    """The plan must be reviewed by ``deadline.due``."""

    data: PlanDeadlineData


class EnrolmentOverdue(PublicEvent):
    """The client was not enrolled in a service by ``deadline.due`` (recorded once)."""

    data: PlanDeadlineData


class ReviewOverdue(PublicEvent):
    """The plan was not reviewed by ``deadline.due`` (recorded once per review)."""

    data: PlanDeadlineData


class PlanEnrolledData(EventData):
    client_id: UUID
    plan_id: UUID
    enrolled_on: Day
    service: MeasureKind


class PlanEnrolled(PublicEvent):
    """The client was enrolled in a service of the plan."""

    data: PlanEnrolledData


class PlanReviewedData(EventData):
    client_id: UUID
    plan_id: UUID
    reviewed_on: Day
    review_due_met: Deadline
    content: ReviewContent | None = Field(
        default=None, description="What the review recorded (Decree 874/2024 §3(2))."
    )


class PlanReviewed(PublicEvent):
    """The plan was reviewed (the next review is announced by a new ReviewDue)."""

    data: PlanReviewedData


class ReviewDocumentedData(EventData):
    client_id: UUID
    plan_id: UUID
    reviewed_on: Day = Field(description="The review it completes.")
    content: ReviewContent = Field(
        description="Each field given replaces the one recorded; null leaves it as it was."
    )


class ReviewDocumented(PublicEvent):
    """A review's record completed after the review (Decree 874/2024 §3(2))."""

    data: ReviewDocumentedData


WITHIN_TOTAL: Literal["within_total"] = "within_total"
"""An extension within the total the law of the plan's date allows (681/2023 §23(2); 1386/2010
§12(3)): no ground beyond it needed."""

ExtensionBasis = ExtensionGround | Literal["within_total"]
"""What an extension stands on: within the law's total, or a ground that goes beyond it."""


class PlanExtendedData(EventData):
    client_id: UUID
    plan_id: UUID
    period: PlanPeriod
    reason: str
    ground: ExtensionBasis = Field(
        description="What the extension stands on: `within_total` (681/2023 §23(2) "
        '"yhteenlaskettu enimmäiskesto"; 1386/2010 §12(3)), or the ground that lets it go '
        "beyond that total (681/2023 §23(3), §23(4), §31(1); 1386/2010 §12(4))."
    )


class PlanExtendedV1Data(EventData):
    client_id: UUID
    plan_id: UUID
    period: PlanPeriod
    reason: str
    # The lawful ground beyond the base total (absent: within it, or recorded before grounds).
    ground: ExtensionGround | None = None


class PlanExtendedV1(PublicEvent):
    """Schema version 1 of PlanExtended, no longer published and still read: `ground` null
    was an extension within the law's total (before grounds were recorded, every extension
    was), which version 2 says as `within_total`."""

    EVENT_TYPE = "PlanExtended"
    SCHEMA_VERSION = 1

    data: PlanExtendedV1Data

    def upcast(self) -> PlanExtended:
        data = {**dict(self.data), "ground": self.data.ground or WITHIN_TOTAL}
        return PlanExtended.model_validate(
            {
                **dict(self),
                "schema_version": PlanExtended.SCHEMA_VERSION,
                "data": PlanExtendedData.model_validate(data),
            }
        )


class PlanExtended(PublicEvent):
    """The plan runs longer, within the law's total or on a ground that goes beyond it.
    Version 2: `ground` always says which, as the plan's length goes to the national data store
    (Decree 874/2024 §2(1) "laatimispäivämäärä ja kesto") with what the law allowed it on;
    version 1 (null: within the total) is still read."""

    SCHEMA_VERSION = 2
    EARLIER = (PlanExtendedV1,)

    data: PlanExtendedData


class PlanEndedData(EventData):
    client_id: UUID
    plan_id: UUID
    ended_on: Day
    reason: PlanEndReason


class PlanEnded(PublicEvent):
    """The plan ended, with the reason."""

    data: PlanEndedData
