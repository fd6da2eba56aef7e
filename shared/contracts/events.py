"""Payloads of the public events, one model per event type and schema version."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.contracts.assessment import (
    Findings,
    Interview,
    OpenedBy,
    ReferralOutcome,
    ReferralService,
)
from shared.contracts.clients import ClientFacts, Eligibility, ResidencePermit
from shared.contracts.envelope import PublicEvent
from shared.contracts.plans import (
    ExtensionGround,
    Goal,
    Measure,
    MeasureKind,
    PlanEndReason,
    PlanKind,
    PlanPeriod,
)
from shared.contracts.records import FurtherMeasure, InformationSource, Maker, ReviewContent
from shared.law.deadlines import Deadline


class _Data(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


PERSONAL: dict[str, Any] = {"x-personal": True}
"""Marks a field that holds personal data: it is null once the client is erased, consumers
must forget it on ``ClientErased``, and the auditors' replay leaves it out."""


class PersonName(BaseModel):
    model_config = ConfigDict(frozen=True)

    given_names: str | None = None
    family_name: str | None = None


class _Named(_Data):
    """Carries the client's name, taken from the stored event's sealed personal details (so
    it is null for a client whose key was destroyed): staff lists need a name to be usable."""

    name: PersonName | None = Field(default=None, json_schema_extra=PERSONAL)
    identity_code: str | None = Field(
        default=None,
        json_schema_extra=PERSONAL,
        description="The Finnish personal identity code, where known: the national data store "
        "and the state's compensation name the person by it (681/2023 §73(1)(1)).",
    )
    birth_date: date | None = Field(
        default=None,
        json_schema_extra=PERSONAL,
        description="Compensation depends on age to the day (Decree 872/2024 §1(1)).",
    )

    @model_validator(mode="before")
    @classmethod
    def _name_from_personal(cls, data: Any) -> Any:
        if isinstance(data, dict) and "name" not in data and data.get("personal") is not None:
            personal = data["personal"]
            fields = personal if isinstance(personal, dict) else vars(personal)
            data = {
                **data,
                "name": PersonName(
                    given_names=fields.get("given_names"), family_name=fields.get("family_name")
                ),
                "identity_code": fields.get("identity_code"),
                "birth_date": fields.get("birth_date"),
            }
        return data


# --- intake ---


class ClientRegisteredData(_Named):
    client_id: UUID
    relationship_started_on: date = Field(
        description="Start of the client relationship: the day statutory periods count from."
    )
    registered_jobseeker: bool
    trafficking_victim: bool = Field(
        default=False, description="A victim of trafficking (681/2023 §14(6), §20(4))."
    )
    home_municipality: str | None = Field(default=None, description="Statistics Finland code.")
    mother_tongue: str | None = Field(default=None, description="ISO 639-1 (or 639-3) code.")
    service_languages: tuple[str, ...] = Field(
        default=(), description="Languages the client can be served in."
    )
    interpreter_language: str | None = None
    needs_interpreter: bool = False
    responsible_organisation: str
    age_group: str | None = Field(default=None, description="0-6, 7-17, 18-29, 30-64 or 65+.")
    residence_permit: ResidencePermit | None = None
    source: str | None = Field(default=None, description="staff, or the system it came from.")
    facts: ClientFacts | None = Field(
        default=None,
        description="All the facts as registered (the flat fields above are some of them, kept "
        "for consumers of version 1); absent in events published before they were added.",
    )


class ClientRegistered(PublicEvent):
    """A client relationship started: intake registered the person and who answers for them."""

    EVENT_TYPE = "ClientRegistered"
    event_type: Literal["ClientRegistered"] = "ClientRegistered"
    data: ClientRegisteredData


class EligibilityDeterminedData(_Data):
    client_id: UUID
    eligibility: Eligibility
    decided_on: date = Field(description="The business date whose law decided.")
    responsible_organisation: str


class EligibilityDetermined(PublicEvent):
    """Whether the client is in scope of the integration law, and in which group."""

    EVENT_TYPE = "EligibilityDetermined"
    event_type: Literal["EligibilityDetermined"] = "EligibilityDetermined"
    data: EligibilityDeterminedData


class ResponsibilityAssignedData(_Data):
    client_id: UUID
    organisation: str


