"""The initial assessment's public contracts: its value objects and the events assessment
publishes."""

from __future__ import annotations

from enum import StrEnum
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from shared.contracts.envelope import EventData, PublicEvent
from shared.contracts.records import InformationSource, Maker
from shared.iso_text import Day
from shared.languages import LanguageCode
from shared.law.deadlines import Deadline


class InterpreterKind(StrEnum):
    PROFESSIONAL = "professional"
    FAMILY_MEMBER = "family_member"
    CHILD = "child"
    FRIEND = "friend"


class Interpreter(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: InterpreterKind
    language: LanguageCode


class Interview(BaseModel):
    """The initial interview: by a public official, in a language the client understands."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    interviewer: str = Field(min_length=1, max_length=200, examples=["official:maria.korhonen"])
    interviewer_is_official: bool
    language: LanguageCode
    interpreter: Interpreter | None = None
    client_understands_language: bool | None = Field(
        default=None,
        description="The interviewer's statement that `language` is the client's mother tongue "
        "or one they understand well enough (Government Decree 869/2024 §4(1)); false needs a "
        "professional interpreter into another language, the client's. Null: not stated.",
    )


class Cefr(StrEnum):
    """CEFR with the Finnish sub-levels (Finnish National Agency for Education scale)."""

    A1_1 = "A1.1"
    A1_2 = "A1.2"
    A1_3 = "A1.3"
    A2_1 = "A2.1"
    A2_2 = "A2.2"
    B1_1 = "B1.1"
    B1_2 = "B1.2"
    B2_1 = "B2.1"
    B2_2 = "B2.2"
    C1_1 = "C1.1"
    C1_2 = "C1.2"
    C2 = "C2"


class LanguageSkill(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    language: LanguageCode = Field(description="fi or sv")
    speaking: Cefr | None = None
    listening: Cefr | None = None
    reading: Cefr | None = None
    writing: Cefr | None = None


class Literacy(StrEnum):
    NOT_LITERATE = "not_literate"
    LITERATE_NON_LATIN = "literate_non_latin"
    LITERATE_LATIN = "literate_latin"


class EducationLevel(StrEnum):
    NONE = "none"
    PRIMARY = "primary"
    SECONDARY = "secondary"
    VOCATIONAL = "vocational"
    HIGHER = "higher"


class Findings(BaseModel):
    """What the assessment found that counts for the programme's follow-up (no free text: notes
    about life situation or health are special-category data and stay out of events)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    literacy: Literacy | None = None
    education: EducationLevel | None = None
    years_of_work_experience: int | None = Field(default=None, ge=0, le=80)
    language_skills: tuple[LanguageSkill, ...] = ()
    service_needs: tuple[str, ...] = Field(default=(), max_length=20)


class ReferralService(StrEnum):
    EARLY_CHILDHOOD_EDUCATION = "early_childhood_education"
    BASIC_EDUCATION = "basic_education"
    UPPER_SECONDARY_EDUCATION = "upper_secondary_education"
    ADULT_EDUCATION_INSTITUTE = "adult_education_institute"
    EMPLOYMENT_SERVICES = "employment_services"
    KELA = "kela"
    WELLBEING_COUNTY = "wellbeing_county"
    PARISH = "parish"
    SAURA_FOUNDATION = "saura_foundation"
    ASSOCIATION = "association"
    LIBRARY = "library"
    YOUTH_SERVICES = "youth_services"
    SPORTS_SERVICES = "sports_services"
    HOUSING = "housing"


class ReferralOutcome(StrEnum):
    ACCEPTED = "accepted"
    STARTED = "started"
    COMPLETED = "completed"
    DECLINED = "declined"
    NO_SHOW = "no_show"


class OpenedBy(StrEnum):
    GROUP = "group"  # the law assigns the client's group an assessment
    REQUEST = "request"  # the client asked
    CONTACT_NOTICE = "contact_notice"  # another authority's contact notice (681/2023 §9)


class FurtherMeasure(StrEnum):
    """The further measures an assessment may include (Decree 869/2024 §3(1) 1–6)."""

    RECOGNITION_OF_SKILLS = "recognition_of_skills"  # 1) osaamisen tunnistaminen
    LITERACY = "literacy"  # 2) luku- ja kirjoitustaidon tarkempi selvittäminen
    LANGUAGE_SKILLS = "language_skills"  # 3) suomen tai ruotsin kielen taidon ...
    STUDY_SKILLS = "study_skills"  # 4) opiskelutaitojen ja -valmiuksien selvittäminen
    EMPLOYMENT_OPTIONS = "employment_options"  # 5) työllistymisvaihtoehtojen selvittäminen
    SERVICE_NEEDS = "service_needs"  # 6) palvelutarpeiden tarkempi selvittäminen


