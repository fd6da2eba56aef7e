"""What the national integration data store asks of each record (Decree 874/2024): who made
it and how to reach them, where its information came from, and the structured content of a
plan's review. Codes, not prose: a record's text about a person stays out of events (as with
the assessment's findings), so the events can travel and the read side can export them."""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, EmailStr, Field, model_validator

from shared.contracts.assessment import LanguageSkill
from shared.contracts.plans import Goal, MeasureKind


class InformationSource(StrEnum):
    """Where a record's information came from (874/2024 §1(1), §2(1), §3(2): "tieto siitä,
    mistä ... tiedot on saatu"; 681/2023 §73(1): data not from the person marks its source)."""

    CLIENT = "client"
    DVV = "dvv"  # the population register (Digital and Population Data Services Agency)
    MIGRI = "migri"
    KELA = "kela"
    EMPLOYMENT_AUTHORITY = "employment_authority"
    TE_OFFICE = "te_office"  # records imported from the TE office of before 2025
    WELLBEING_SERVICES_COUNTY = "wellbeing_services_county"
    RECEPTION_CENTRE = "reception_centre"
    PREVIOUS_MUNICIPALITY = "previous_municipality"
    EDUCATION_PROVIDER = "education_provider"
    SERVICE_PROVIDER = "service_provider"
    OTHER_AUTHORITY = "other_authority"


class Maker(BaseModel):
    """One who made the record, with the contact details the decree asks for ("laatijoiden
    yhteystiedot"). Staff's work contacts, not the client's data: they stay when a client is
    erased, as the actor of every event does."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1, max_length=200, examples=["Maria Korhonen"])
    title: str | None = Field(default=None, min_length=1, max_length=200)
    organisation: str = Field(
        min_length=1, max_length=200, examples=["municipality:320"], description="Organisation id."
    )
    email: EmailStr | None = None
    phone: str | None = Field(default=None, pattern=r"^\+?[0-9 ()-]{5,20}$")

    @model_validator(mode="after")
    def _reachable(self) -> Maker:
        if not (self.email or self.phone):
            raise ValueError("a maker needs an email or a phone number")
        return self


class FurtherMeasure(StrEnum):
    """The further measures an assessment may include (Decree 869/2024 §3(1) 1–6)."""

    RECOGNITION_OF_SKILLS = "recognition_of_skills"  # 1) osaamisen tunnistaminen
    LITERACY = "literacy"  # 2) luku- ja kirjoitustaidon tarkempi selvittäminen
    LANGUAGE_SKILLS = "language_skills"  # 3) suomen tai ruotsin kielen taidon ...
    STUDY_SKILLS = "study_skills"  # 4) opiskelutaitojen ja -valmiuksien selvittäminen
    EMPLOYMENT_OPTIONS = "employment_options"  # 5) työllistymisvaihtoehtojen selvittäminen
    SERVICE_NEEDS = "service_needs"  # 6) palvelutarpeiden tarkempi selvittäminen


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
    period_ends_on: date | None = Field(default=None, description="A new end of the plan.")


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
    next_review_planned_on: date | None = None
    makers: tuple[Maker, ...] | None = None
    sources: tuple[InformationSource, ...] | None = None
