"""Staff routes of intake."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Annotated, Any
from uuid import UUID, uuid4

from fastapi import APIRouter, Depends, Request, status
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model, model_validator

from services.intake.application import IntakeApplication
from services.intake.domain import Client
from services.intake.handover import HandoverReport
from services.intake.model import ClientFacts, Eligibility, PersonalDetails
from services.intake.retention_api import router as retention_router
from shared.api import COMPONENT_SCHEMAS, BusinessTime, Caller, Problem, application
from shared.auth.access import client_access, may_see, require
from shared.auth.errors import OtherOrganisationError
from shared.auth.roles import Permission
from shared.clock import utc_now
from shared.contracts.inbound import (
    HTTP_BINDING_DESCRIPTION,
    InboundMessage,
    http_binding_openapi,
    inbound_event_schemas,
)
from shared.data_subject import ProcessingRestrictedError
from shared.errors import InvalidValueError
from shared.identity import IdentifierKind
from shared.iso_text import Day

router = APIRouter(prefix="/clients", tags=["intake"])
Intake = Annotated[IntakeApplication, Depends(application("intake", IntakeApplication))]
ERRORS: dict[int | str, dict[str, Any]] = {404: {"model": Problem}, 409: {"model": Problem}}
# What each route may be called by (shared.auth.roles has the table of who has what).
ReadClient = Annotated[Caller, Depends(client_access("intake", Permission.READ_CLIENT))]
ChangeClient = Annotated[Caller, Depends(client_access("intake", Permission.CHANGE_CLIENT))]
# Commands that use the client's data (facts, conflicts, merges, the worker) wait while the
# client's processing is restricted; correcting the details (what a restriction under GDPR
# Art. 18(1)(a) is for), closing and erasing do not.
UseClient = Annotated[
    Caller, Depends(client_access("intake", Permission.CHANGE_CLIENT, unrestricted=True))
]
Registrar = Annotated[Caller, Depends(require(Permission.REGISTER_CLIENT))]
InboundSender = Annotated[Caller, Depends(require(Permission.RECEIVE_INBOUND))]
HandoverRunner = Annotated[Caller, Depends(require(Permission.RUN_HANDOVER))]


class StaffPersonalDetails(PersonalDetails):
    """Who the person is, as staff register them: by name (the schema says so, not only the
    server; a message of another system may come before the names)."""

    given_names: str = Field(min_length=1, max_length=200)
    family_name: str = Field(min_length=1, max_length=200)

    def details(self) -> PersonalDetails:
        """The same details as the services keep them."""
        return PersonalDetails.model_validate(self.model_dump(exclude_unset=True))


class RegisterClient(BusinessTime):
    client_id: UUID = Field(
        default_factory=uuid4, description="Give one to make a retried request safe."
    )
    relationship_started_on: Day = Field(
        description="Start of the client relationship; the statutory periods count from it."
    )
    personal: StaffPersonalDetails
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


def _changes_of(model: type[BaseModel], name: str) -> type[BaseModel]:
    """``model``'s fields, each optional, no others: those to change, as the model takes them
    (the schema then says which fields there are and what each takes)."""
    fields: dict[str, Any] = {
        field_name: (
            Annotated[field.annotation, *field.metadata] if field.metadata else field.annotation,
            Field(default=None, description=field.description),
        )
        for field_name, field in model.model_fields.items()
    }
    return create_model(name, __config__=ConfigDict(extra="forbid"), **fields)


if TYPE_CHECKING:
    FactChanges = BaseModel
else:
    FactChanges = _changes_of(ClientFacts, "FactChanges")


class ChangeFacts(BusinessTime):
    changes: FactChanges = Field(
        description="Fields of the client's facts to change, e.g. {'registered_jobseeker': true}"
    )
    effective_on: Day
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
        personal=body.personal.details(),
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
    client = intake.client(client_id)
    if client.restriction is not None:  # kept, not used (GDPR Art. 18): say only that
        raise ProcessingRestrictedError()
    return ClientView.of(client)


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
    client_id: UUID, body: ChangeFacts, caller: UseClient, intake: Intake
) -> ClientView:
    try:
        client = intake.change_facts(
            client_id,
            provenance=caller.provenance(body.occurred_at),
            changes=body.changes.model_dump(exclude_unset=True),
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
    client_id: UUID, conflict_id: str, body: ResolveConflict, caller: UseClient, intake: Intake
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
    client_id: UUID, body: MergeDuplicate, caller: UseClient, intake: Intake, request: Request
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
    client_id: UUID, body: AssignWorker, caller: UseClient, intake: Intake
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
    responses={
        409: {
            "model": Problem,
            "description": "The same source and id came before with other content "
            "(`inbound_message_conflict`); the same content again is a `duplicate` (202).",
        },
        422: {"model": Problem},
    },
    summary="Take a message of another municipal system (CloudEvents 1.0, structured or binary)",
    description=HTTP_BINDING_DESCRIPTION,
    openapi_extra={**http_binding_openapi(), COMPONENT_SCHEMAS: inbound_event_schemas()},
)
async def receive(request: Request, caller: InboundSender, intake: Intake) -> Received:
    # Only the CloudEvents headers travel on: the rest (the token) is no part of the event.
    message = InboundMessage(
        await request.body(),
        {name: value for name, value in request.headers.items() if name.startswith("ce-")},
        request.headers.get("content-type"),
        transport="http",
    )
    outcome = await run_in_threadpool(intake.receive, message)
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


# --- the data subject's rights (GDPR Art. 15, Art. 18) ---

privacy_router = APIRouter(prefix="/clients", tags=["data subject"])
Restricter = Annotated[Caller, Depends(client_access("intake", Permission.RESTRICT_PROCESSING))]
SubjectAccessOfficer = Annotated[
    Caller, Depends(client_access("intake", Permission.SUBJECT_ACCESS))
]


class RestrictionChange(BusinessTime):
    reason: str = Field(
        min_length=1,
        max_length=2000,
        examples=["The person contests the accuracy of the data (GDPR Art. 18(1)(a))"],
    )


class RestrictionView(BaseModel):
    client_id: UUID
    restricted: bool
    reason: str | None = Field(description="Why it is restricted; null when it is not.")


class SubjectAccessRequestBody(BusinessTime):
    request_id: str = Field(
        default_factory=lambda: str(uuid4()),
        min_length=1,
        max_length=100,
        description="Give one to make a retried request safe.",
    )
    requested_on: Day = Field(description="The day the request was received.")


class SubjectAccessDeliveryBody(BusinessTime):
    delivered_on: Day = Field(description="The day the copy was given to the person.")


class SubjectAccessRequestView(BaseModel):
    request_id: str
    requested_on: date
    due_on: date = Field(
        description='"within one month of receipt of the request" (GDPR Art. 12(3)), counted '
        "by Act 150/1930 §3 and §5"
    )
    delivered_on: date | None
    in_time: bool | None = Field(description="null while the copy is not given")


def _restriction(client: Client) -> RestrictionView:
    reason = client.restriction
    return RestrictionView(client_id=client.id, restricted=reason is not None, reason=reason)


def _requests(client: Client) -> list[SubjectAccessRequestView]:
    return [
        SubjectAccessRequestView(
            request_id=request.request_id,
            requested_on=request.requested_on,
            due_on=request.due_on,
            delivered_on=request.delivered_on,
            in_time=None
            if request.delivered_on is None
            else request.delivered_on <= request.due_on,
        )
        for request in client.subject_access_requests.values()
    ]


@privacy_router.get(
    "/{client_id}/restriction",
    responses=ERRORS,
    summary="Whether the client's processing is restricted (GDPR Art. 18), and why",
)
def get_restriction(client_id: UUID, caller: Restricter, intake: Intake) -> RestrictionView:
    return _restriction(intake.client(client_id))


@privacy_router.post(
    "/{client_id}/restriction",
    responses=ERRORS,
    summary="Restrict the client's processing (GDPR Art. 18): data kept, not used",
)
def restrict(
    client_id: UUID, body: RestrictionChange, caller: Restricter, intake: Intake
) -> RestrictionView:
    client = intake.restrict_processing(
        client_id, provenance=caller.provenance(body.occurred_at), reason=body.reason
    )
    return _restriction(client)


@privacy_router.post(
    "/{client_id}/restriction/lift",
    responses=ERRORS,
    summary="Lift the restriction of the client's processing (GDPR Art. 18(3))",
)
def lift_restriction(
    client_id: UUID, body: RestrictionChange, caller: Restricter, intake: Intake
) -> RestrictionView:
    client = intake.lift_restriction(
        client_id, provenance=caller.provenance(body.occurred_at), reason=body.reason
    )
    return _restriction(client)


@privacy_router.get(
    "/{client_id}/subject-access/requests",
    responses=ERRORS,
    summary="The person's requests for a copy of their data, each with its last day",
)
def get_subject_access_requests(
    client_id: UUID, caller: SubjectAccessOfficer, intake: Intake
) -> list[SubjectAccessRequestView]:
    return _requests(intake.client(client_id))


@privacy_router.post(
    "/{client_id}/subject-access/requests",
    status_code=status.HTTP_201_CREATED,
    responses=ERRORS,
    summary="Record a request for a copy of the person's data (GDPR Art. 15, 12(3))",
)
def request_subject_access(
    client_id: UUID, body: SubjectAccessRequestBody, caller: SubjectAccessOfficer, intake: Intake
) -> SubjectAccessRequestView:
    client = intake.request_subject_access(
        client_id,
        provenance=caller.provenance(body.occurred_at),
        request_id=body.request_id,
        requested_on=body.requested_on,
    )
    return next(r for r in _requests(client) if r.request_id == body.request_id)


@privacy_router.post(
    "/{client_id}/subject-access/requests/{request_id}/delivered",
    responses=ERRORS,
    summary="Record that the copy was given to the person",
)
def deliver_subject_access(
    client_id: UUID,
    request_id: str,
    body: SubjectAccessDeliveryBody,
    caller: SubjectAccessOfficer,
    intake: Intake,
) -> SubjectAccessRequestView:
    client = intake.deliver_subject_access(
        client_id,
        provenance=caller.provenance(body.occurred_at),
        request_id=request_id,
        delivered_on=body.delivered_on,
    )
    return next(r for r in _requests(client) if r.request_id == request_id)


routes.include_router(privacy_router)

# --- retention (services/intake/retention_api.py) ---
routes.include_router(retention_router)
