"""The client aggregate. Pure: time and decisions of law come in as arguments."""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from shared.law.rulebook import RuleRef
from shared.values import Provenance


class Client(Aggregate):
    @staticmethod
    def create_id(client_id: UUID, **_: Any) -> UUID:
        return client_id

    @event("Registered")
    def __init__(
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
        responsible_organisation: str,
        legal_basis: tuple[RuleRef, ...],
    ) -> None:
        self.client_id = client_id
        self.given_names = given_names
        self.family_name = family_name
        self.relationship_started_on = relationship_started_on
        self.registered_jobseeker = registered_jobseeker
        self.home_municipality = home_municipality
        self.mother_tongue = mother_tongue
        self.interpreter_language = interpreter_language
        self.responsible_organisation = responsible_organisation