# --- events ---


class AssessmentDueData(EventData):
    client_id: UUID
    assessment_id: UUID
    opened_by: OpenedBy
    group: str | None = Field(description="The client's group, when the law assigned it.")
    deadline: Deadline
    responsible_organisation: str


class AssessmentDue(PublicEvent):
    """An initial assessment must start by `deadline.due`, by the law of the relationship start."""

    data: AssessmentDueData


class AssessmentStartedData(EventData):
    client_id: UUID
    assessment_id: UUID
    started_on: Day
    interview: Interview


class AssessmentStarted(PublicEvent):
    """The initial assessment started (first meeting held)."""

    data: AssessmentStartedData


class AssessmentWaivedData(EventData):
    client_id: UUID
    assessment_id: UUID
    waived_on: Day
    reason: str


class AssessmentWaived(PublicEvent):
    """No assessment, with the reason and its ground (`legal_basis`): from 2025 only Act 681/2023
    §14(5), an unaccompanied minor whose needs another client plan meets; before, the
    municipality's practice for an obviously unnecessary one (not the act's words)."""

    data: AssessmentWaivedData


class AssessmentOverdueData(EventData):
    client_id: UUID
    assessment_id: UUID
    overdue_on: Day = Field(description="The first day after the due day.")


class AssessmentOverdue(PublicEvent):
    """The assessment did not start by its due day (recorded once, by the service's own timer)."""

    data: AssessmentOverdueData


class AssessmentFindingsRecordedData(EventData):
    client_id: UUID
    assessment_id: UUID
    findings: Findings


class AssessmentFindingsRecorded(PublicEvent):
    """Literacy, education, work experience and Finnish/Swedish skills per skill (CEFR)."""

    data: AssessmentFindingsRecordedData


class ReferralMadeData(EventData):
    client_id: UUID
    assessment_id: UUID
    referral_id: str
    service: ReferralService
    referred_on: Day


class ReferralMade(PublicEvent):
    """The client was referred to a municipal service or a partner."""

    data: ReferralMadeData


class ReferralOutcomeRecordedData(EventData):
    client_id: UUID
    assessment_id: UUID
    referral_id: str
    service: ReferralService
    outcome: ReferralOutcome
    on: Day


class ReferralOutcomeRecorded(PublicEvent):
    """What became of a referral."""

    data: ReferralOutcomeRecordedData


class AssessmentCompletedData(EventData):
    client_id: UUID
    assessment_id: UUID
    completed_on: Day


class AssessmentCompleted(PublicEvent):
    """The initial assessment was completed."""

    data: AssessmentCompletedData


class AssessmentDocumentedData(EventData):
    client_id: UUID
    assessment_id: UUID
    further_measures: tuple[FurtherMeasure, ...] | None = Field(
        default=None, description="874/2024 §1(1); Decree 869/2024 §3(1). Empty: none."
    )
    plan_planned_on: Day | None = Field(
        default=None,
        description='874/2024 §1(1) "suunniteltu kotoutumissuunnitelman laadinta-ajankohta".',
    )
    makers: tuple[Maker, ...] | None = Field(default=None, description="874/2024 §1(1).")
    sources: tuple[InformationSource, ...] | None = Field(
        default=None, description="874/2024 §1(1)."
    )


class AssessmentDocumented(PublicEvent):
    """What the national data store needs of an assessment beyond its events (Decree 874/2024
    §1): each field given replaces the one recorded before; null leaves it as it was."""

    data: AssessmentDocumentedData


class PlanNeedDecidedData(EventData):
    client_id: UUID
    assessment_id: UUID
    decided_on: Day
    plan_needed: bool
    reason: str
    responsible_organisation: str


class PlanNeedDecided(PublicEvent):
    """The assessment decided whether the client needs an integration plan, and why."""

    data: PlanNeedDecidedData


# --- retention (shared/retention) ---


class AssessmentFindingsExpiredData(EventData):
    client_id: UUID
    retention_class: str = Field(description="assessment_findings (shared/retention).")
    rule: str = Field(description="The class's period, clock and the source of the period.")
    expired_on: Day = Field(description="The business day it went.")


class AssessmentFindingsExpired(PublicEvent):
    """The interview notes' retention class ran out: their key was destroyed, so the notes
    read as null everywhere; which matters had a note, and the rest of the case, stay."""

    data: AssessmentFindingsExpiredData
