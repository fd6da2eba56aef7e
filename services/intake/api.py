"""Staff routes of intake."""

from __future__ import annotations

from datetime import date
from typing import Annotated
from uuid import UUID, uuid4

from fastapi import APIRouter, Depends, status
from pydantic import BaseModel, Field

from services.intake.application import IntakeApplication
from services.intake.domain import Client
from shared.api import BusinessTime, CallerDep, Problem, application

router = APIRouter(prefix="/clients", tags=["intake"])
Intake = Annotated[IntakeApplication, Depends(application("intake", IntakeApplication))]

LanguageCode = Annotated[str, Field(pattern=r"^[a-z]{2,3}$", examples=["uk"])]


class RegisterClient(BusinessTime):
    client_id: UUID = Field(
        default_factory=uuid4, description="Give one to make a retried request safe."
    )
    given_names: str = Field(min_length=1, max_length=200)
    family_name: str = Field(min_length=1, max_length=200)
    relationship_started_on: date = Field(
        description="Start of the client relationship; the statutory periods count from it."
    )
    registered_jobseeker: bool = False
    home_municipality: str | None = Field(default=None, pattern=r"^\d{3}$", examples=["320"])
    mother_tongue: LanguageCode | None = None
    interpreter_language: LanguageCode | None = None


class ClientView(BaseModel):
    client_id: UUID
    version: int
    given_names: str
    family_name: str
    relationship_started_on: date
    registered_jobseeker: bool
    home_municipality: str | None
    mother_tongue: str | None
    interpreter_language: str | None
    responsible_organisation: str

    @classmethod
    def of(cls, client: Client) -> ClientView:
        return cls(
            client_id=client.id,
            version=client.version,
            given_names=client.given_names,
            family_name=client.family_name,
            relationship_started_on=client.relationship_started_on,
            registered_jobseeker=client.registered_jobseeker,
            home_municipality=client.home_municipality,
            mother_tongue=client.mother_tongue,
            interpreter_language=client.interpreter_language,
            responsible_organisation=client.responsible_organisation,
        )


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    responses={409: {"model": Problem}},
    summary="Register a client",
)
def register_client(body: RegisterClient, caller: CallerDep, intake: Intake) -> ClientView:
    client = intake.register_client(
        client_id=body.client_id,
        provenance=caller.provenance(body.occurred_at),
        given_names=body.given_names,
        family_name=body.family_name,
        relationship_started_on=body.relationship_started_on,
        registered_jobseeker=body.registered_jobseeker,
        home_municipality=body.home_municipality,
        mother_tongue=body.mother_tongue,
        interpreter_language=body.interpreter_language,
    )
    return ClientView.of(client)


@router.get("/{client_id}", responses={404: {"model": Problem}}, summary="A client's details")
def get_client(client_id: UUID, caller: CallerDep, intake: Intake) -> ClientView:
    return ClientView.of(intake.client(client_id))
