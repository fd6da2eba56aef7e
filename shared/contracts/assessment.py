"""Value objects of the initial assessment, shared by its events and their public contracts."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from shared.languages import LanguageCode


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