class ResponsibilityAssigned(PublicEvent):
    """The organisation that answers for the client's assessment and plan, first assigned."""

    EVENT_TYPE = "ResponsibilityAssigned"
    event_type: Literal["ResponsibilityAssigned"] = "ResponsibilityAssigned"
    data: ResponsibilityAssignedData


class ResponsibilityTransferredData(_Data):
    client_id: UUID
    from_organisation: str
    to_organisation: str
    reason: str


class ResponsibilityTransferred(PublicEvent):
    """Another organisation answers for the client from ``occurred_at`` on."""

    EVENT_TYPE = "ResponsibilityTransferred"
    event_type: Literal["ResponsibilityTransferred"] = "ResponsibilityTransferred"
    data: ResponsibilityTransferredData


class ClientFactsChangedData(_Data):
    client_id: UUID
    facts: ClientFacts
    cause: str = Field(description="staff, or the inbound message type that changed them.")
    effective_on: date


class ClientFactsChanged(PublicEvent):
    """The client's status facts changed (all of them, as they now are)."""

    EVENT_TYPE = "ClientFactsChanged"
    event_type: Literal["ClientFactsChanged"] = "ClientFactsChanged"
    data: ClientFactsChangedData


class ClientDetailsCorrectedData(_Named):
    client_id: UUID
    reason: str


class ClientDetailsCorrected(PublicEvent):
    """Personal details were corrected (what changed is personal and stays in intake)."""

    EVENT_TYPE = "ClientDetailsCorrected"
    event_type: Literal["ClientDetailsCorrected"] = "ClientDetailsCorrected"
    data: ClientDetailsCorrectedData


class WorkerAssignedData(_Data):
    client_id: UUID
    worker: str = Field(description="The staff id of the caseworker who handles the client.")


class WorkerAssigned(PublicEvent):
    """A caseworker was named for the client (caseload lists are per worker)."""

    EVENT_TYPE = "WorkerAssigned"
    event_type: Literal["WorkerAssigned"] = "WorkerAssigned"
    data: WorkerAssignedData


class ClientsMergedData(_Data):
    client_id: UUID = Field(description="The client that remains.")
    duplicate_id: UUID = Field(description="The duplicate, closed from now on.")
    reason: str


class ClientsMerged(PublicEvent):
    """One person was registered twice; the duplicate's history now belongs to ``client_id``."""

    EVENT_TYPE = "ClientsMerged"
    event_type: Literal["ClientsMerged"] = "ClientsMerged"
    data: ClientsMergedData


class ClientClosedData(_Data):
    client_id: UUID
    reason: str


class ClientClosed(PublicEvent):
    """The client relationship ended."""

    EVENT_TYPE = "ClientClosed"
    event_type: Literal["ClientClosed"] = "ClientClosed"
    data: ClientClosedData


class ClientErasedData(_Data):
    client_id: UUID
    legal_ground: str


class ClientErased(PublicEvent):
    """The person's data was erased: every copy of it must go; statistics may stay."""

    EVENT_TYPE = "ClientErased"
    event_type: Literal["ClientErased"] = "ClientErased"
    data: ClientErasedData


# --- assessment ---


class AssessmentDueData(_Data):
    client_id: UUID
    assessment_id: UUID
    opened_by: OpenedBy
    group: str | None = Field(description="The client's group, when the law assigned it.")
    deadline: Deadline
    responsible_organisation: str


class AssessmentDue(PublicEvent):
    """An initial assessment must start by `deadline.due`, by the law of the relationship start."""

    EVENT_TYPE = "AssessmentDue"
    event_type: Literal["AssessmentDue"] = "AssessmentDue"
    data: AssessmentDueData


class AssessmentStartedData(_Data):
    client_id: UUID
    assessment_id: UUID
    started_on: date
    interview: Interview


class AssessmentStarted(PublicEvent):
    """The initial assessment started (first meeting held)."""

    EVENT_TYPE = "AssessmentStarted"
    event_type: Literal["AssessmentStarted"] = "AssessmentStarted"
    data: AssessmentStartedData


class AssessmentWaivedData(_Data):
    client_id: UUID
    assessment_id: UUID
    waived_on: date
    reason: str


