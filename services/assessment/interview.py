"""What the initial interview must cover and tell: Government Decree 869/2024 (in force from
1 Jan 2025, §5). The Finnish labels are the decree's own words."""

from __future__ import annotations

from collections.abc import Collection
from datetime import date
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.config import JsonDict

from shared import i18n
from shared.contracts.assessment import Cefr, EducationLevel, Interview, Literacy
from shared.errors import DomainError, InvalidValueError

IN_FORCE = date(2025, 1, 1)  # §5: "tulee voimaan 1 päivänä tammikuuta 2025"


def under_decree(period_starts_on: date) -> bool:
    """The decree binds assessments whose period starts on or after its day in force."""
    return period_starts_on >= IN_FORCE


class Matter(StrEnum):
    """§2(1): what the interview finds out at least."""

    LITERACY = "literacy"
    FINNISH_SWEDISH = "finnish_swedish"
    STUDY_AND_WORK_SKILLS = "study_and_work_skills"
    EMPLOYMENT_EDUCATION_NEEDS = "employment_education_needs"
    EDUCATION_AND_WORK_HISTORY = "education_and_work_history"
    SPECIAL_SKILLS = "special_skills"
    PLAN_NEED = "plan_need"
    LIFE_SITUATION = "life_situation"
    OTHER_SERVICE_NEEDS = "other_service_needs"


class Told(StrEnum):
    """§2(3): what the client is told at least."""

    SERVICE_GOALS = "service_goals"
    PLAN_AND_PROCESS = "plan_and_process"
    PLAN_OBLIGATIONS = "plan_obligations"
    PERSONAL_DATA = "personal_data"


MATTER_LABELS: dict[Matter, dict[str, str]] = {
    Matter.LITERACY: {
        "fi": "luku- ja kirjoitustaito",
        "sv": "läs- och skrivkunnighet",
        "en": "literacy",
    },
    Matter.FINNISH_SWEDISH: {
        "fi": "suomen ja ruotsin kielen taito",
        "sv": "kunskaper i finska och svenska",
        "en": "Finnish and Swedish skills",
    },
    Matter.STUDY_AND_WORK_SKILLS: {
        "fi": "opiskelutaidot ja -valmiudet sekä työelämätaidot ja -valmiudet",
        "sv": "studiefärdigheter och studieberedskap samt arbetslivsfärdigheter och -beredskap",
        "en": "study skills and readiness, working-life skills and readiness",
    },
    Matter.EMPLOYMENT_EDUCATION_NEEDS: {
        "fi": "työllisyys- ja koulutuspalveluiden tarpeet sekä niitä koskevat tavoitteet",
        "sv": "behov av sysselsättnings- och utbildningstjänster samt mål för dem",
        "en": "needs for employment and education services, and goals for them",
    },
    Matter.EDUCATION_AND_WORK_HISTORY: {
        "fi": "aikaisempi koulutus ja työkokemus",
        "sv": "tidigare utbildning och arbetserfarenhet",
        "en": "previous education and work experience",
    },
    Matter.SPECIAL_SKILLS: {
        "fi": "erityistaitoihin liittyvä osaaminen ja muut vahvuudet",
        "sv": "kunnande som gäller specialfärdigheter och andra styrkor",
        "en": "special skills and other strengths",
    },
    Matter.PLAN_NEED: {
        "fi": "kotoutumissuunnitelman tarve",
        "sv": "behov av integrationsplan",
        "en": "need for an integration plan",
    },
    Matter.LIFE_SITUATION: {
        "fi": "muu elämäntilanne ja siitä johtuvat palvelutarpeet",
        "sv": "övrig livssituation och servicebehov till följd av den",
        "en": "other life situation and the service needs it brings",
    },
    Matter.OTHER_SERVICE_NEEDS: {
        "fi": "muut kotoutumista edistävien palveluiden tarpeet ja tavoitteet",
        "sv": "andra behov av och mål för integrationsfrämjande tjänster",
        "en": "other needs for and goals of integration services",
    },
}

TOLD_LABELS: dict[Told, dict[str, str]] = {
    Told.SERVICE_GOALS: {
        "fi": "kotoutumista edistävien palveluiden tavoitteet",
        "sv": "målen för integrationsfrämjande tjänster",
        "en": "the goals of integration services",
    },
    Told.PLAN_AND_PROCESS: {
        "fi": "kotoutumissuunnitelman laadinta ja palveluprosessi",
        "sv": "utarbetandet av integrationsplanen och serviceprocessen",
        "en": "how the integration plan is made, and the service process",
    },
    Told.PLAN_OBLIGATIONS: {
        "fi": "kotoutumissuunnitelman velvoittavuus sekä siihen liittyvät maahanmuuttajan "
        "oikeudet ja velvollisuudet",
        "sv": "integrationsplanens förpliktande verkan samt invandrarens rättigheter och "
        "skyldigheter i anslutning till den",
        "en": "that the plan binds, and the client's rights and duties under it",
    },
    Told.PERSONAL_DATA: {
        "fi": "hänen henkilötietojensa käsittely",
        "sv": "behandlingen av hans eller hennes personuppgifter",
        "en": "how their personal data is processed",
    },
}

