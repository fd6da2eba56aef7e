"""Staff routes of intake."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any
from uuid import UUID, uuid4

from fastapi import APIRouter, Depends, Request, status
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field, ValidationError, model_validator

from services.intake.application import IntakeApplication
from services.intake.domain import Client
from services.intake.handover import HandoverReport
from services.intake.model import ClientFacts, Eligibility, PersonalDetails
from shared.api import BusinessTime, Caller, Problem, application
from shared.auth.access import client_access, may_see, require
from shared.auth.errors import OtherOrganisationError
from shared.auth.roles import Permission
from shared.clock import utc_now
from shared.errors import InvalidValueError
from shared.identity import IdentifierKind

router = APIRouter(prefix="/clients", tags=["intake"])
Intake = Annotated[IntakeApplication, Depends(application("intake", IntakeApplication))]
ERRORS: dict[int | str, dict[str, Any]] = {404: {"model": Problem}, 409: {"model": Problem}}
# What each route may be called by (shared.auth.roles has the table of who has what).
ReadClient = Annotated[Caller, Depends(client_access("intake", Permission.READ_CLIENT))]
ChangeClient = Annotated[Caller, Depends(client_access("intake", Permission.CHANGE_CLIENT))]
Registrar = Annotated[Caller, Depends(require(Permission.REGISTER_CLIENT))]
InboundSender = Annotated[Caller, Depends(require(Permission.RECEIVE_INBOUND))]
HandoverRunner = Annotated[Caller, Depends(require(Permission.RUN_HANDOVER))]


class RegisterClient(BusinessTime):
    client_id: UUID = Field(
        default_factory=uuid4, description="Give one to make a retried request safe."
    )
    relationship_started_on: date = Field(
        description="Start of the client relationship; the statutory periods count from it."
    )
    personal: PersonalDetails
    facts: ClientFacts = ClientFacts()

    @model_validator(mode="after")
    def _dates_make_sense(self) -> RegisterClient:
        today = utc_now().date()
        if self.relationship_started_on > today:
            raise InvalidValueError("relationship_started_in_future", at="/relationship_started_on")
        birth = self.personal.birth_date
        if birth is not None and birth > today:
            raise InvalidValueError("birth_date_in_future", at="/personal/birth_date")
        permit = self.facts.residence_permit
        if permit is not None and birth is not None and permit.first_permit_on < birth:
            raise InvalidValueError(
                "first_permit_before_birth", at="/facts/residence_permit/first_permit_on"
            )
        if self.personal.given_names is None or self.personal.family_name is None:
            raise InvalidValueError("names_required", at="/personal")
        return self


class ClientView(BaseModel):
    client_id: UUID
    version: int
    erased: bool
    personal: PersonalDetails | None = Field(description="null once the person is erased")
    facts: ClientFacts
    age_group: str | None
    relationship_started_on: date
    eligibility: Eligibility | None
    responsible_organisation: str
    open_conflicts: dict[str, str]
    closed_reason: str | None
    worker: str | None

    @classmethod
    def of(cls, client: Client) -> ClientView:
        return cls(
            client_id=client.id,
            version=client.version,
            erased=client.erased or client.personal is None,
            personal=client.personal,
            facts=client.facts,
            age_group=client.age_group,
            relationship_started_on=client.relationship_started_on,
            eligibility=client.eligibility,
            responsible_organisation=client.responsible_organisation,
            open_conflicts=client.open_conflicts,
            closed_reason=client.closed_reason,
            worker=client.worker,
        )


class CorrectDetails(BusinessTime):
    personal: PersonalDetails = Field(description="Only the fields to correct.")
    reason: str = Field(min_length=1, max_length=2000)


class ChangeFacts(BusinessTime):
    changes: dict[str, Any] = Field(
        description="Fields of the client's facts to change, e.g. {'registered_jobseeker': true}"
    )
    effective_on: date
    cause: str = Field(default="staff", max_length=200)


class ResolveConflict(BusinessTime):
    accept: bool = Field(description="Take the incoming value (true) or keep the known one.")
    reason: str = Field(min_length=1, max_length=2000)


class MergeDuplicate(BusinessTime):
    duplicate_id: UUID = Field(description="The other registration of the same person.")
    reason: str = Field(min_length=1, max_length=2000)


class AssignWorker(BusinessTime):
    worker: str = Field(
        min_length=1, max_length=200, examples=["anna.virtanen"], description="The staff id."
    )


class CloseClient(BusinessTime):
    reason: str = Field(min_length=1, max_length=2000)


class EraseClient(BusinessTime):
    legal_ground: str = Field(
        min_length=1,
        max_length=500,
        examples=["GDPR 17(1)(a): retention period ended (social welfare records, 10 years)"],
    )


class Lookup(BaseModel):
    kind: IdentifierKind
    value: str = Field(min_length=1, max_length=64)


class LookupResult(BaseModel):
    client_id: UUID | None


@router.post("", status_code=status.HTTP_201_CREATED, responses=ERRORS, summary="Register")
def register_client(body: RegisterClient, caller: Registrar, intake: Intake) -> ClientView:
    client = intake.register_client(
        client_id=body.client_id,
        provenance=caller.provenance(body.occurred_at),
        personal=body.personal,
        facts=body.facts,
        relationship_started_on=body.relationship_started_on,
        source=caller.record_source or "staff",
    )
    return ClientView.of(client)


@router.post("/lookup", summary="Find a client by an identifier (kept out of URLs and logs)")
def lookup(body: Lookup, caller: Registrar, intake: Intake, request: Request) -> LookupResult:
    found = intake.find(body.kind, body.value)
    # A caseworker learns only of the clients their organisation answers for.
    if not may_see(request, "intake", caller, found):
        found = None
    request.state.access_client_id = found  # the access log names whom the lookup revealed
    return LookupResult(client_id=found)


@router.get("/{client_id}", responses=ERRORS, summary="A client's details")
def get_client(client_id: UUID, caller: ReadClient, intake: Intake) -> ClientView:
    return ClientView.of(intake.client(client_id))


@router.post("/{client_id}/corrections", responses=ERRORS, summary="Correct personal details")
def correct(
    client_id: UUID, body: CorrectDetails, caller: ChangeClient, intake: Intake
) -> ClientView:
    client = intake.correct_details(
        client_id,
        provenance=caller.provenance(body.occurred_at),
        personal=body.personal,
        reason=body.reason,
    )
    return ClientView.of(client)


@router.post("/{client_id}/facts", responses=ERRORS, summary="Change status facts")
def change_facts(
    client_id: UUID, body: ChangeFacts, caller: ChangeClient, intake: Intake
) -> ClientView:
    try:
        client = intake.change_facts(
            client_id,
            provenance=caller.provenance(body.occurred_at),
            changes=body.changes,
            cause=body.cause,
            effective_on=body.effective_on,
        )
    except ValidationError as error:
        raise RequestValidationError(
            [{**e, "loc": ("body", "changes", *e["loc"])} for e in error.errors()]
        ) from None
    return ClientView.of(client)


@router.post(
    "/{client_id}/conflicts/{conflict_id}/resolve", responses=ERRORS, summary="Resolve a conflict"
)
def resolve_conflict(
    client_id: UUID, conflict_id: str, body: ResolveConflict, caller: ChangeClient, intake: Intake
) -> ClientView:
    client = intake.resolve_conflict(
        client_id,
        provenance=caller.provenance(body.occurred_at),
        conflict_id=conflict_id,
        accept=body.accept,
        reason=body.reason,
    )
    return ClientView.of(client)


@router.post("/{client_id}/merge", responses=ERRORS, summary="Merge a duplicate into this client")
def merge(
    client_id: UUID, body: MergeDuplicate, caller: ChangeClient, intake: Intake, request: Request
) -> ClientView:
    # The duplicate's data joins this client's: it must be the caller's organisation's too.
    if intake.responsible_organisation(body.duplicate_id) is not None and not may_see(
        request, "intake", caller, body.duplicate_id
    ):
        raise OtherOrganisationError()
    client = intake.merge(
        client_id,
        provenance=caller.provenance(body.occurred_at),
        duplicate_id=body.duplicate_id,
        reason=body.reason,
    )
    return ClientView.of(client)


@router.post("/{client_id}/worker", responses=ERRORS, summary="Name the client's caseworker")
def assign_worker(
    client_id: UUID, body: AssignWorker, caller: ChangeClient, intake: Intake
) -> ClientView:
    client = intake.assign_worker(
        client_id, provenance=caller.provenance(body.occurred_at), worker=body.worker
    )
    return ClientView.of(client)


@router.post("/{client_id}/close", responses=ERRORS, summary="End the client relationship")
def close(client_id: UUID, body: CloseClient, caller: ChangeClient, intake: Intake) -> ClientView:
    client = intake.close_client(
        client_id, provenance=caller.provenance(body.occurred_at), reason=body.reason
    )
    return ClientView.of(client)


@router.post("/{client_id}/erase", responses=ERRORS, summary="Erase the person (crypto-shredding)")
def erase(client_id: UUID, body: EraseClient, caller: ChangeClient, intake: Intake) -> ClientView:
    client = intake.erase(
        client_id, provenance=caller.provenance(body.occurred_at), legal_ground=body.legal_ground
    )
    return ClientView.of(client)


inbound_router = APIRouter(tags=["intake"])


class Received(BaseModel):
    outcome: str = Field(examples=["registered", "updated", "conflict", "duplicate"])


@inbound_router.post(
    "/inbound",
    status_code=status.HTTP_202_ACCEPTED,
    responses={422: {"model": Problem}},
    summary="Take a message of another municipal system (CloudEvents 1.0, structured JSON)",
)
async def receive(request: Request, caller: InboundSender, intake: Intake) -> Received:
    outcome = await run_in_threadpool(intake.receive, await request.body())
    return Received(outcome=outcome)


class RunHandover(BaseModel):
    dry_run: bool = Field(default=True, description="Report only; run with false to transfer.")


handover_router = APIRouter(tags=["intake"])


@handover_router.post("/handover/2025", summary="Hand the TE office's clients over (1 Jan 2025)")
def handover(body: RunHandover, caller: HandoverRunner, intake: Intake) -> HandoverReport:
    return intake.handover(provenance=caller.provenance(), dry_run=body.dry_run)


routes = APIRouter()
routes.include_router(router)
routes.include_router(inbound_router)
routes.include_router(handover_router)