class AssessmentWaived(PublicEvent):
    """No assessment, with the reason and its ground (`legal_basis`): from 2025 only Act 681/2023
    §14(5), an unaccompanied minor whose needs another client plan meets; before, the
    municipality's practice for an obviously unnecessary one (not the act's words)."""

    EVENT_TYPE = "AssessmentWaived"
    event_type: Literal["AssessmentWaived"] = "AssessmentWaived"
    data: AssessmentWaivedData


class AssessmentOverdueData(_Data):
    client_id: UUID
    assessment_id: UUID
    overdue_on: date = Field(description="The first day after the due day.")


class AssessmentOverdue(PublicEvent):
    """The assessment did not start by its due day (recorded once, by the service's own timer)."""

    EVENT_TYPE = "AssessmentOverdue"
    event_type: Literal["AssessmentOverdue"] = "AssessmentOverdue"
    data: AssessmentOverdueData


class AssessmentFindingsRecordedData(_Data):
    client_id: UUID
    assessment_id: UUID
    findings: Findings


class AssessmentFindingsRecorded(PublicEvent):
    """Literacy, education, work experience and Finnish/Swedish skills per skill (CEFR)."""

    EVENT_TYPE = "AssessmentFindingsRecorded"
    event_type: Literal["AssessmentFindingsRecorded"] = "AssessmentFindingsRecorded"
    data: AssessmentFindingsRecordedData


class ReferralMadeData(_Data):
    client_id: UUID
    assessment_id: UUID
    referral_id: str
    service: ReferralService
    referred_on: date


class ReferralMade(PublicEvent):
    """The client was referred to a municipal service or a partner."""

    EVENT_TYPE = "ReferralMade"
    event_type: Literal["ReferralMade"] = "ReferralMade"
    data: ReferralMadeData


class ReferralOutcomeRecordedData(_Data):
    client_id: UUID
    assessment_id: UUID
    referral_id: str
    service: ReferralService
    outcome: ReferralOutcome
    on: date


class ReferralOutcomeRecorded(PublicEvent):
    """What became of a referral."""

    EVENT_TYPE = "ReferralOutcomeRecorded"
    event_type: Literal["ReferralOutcomeRecorded"] = "ReferralOutcomeRecorded"
    data: ReferralOutcomeRecordedData


class AssessmentCompletedData(_Data):
    client_id: UUID
    assessment_id: UUID
    completed_on: date


class AssessmentCompleted(PublicEvent):
    """The initial assessment was completed."""

    EVENT_TYPE = "AssessmentCompleted"
    event_type: Literal["AssessmentCompleted"] = "AssessmentCompleted"
    data: AssessmentCompletedData


