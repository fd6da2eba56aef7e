"""Plans' commands and its reaction to the assessment's decision."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import ClassVar
from uuid import UUID

from eventsourcing.domain import Aggregate

from services.plans.domain import IntegrationPlan
from shared.contracts import PublicEvent
from shared.contracts import events as contracts
from shared.eventstore import ServiceApplication
from shared.law.deadlines import deadline
from shared.values import Provenance


class PlansApplication(ServiceApplication):
    name = "plans"
    service_name: ClassVar[str] = "plans"

    def on_plan_need_decided(self, message: PublicEvent) -> Sequence[Aggregate]:
        assert isinstance(message, contracts.PlanNeedDecided)
        data = message.data
        plan_id = IntegrationPlan.create_id(data.client_id)
        if not data.plan_needed or plan_id in self.repository:
            return ()
        # Preparation is due by the law in force on the day the need was decided.
        due = deadline(self.book, "plan.preparation_deadline", data.decided_on)
        return (
            IntegrationPlan(
                client_id=data.client_id,
                assessment_id=data.assessment_id,
                provenance=Provenance.system(
                    self.service_name, data.responsible_organisation, message.occurred_at
                ),
                deadline=due,
                responsible_organisation=data.responsible_organisation,
                legal_basis=due.legal_basis,
            ),
        )

    def plan_of(self, client_id: UUID) -> IntegrationPlan:
        return self.load(IntegrationPlan.create_id(client_id), IntegrationPlan)

    def draft(
        self, client_id: UUID, *, provenance: Provenance, drafted_on: date
    ) -> IntegrationPlan:
        return self.update(
            IntegrationPlan.create_id(client_id),
            IntegrationPlan,
            lambda plan: plan.draft(provenance=provenance, drafted_on=drafted_on),
        )