# Matters with a code of their own; the rest are recorded as a note (sealed, personal data).
MATTER_CODES: dict[Matter, frozenset[str]] = {
    Matter.LITERACY: frozenset(level.value for level in Literacy),
    Matter.FINNISH_SWEDISH: frozenset({"none", *(level.value for level in Cefr)}),
    Matter.EDUCATION_AND_WORK_HISTORY: frozenset(level.value for level in EducationLevel),
    Matter.PLAN_NEED: frozenset({"needed", "not_needed"}),
}


def _given(name: str) -> JsonDict:
    """JSON Schema: ``name`` is there and not null."""
    return {"required": [name], "properties": {name: {"type": "string"}}}


_NOTE: JsonDict = {
    "anyOf": [{"type": "string", "minLength": 1, "maxLength": 4000}, {"type": "null"}]
}


def _coverage_schema(matter: Matter) -> JsonDict:
    """The ``Coverage`` a matter takes, in the schema: one of its codes or a note, or a note
    only where it has no codes (the validators below, said where a schema says it)."""
    codes = MATTER_CODES.get(matter)
    if codes is None:
        return {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "code": {"type": "null"},
                "note": {"type": "string", "minLength": 1, "maxLength": 4000},
            },
            "required": ["note"],
        }
    return {
        "type": "object",
        "additionalProperties": False,
        "properties": {"code": {"enum": [*sorted(codes), None]}, "note": _NOTE},
        "oneOf": [_given("code"), _given("note")],
    }


class Coverage(BaseModel):
    """How one matter was covered: a code where the matter has codes, else a note."""

    model_config = ConfigDict(
        frozen=True, extra="forbid", json_schema_extra={"oneOf": [_given("code"), _given("note")]}
    )

    code: str | None = Field(default=None, max_length=40, examples=["literate_latin"])
    note: str | None = Field(
        default=None,
        min_length=1,
        max_length=4000,
        description="Free text: personal data, sealed with the client's key.",
    )

    @model_validator(mode="after")
    def _one_of(self) -> Coverage:
        if (self.code is None) == (self.note is None):
            raise InvalidValueError("code_or_note")
        return self


class InterviewContent(BaseModel):
    """The §2(1) matters covered and the §2(3) matters told, as recorded by staff."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    covered: dict[Matter, Coverage] = Field(
        default_factory=dict,
        description="Each matter of Government Decree 869/2024 §2(1) covered, with a code "
        "(literacy, finnish_swedish, education_and_work_history, plan_need) or a note.",
        json_schema_extra=lambda schema: schema.update(
            propertyNames={"enum": [matter.value for matter in Matter]},
            properties={matter.value: _coverage_schema(matter) for matter in Matter},
            additionalProperties=False,
        ),
    )
    told: tuple[Told, ...] = Field(
        default=(), description="The matters of §2(3) the client was told.", max_length=4
    )

    @model_validator(mode="after")
    def _known_codes(self) -> InterviewContent:
        for matter, coverage in self.covered.items():
            if coverage.code is None:
                continue
            codes = MATTER_CODES.get(matter)
            if codes is None:
                raise InvalidValueError("matter_without_codes", at=f"/covered/{matter.value}/code")
            if coverage.code not in codes:
                raise InvalidValueError(
                    "matter_code_unknown",
                    at=f"/covered/{matter.value}/code",
                    codes=", ".join(sorted(codes)),
                )
        return self

    @property
    def codes(self) -> dict[Matter, str]:
        return {m: c.code for m, c in self.covered.items() if c.code is not None}

    @property
    def notes(self) -> dict[Matter, str]:
        return {m: c.note for m, c in self.covered.items() if c.note is not None}


class InterviewIncompleteError(DomainError):
    """Names, in each language, what the decree asks that the interview has not done yet."""

    code = "interview_incomplete"

    def __init__(
        self, matters: Collection[Matter], told: Collection[Told], language_unstated: bool
    ) -> None:
        self.matters = tuple(matters)
        self.told = tuple(told)
        self.language_unstated = language_unstated
        super().__init__()

    def text(self, language: str = "en") -> str:
        parts = []
        if self.matters:
            names = ", ".join(_named(m, MATTER_LABELS[m], language) for m in self.matters)
            parts.append(i18n.text(f"{self.code}.not_covered", language, names=names))
        if self.told:
            names = ", ".join(_named(t, TOLD_LABELS[t], language) for t in self.told)
            parts.append(i18n.text(f"{self.code}.not_told", language, names=names))
        if self.language_unstated:
            parts.append(i18n.text(f"{self.code}.language_unstated", language))
        return f"{super().text(language)} ({'; '.join(parts)})"


def _named(value: StrEnum, labels: dict[str, str], language: str) -> str:
    # The code names it for everyone; the words of the decree for Finnish and Swedish readers.
    return value.value if language == "en" else f"{value.value} ({labels[language]})"


class LanguageNotUnderstoodError(DomainError):
    """§4(1): its texts cite it."""

    code = "interview_language_not_understood"


def check_language(interview: Interview) -> None:
    """§4(1): a client who does not understand the interview's language needs a (professional)
    interpreter into another language, theirs."""
    if interview.client_understands_language is not False:
        return
    interpreter = interview.interpreter
    if interpreter is None or interpreter.language == interview.language:
        raise LanguageNotUnderstoodError()