class AssessmentDocumentedData(_Data):
    client_id: UUID
    assessment_id: UUID
    further_measures: tuple[FurtherMeasure, ...] | None = Field(
        default=None, description="874/2024 §1(1); Decree 869/2024 §3(1). Empty: none."
    )
    plan_planned_on: date | None = Field(
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

    EVENT_TYPE = "AssessmentDocumented"
    event_type: Literal["AssessmentDocumented"] = "AssessmentDocumented"
    data: AssessmentDocumentedData


class PlanNeedDecidedData(_Data):
    client_id: UUID
    assessment_id: UUID
    decided_on: date
    plan_needed: bool
    reason: str
    responsible_organisation: str


class PlanNeedDecided(PublicEvent):
    """The assessment decided whether the client needs an integration plan, and why."""

    EVENT_TYPE = "PlanNeedDecided"
    event_type: Literal["PlanNeedDecided"] = "PlanNeedDecided"
    data: PlanNeedDecidedData


# --- plans ---


class PlanPreparationDueData(_Data):
    client_id: UUID
    plan_id: UUID
    assessment_id: UUID
    deadline: Deadline
    responsible_organisation: str


class PlanPreparationDue(PublicEvent):
    """Preparation of the integration plan must start by `deadline.due`."""

    EVENT_TYPE = "PlanPreparationDue"
    event_type: Literal["PlanPreparationDue"] = "PlanPreparationDue"
    data: PlanPreparationDueData


class PlanDraftedData(_Data):
    client_id: UUID
    plan_id: UUID
    drafted_on: date


class PlanDrafted(PublicEvent):
    """Preparation of the integration plan started."""

    EVENT_TYPE = "PlanDrafted"
    event_type: Literal["PlanDrafted"] = "PlanDrafted"
    data: PlanDraftedData


# --- notifications ---


class ReminderScheduledData(_Data):
    client_id: UUID
    reminder_key: str = Field(description="The deadline it reminds of: '<kind>:<subject id>'.")
    deadline_kind: str
    due: date
    remind_on: date
    responsible_organisation: str


class ReminderScheduled(PublicEvent):
    """Notifications will remind the responsible organisation of a deadline on `remind_on`."""

    EVENT_TYPE = "ReminderScheduled"
    event_type: Literal["ReminderScheduled"] = "ReminderScheduled"
    data: ReminderScheduledData


class ReminderCancelledData(_Data):
    client_id: UUID
    reminder_key: str
    reason: str


class ReminderCancelled(PublicEvent):
    """A reminder will not be sent: its step was done (or reported done first)."""

    EVENT_TYPE = "ReminderCancelled"
    event_type: Literal["ReminderCancelled"] = "ReminderCancelled"
    data: ReminderCancelledData


class NotificationData(_Data):
    client_id: UUID
    message_id: str = Field(description="Stable id derived from the message's cause.")
    kind: str = Field(description="deadline_reminder, overdue_alert, appointment_letter, …")
    audience: Literal["staff", "client", "partner"]
    channel: Literal["email", "webhook", "sms"]
    recipient: str = Field(
        description='Who, without personal data: a staff id, "inbox:<org>", '
        '"supervisor:<org>", "partner:<id>", or "client".'
    )
    attempts: int = Field(ge=1)
    reason: str | None = Field(default=None, description="Why it failed, for a person to read.")


class NotificationSent(PublicEvent):
    """A message went out (the channel accepted it); sent at most once per ``message_id``."""

    EVENT_TYPE = "NotificationSent"
    event_type: Literal["NotificationSent"] = "NotificationSent"
    data: NotificationData


class NotificationFailed(PublicEvent):
    """A message could not be delivered (refused, out of attempts, or its outcome is unknown
    after a crash mid-send); staff may resend it."""

    EVENT_TYPE = "NotificationFailed"
    event_type: Literal["NotificationFailed"] = "NotificationFailed"
    data: NotificationData


class PlanAgreedData(_Data):
    client_id: UUID
    plan_id: UUID
    agreed_on: date
    period: PlanPeriod
    kind: PlanKind
    goals: tuple[Goal, ...]
    measures: tuple[Measure, ...]
    job_seeking_obligation: bool


class PlanAgreed(PublicEvent):
    """The integration plan was agreed with the client, within the law of its date."""

    EVENT_TYPE = "PlanAgreed"
    event_type: Literal["PlanAgreed"] = "PlanAgreed"
    data: PlanAgreedData


class PlanDocumentedData(_Data):
    client_id: UUID
    plan_id: UUID
    makers: tuple[Maker, ...] | None = Field(default=None, description="874/2024 §2(1).")
    sources: tuple[InformationSource, ...] | None = Field(
        default=None, description="874/2024 §2(1)."
    )
    review_planned_on: date | None = Field(
        default=None,
        description='874/2024 §2(1) "suunniteltu suunnitelman tarkistamisen ajankohta".',
    )


class PlanDocumented(PublicEvent):
    """What the national data store needs of a plan beyond its events (Decree 874/2024 §2):
    each field given replaces the one recorded before; null leaves it as it was."""

    EVENT_TYPE = "PlanDocumented"
    event_type: Literal["PlanDocumented"] = "PlanDocumented"
    data: PlanDocumentedData


class PlanDeadlineData(_Data):
    client_id: UUID
    plan_id: UUID
    deadline: Deadline


class EnrolmentDue(PublicEvent):
    """The client must be enrolled in a service by ``deadline.due``."""

    EVENT_TYPE = "EnrolmentDue"
    event_type: Literal["EnrolmentDue"] = "EnrolmentDue"
    data: PlanDeadlineData


class ReviewDue(PublicEvent):
    """The plan must be reviewed by ``deadline.due``."""

    EVENT_TYPE = "ReviewDue"
    event_type: Literal["ReviewDue"] = "ReviewDue"
    data: PlanDeadlineData


class EnrolmentOverdue(PublicEvent):
    """The client was not enrolled in a service by ``deadline.due`` (recorded once)."""

    EVENT_TYPE = "EnrolmentOverdue"
    event_type: Literal["EnrolmentOverdue"] = "EnrolmentOverdue"
    data: PlanDeadlineData


class ReviewOverdue(PublicEvent):
    """The plan was not reviewed by ``deadline.due`` (recorded once per review)."""

    EVENT_TYPE = "ReviewOverdue"
    event_type: Literal["ReviewOverdue"] = "ReviewOverdue"
    data: PlanDeadlineData


class PlanEnrolledData(_Data):
    client_id: UUID
    plan_id: UUID
    enrolled_on: date
    service: MeasureKind


class PlanEnrolled(PublicEvent):
    """The client was enrolled in a service of the plan."""

    EVENT_TYPE = "PlanEnrolled"
    event_type: Literal["PlanEnrolled"] = "PlanEnrolled"
    data: PlanEnrolledData


class PlanReviewedData(_Data):
    client_id: UUID
    plan_id: UUID
    reviewed_on: date
    review_due_met: Deadline
    content: ReviewContent | None = Field(
        default=None, description="What the review recorded (Decree 874/2024 §3(2))."
    )


class PlanReviewed(PublicEvent):
    """The plan was reviewed (the next review is announced by a new ReviewDue)."""

    EVENT_TYPE = "PlanReviewed"
    event_type: Literal["PlanReviewed"] = "PlanReviewed"
    data: PlanReviewedData


class ReviewDocumentedData(_Data):
    client_id: UUID
    plan_id: UUID
    reviewed_on: date = Field(description="The review it completes.")
    content: ReviewContent = Field(
        description="Each field given replaces the one recorded; null leaves it as it was."
    )


class ReviewDocumented(PublicEvent):
    """A review's record completed after the review (Decree 874/2024 §3(2))."""

    EVENT_TYPE = "ReviewDocumented"
    event_type: Literal["ReviewDocumented"] = "ReviewDocumented"
    data: ReviewDocumentedData


class PlanExtendedData(_Data):
    client_id: UUID
    plan_id: UUID
    period: PlanPeriod
    reason: str
    # The lawful ground beyond the base total (absent: within it, or recorded before grounds).
    ground: ExtensionGround | None = None


class PlanExtended(PublicEvent):
    """The plan runs longer, within the law's total."""

    EVENT_TYPE = "PlanExtended"
    event_type: Literal["PlanExtended"] = "PlanExtended"
    data: PlanExtendedData


class PlanEndedData(_Data):
    client_id: UUID
    plan_id: UUID
    ended_on: date
    reason: PlanEndReason


class PlanEnded(PublicEvent):
    """The plan ended, with the reason."""

    EVENT_TYPE = "PlanEnded"
    event_type: Literal["PlanEnded"] = "PlanEnded"
    data: PlanEndedData


CONTRACTS: dict[str, type[PublicEvent]] = {
    contract.EVENT_TYPE: contract
    for contract in (
        ClientRegistered,
        EligibilityDetermined,
        ResponsibilityAssigned,
        ResponsibilityTransferred,
        ClientFactsChanged,
        ClientDetailsCorrected,
        WorkerAssigned,
        ClientsMerged,
        ClientClosed,
        ClientErased,
        AssessmentDue,
        AssessmentStarted,
        AssessmentWaived,
        AssessmentOverdue,
        AssessmentFindingsRecorded,
        ReferralMade,
        ReferralOutcomeRecorded,
        AssessmentCompleted,
        AssessmentDocumented,
        PlanNeedDecided,
        PlanPreparationDue,
        PlanDrafted,
        PlanAgreed,
        EnrolmentDue,
        ReviewDue,
        EnrolmentOverdue,
        ReviewOverdue,
        PlanEnrolled,
        PlanReviewed,
        ReviewDocumented,
        PlanDocumented,
        PlanExtended,
        PlanEnded,
        ReminderScheduled,
        ReminderCancelled,
        NotificationSent,
        NotificationFailed,
    )
}
