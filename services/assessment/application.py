"""Assessment's commands and its reaction to new clients."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import ClassVar
from uuid import UUID

from eventsourcing.domain import Aggregate

from services.assessment.domain import InitialAssessment
from shared.contracts import PublicEvent
from shared.contracts import events as contracts
from shared.eventstore import ServiceApplication
from shared.law.deadlines import deadline
from shared.values import Provenance


class AssessmentApplication(ServiceApplication):
    name = "assessment"
    service_name: ClassVar[str] = "assessment"

    def on_client_registered(self, message: PublicEvent) -> Sequence[Aggregate]:
        assert isinstance(message, contracts.ClientRegistered)
        data = message.data
        assessment_id = InitialAssessment.create_id(data.client_id)
        if assessment_id in self.repository:
            return ()
        # The start deadline is set by the law in force when the client relationship starts.
        due = deadline(self.book, "assessment.start_deadline", data.relationship_started_on)
        return (
            InitialAssessment(
                client_id=data.client_id,
                provenance=Provenance.system(
                    self.service_name, data.responsible_organisation, message.occurred_at
                ),
                deadline=due,
                responsible_organisation=data.responsible_organisation,
                legal_basis=due.legal_basis,
            ),
        )

    def assessment_of(self, client_id: UUID) -> InitialAssessment:
        return self.load(InitialAssessment.create_id(client_id), InitialAssessment)

    def start(
        self, client_id: UUID, *, provenance: Provenance, started_on: date
    ) -> InitialAssessment:
        return self.update(
            InitialAssessment.create_id(client_id),
            InitialAssessment,
            lambda a: a.start(provenance=provenance, started_on=started_on),
        )

    def complete(
        self,
        client_id: UUID,
        *,
        provenance: Provenance,
        completed_on: date,
        plan_needed: bool,
        reason: str,
    ) -> InitialAssessment:
        return self.update(
            InitialAssessment.create_id(client_id),
            InitialAssessment,
            lambda a: a.complete(
                provenance=provenance,
                completed_on=completed_on,
                plan_needed=plan_needed,
                reason=reason,
            ),
        )
