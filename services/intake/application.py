"""Intake's commands."""

from __future__ import annotations

from datetime import date
from typing import ClassVar
from uuid import UUID

from eventsourcing.persistence import IntegrityError

from services.intake.domain import Client
from shared.errors import DomainError
from shared.eventstore import ServiceApplication
from shared.values import OrganisationKind, Provenance


class ClientAlreadyRegisteredError(DomainError):
    code = "client_already_registered"
    texts = {
        "fi": "Asiakas on jo rekisteröity",
        "sv": "Klienten är redan registrerad",
        "en": "The client is already registered",
    }


class IntakeApplication(ServiceApplication):
    name = "intake"
    service_name: ClassVar[str] = "intake"

    def register_client(
        self,
        *,
        client_id: UUID,
        provenance: Provenance,
        given_names: str,
        family_name: str,
        relationship_started_on: date,
        registered_jobseeker: bool,
        home_municipality: str | None,
        mother_tongue: str | None,
        interpreter_language: str | None,
    ) -> Client:
        # Responsibility follows the law in force when the client relationship starts.
        rule = self.book.in_force("responsibility.assessment", relationship_started_on)
        kind = OrganisationKind(rule.value("jobseeker" if registered_jobseeker else "other"))
        client = Client(
            client_id=client_id,
            provenance=provenance,
            given_names=given_names,
            family_name=family_name,
            relationship_started_on=relationship_started_on,
            registered_jobseeker=registered_jobseeker,
            home_municipality=home_municipality,
            mother_tongue=mother_tongue,
            interpreter_language=interpreter_language,
            responsible_organisation=self.settings.organisation(kind),
            legal_basis=(rule.ref,),
        )
        try:
            self.save(client)
        except IntegrityError:
            raise ClientAlreadyRegisteredError(str(client_id)) from None
        return client

    def client(self, client_id: UUID) -> Client:
        return self.load(client_id, Client)
