"""The initial assessment aggregate. Pure: time and decisions of law come in as arguments."""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from shared.errors import DomainError
from shared.law.deadlines import Deadline
from shared.law.rulebook import RuleRef
from shared.values import Provenance

_NAMESPACE = uuid5(NAMESPACE_URL, "urn:kotoutus:initial-assessment")


class AssessmentAlreadyStartedError(DomainError):
    code = "assessment_already_started"
    texts = {
        "fi": "Alkukartoitus on jo aloitettu",
        "sv": "Den inledande kartläggningen har redan påbörjats",
        "en": "The initial assessment has already started",
    }


class AssessmentNotStartedError(DomainError):
    code = "assessment_not_started"
    texts = {
        "fi": "Alkukartoitusta ei ole aloitettu",
        "sv": "Den inledande kartläggningen har inte påbörjats",
        "en": "The initial assessment has not started",
    }


class AssessmentAlreadyCompletedError(DomainError):
    code = "assessment_already_completed"
    texts = {
        "fi": "Alkukartoitus on jo valmis",
        "sv": "Den inledande kartläggningen är redan klar",
        "en": "The initial assessment is already completed",
    }


class DateBeforeError(DomainError):
    code = "date_out_of_order"
    texts = {
        "fi": "Päivämäärä on aiempaa vaihetta aikaisempi",
        "sv": "Datumet är tidigare än föregående steg",
        "en": "The date is earlier than the previous step",
    }


class InitialAssessment(Aggregate):
    """One client's initial assessment; its id follows from the client's id."""

    @staticmethod
    def create_id(client_id: UUID, **_: Any) -> UUID:
        return uuid5(_NAMESPACE, str(client_id))

    @event("Due")
    def __init__(
        self,
        *,
        client_id: UUID,
        provenance: Provenance,
        deadline: Deadline,
        responsible_organisation: str,
        legal_basis: tuple[RuleRef, ...],
    ) -> None:
        self.client_id = client_id
        self.deadline = deadline
        self.responsible_organisation = responsible_organisation
        self.started_on: date | None = None
        self.completed_on: date | None = None
        self.plan_needed: bool | None = None

    @property
    def assessment_id(self) -> UUID:
        return self.id

    def start(self, *, provenance: Provenance, started_on: date) -> None:
        if self.started_on is not None:
            raise AssessmentAlreadyStartedError(self.started_on.isoformat())
        self._started(client_id=self.client_id, provenance=provenance, started_on=started_on)

    @event("Started")
    def _started(self, *, client_id: UUID, provenance: Provenance, started_on: date) -> None:
        self.started_on = started_on

    def complete(
        self, *, provenance: Provenance, completed_on: date, plan_needed: bool, reason: str
    ) -> None:
        if self.completed_on is not None:
            raise AssessmentAlreadyCompletedError(self.completed_on.isoformat())
        if self.started_on is None:
            raise AssessmentNotStartedError()
        if completed_on < self.started_on:
            raise DateBeforeError(f"{completed_on} < {self.started_on}")
        self._completed(client_id=self.client_id, provenance=provenance, completed_on=completed_on)
        self._plan_need_decided(
            client_id=self.client_id,
            provenance=provenance,
            decided_on=completed_on,
            plan_needed=plan_needed,
            reason=reason,
            responsible_organisation=self.responsible_organisation,
        )

    @event("Completed")
    def _completed(self, *, client_id: UUID, provenance: Provenance, completed_on: date) -> None:
        self.completed_on = completed_on

    @event("PlanNeedDecided")
    def _plan_need_decided(
        self,
        *,
        client_id: UUID,
        provenance: Provenance,
        decided_on: date,
        plan_needed: bool,
        reason: str,
        responsible_organisation: str,
    ) -> None:
        self.plan_needed = plan_needed
