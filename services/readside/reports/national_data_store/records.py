"""The national data store's record of one client (Decree 874/2024), every field named after
the decree item it fills; its JSON Schema is docs/national-data-store.schema.json."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from shared.contracts.assessment import Findings, Interview, ReferralOutcome, ReferralService
from shared.contracts.plans import ExtensionGround, Goal, Measure, PlanKind, PlanPeriod
from shared.contracts.records import (
    FurtherMeasure,
    GoalProgress,
    Hindrance,
    InformationSource,
    Maker,
    Participation,
    PlanChanges,
    Results,
)

SCHEMA_VERSION = 1
SCHEMA_ID = "https://kotoutus.fi/schemas/national-data-store/v1.json"
LAW_IN_FORCE = date(2025, 1, 1)  # Act 681/2023 §103(1)


def item(section: str, finnish: str, english: str) -> Any:
    """A field's decree item: its section and words, in the schema for a reader to check."""
    return Field(
        description=f'{english} (Decree 874/2024 {section}: "{finnish}").',
        json_schema_extra={"x-decree": f"874/2024 {section}", "x-item": finnish},
    )


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Person(_Record):
    identity_code: str | None = Field(
        description='Act 681/2023 §73(1)(1) "henkilötunnus"; null when not known.',
        json_schema_extra={"x-decree": "681/2023 §73(1)(1)", "x-item": "henkilötunnus"},
    )
    given_names: str | None = Field(
        description='Act 681/2023 §73(1)(2) "nimi".',
        json_schema_extra={"x-decree": "681/2023 §73(1)(2)", "x-item": "nimi"},
    )
    family_name: str | None = Field(
        description='Act 681/2023 §73(1)(2) "nimi".',
        json_schema_extra={"x-decree": "681/2023 §73(1)(2)", "x-item": "nimi"},
    )
    birth_date: date | None = Field(description="Known from the identity code or the registry.")


class Referral(_Record):
    referral_id: str
    service: ReferralService
    referred_on: date
    outcome: ReferralOutcome | None


class AssessmentContent(_Record):
    started_on: date | None = Field(description="The initial interview (Decree 869/2024 §2).")
    interview: Interview | None
    findings: Findings | None
    plan_needed: bool | None
    plan_need_reason: str | None


class AssessmentRecord(_Record):
    """An assessment of competence and integration service needs (Act 681/2023 §14)."""

    assessment_id: UUID
    drawn_up_on: date | None = item(
        "§1(1)", "laatimispäivämäärä", "The day the assessment was completed"
    )
    content: AssessmentContent = item("§1(1)", "sisältö", "What the assessment found and decided")
    further_measures: tuple[FurtherMeasure, ...] | None = item(
        "§1(1)",
        "mahdolliset tarkentavat toimenpiteet",
        "Further measures (Decree 869/2024 §3(1)); empty: none",
    )
    plan_planned_on: date | None = item(
        "§1(1)",
        "suunniteltu kotoutumissuunnitelman laadinta-ajankohta",
        "When the integration plan is planned to be drawn up",
    )
    referrals: tuple[Referral, ...] = item(
        "§1(1)", "muu palveluihin ohjaus", "Other referrals to services"
    )
    makers: tuple[Maker, ...] | None = item(
        "§1(1)", "laatijoiden yhteystiedot", "Those who made it and how to reach them"
    )
    sources: tuple[InformationSource, ...] | None = item(
        "§1(1)",
        "tieto siitä, mistä arviointiin sisällytetyt tiedot on saatu",
        "Where its information came from",
    )


class Extension(_Record):
    period: PlanPeriod
    ground: ExtensionGround | None


class OtherPlanContent(_Record):
    kind: PlanKind
    job_seeking_obligation: bool
    extensions: tuple[Extension, ...]


class PlanRecord(_Record):
    """An integration plan (Act 681/2023 §16)."""

    plan_id: UUID
    drawn_up_on: date = item("§2(1)", "laatimispäivämäärä", "The day the plan was agreed")
    duration: PlanPeriod = item("§2(1)", "kesto", "The plan's period, extensions included")
    goals: tuple[Goal, ...] = item("§2(1)", "tavoitteet", "Its goals")
    measures: tuple[Measure, ...] = item(
        "§2(1)", "sovitut toimenpiteet ja palvelut", "The measures and services agreed"
    )
    other_content: OtherPlanContent = item("§2(1)", "muu sisältö", "Its other content")
    makers: tuple[Maker, ...] | None = item(
        "§2(1)", "laatijoiden yhteystiedot", "Those who made it and how to reach them"
    )
    review_planned_on: date | None = item(
        "§2(1)",
        "suunniteltu suunnitelman tarkistamisen ajankohta",
        "When its review is planned",
    )
    sources: tuple[InformationSource, ...] | None = item(
        "§2(1)",
        "tieto siitä, mistä suunnitelmaan sisällytetyt tiedot on saatu",
        "Where its information came from",
    )
    ended_on: date | None = Field(description="When the plan ended, if it has.")


class ReviewRecord(_Record):
    """A review of an integration plan (Act 681/2023 §22)."""

    plan_id: UUID
    reviewed_on: date = item("§3(2)", "tarkistamisen ajankohta", "The day of the review")
    participation: tuple[Participation, ...] | None = item(
        "§3(2)",
        "kotoutuja-asiakkaan palveluihin ja toimenpiteisiin osallistumisen tiedot",
        "The client's participation in services and measures",
    )
    progress: tuple[GoalProgress, ...] | None = item(
        "§3(2)", "edistyminen", "Progress towards the plan's goals"
    )
    results: Results | None = item("§3(2)", "tulokset", "Results so far")
    hindrances: tuple[Hindrance, ...] | None = item(
        "§3(2)",
        "mahdolliset osallistumista vaikeuttavat tai hidastavat tekijät",
        "What hindered or slowed participation",
    )
    changes: PlanChanges | None = item(
        "§3(2)", "suunnitelmaan tehtävät muutokset", "Changes made to the plan"
    )
    makers: tuple[Maker, ...] | None = item(
        "§3(2)", "laatijoiden yhteystiedot", "Those who made it and how to reach them"
    )
    next_review_planned_on: date | None = item(
        "§3(2)",
        "suunniteltu suunnitelman seuraava tarkistamisen ajankohta",
        "When the next review is planned",
    )
    sources: tuple[InformationSource, ...] | None = item(
        "§3(2)", "tieto siitä, mistä tiedot on saatu", "Where its information came from"
    )


class ClientRecord(_Record):
    """One client's data set for the national integration data store (Decree 874/2024)."""

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        json_schema_extra={
            "$id": SCHEMA_ID,
            "$schema": "https://json-schema.org/draft/2020-12/schema",
        },
    )

    schema_version: int = Field(description="Version of this record's shape: 1.")
    client_id: UUID
    position: int = Field(description="The read side's change position: pass as `after`.")
    changed_at: datetime = Field(description="When the latest event about the client was recorded.")
    municipality: str | None = Field(description="The organisation responsible for the client.")
    person: Person
    assessments: tuple[AssessmentRecord, ...]
    plans: tuple[PlanRecord, ...]
    reviews: tuple[ReviewRecord, ...]


def json_schema() -> dict[str, Any]:
    """The committed schema of one exported line (docs/national-data-store.schema.json)."""
    return ClientRecord.model_json_schema(mode="serialization")
