"""The national integration data store (Koto-AJ): what Kotoutus holds of the data the
municipality must store there from 1 Jan 2027 (Act 681/2023 §74, §76, §102(4) as amended by
1100/2024; Government Decree 874/2024), mapped in this one module.

Koto-AJ's own interface is not public, so nothing here speaks it: this module turns a
client's public events into the decree's data set, one record per client, with every field
named after the decree item it fills. An adapter to the real interface maps ``ClientRecord``
and nothing else.

Readings (each a choice the law leaves open):
- The store is Act 681/2023's (in force 2025): a client is in it once an assessment (§14) was
  started, a plan (§16) agreed or a plan reviewed (§22) on or after 1 Jan 2025. Earlier
  assessments and plans, made under Act 1386/2010, are not exported; a plan of 2024 reviewed
  in 2025 is, for its review's sake.
- An assessment is "drawn up" (laadittu) on the day it was completed; an assessment that is
  started but not completed shows ``drawn_up_on`` as missing.
- "The planned date of the plan or other referral" (§1(1)) is met by ``plan_planned_on``
  where the assessment found a plan needed, and by at least one referral where it did not.
- A plan's "other content" (§2(1) "muu sisältö") is its kind, the job-seeking obligation and
  its extensions; it is always there.
- Guidance and advice records (§4) need the client's consent and Kotoutus keeps none: nothing
  is exported under §4.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from services.readside.caseload import record_order
from services.readside.identities import Identity
from shared.contracts import PublicEvent
from shared.contracts import events as contracts
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
    ReviewContent,
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


# --- from events to the record ---


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
                plans[data.plan_id].extensions.append(
                    Extension(period=data.period, ground=data.ground)
                )
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


# --- what is missing ---


def missing_items(record: ClientRecord) -> list[str]:
    """The decree's items the record lacks, each as ``<record>.<field>`` (e.g.
    ``assessment 3f…: makers``), so supervisors can fix them before 1 Jan 2027."""
    missing: list[str] = []
    if record.person.identity_code is None:
        missing.append("person: identity_code")
    for found in record.assessments:
        where = f"assessment {found.assessment_id}"
        required: dict[str, object] = {
            "drawn_up_on": found.drawn_up_on,
            "content.findings": found.content.findings,
            "further_measures": found.further_measures,
            "makers": found.makers or None,
            "sources": found.sources or None,
        }
        if found.content.plan_needed is False:
            required["referrals"] = found.referrals or None
        else:
            required["plan_planned_on"] = found.plan_planned_on
        missing.extend(f"{where}: {name}" for name, value in required.items() if value is None)
    for plan in record.plans:
        where = f"plan {plan.plan_id}"
        required = {
            "goals": plan.goals or None,
            "measures": plan.measures or None,
            "makers": plan.makers or None,
            "review_planned_on": plan.review_planned_on,
            "sources": plan.sources or None,
        }
        missing.extend(f"{where}: {name}" for name, value in required.items() if value is None)
    for review in record.reviews:
        where = f"review {review.plan_id} {review.reviewed_on.isoformat()}"
        required = {
            "participation": review.participation,
            "progress": review.progress,
            "results": review.results,
            "hindrances": review.hindrances,
            "changes": review.changes,
            "makers": review.makers or None,
            "next_review_planned_on": review.next_review_planned_on,
            "sources": review.sources or None,
        }
        missing.extend(f"{where}: {name}" for name, value in required.items() if value is None)
    return missing


def json_schema() -> dict[str, Any]:
    """The committed schema of one exported line (docs/national-data-store.schema.json)."""
    return ClientRecord.model_json_schema(mode="serialization")
