"""Plans' commands and its reaction to the assessment's decision."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from typing import ClassVar
from uuid import UUID

from eventsourcing.domain import Aggregate
from eventsourcing.persistence import JSONTranscoder

from services.plans.domain import ClientPermit, Documentation, IntegrationPlan
from shared.contracts import events as contracts
from shared.contracts.clients import ResidencePermit
from shared.contracts.plans import (
    ExtensionGround,
    Goal,
    Measure,
    MeasureKind,
    PlanEndReason,
    PlanKind,
    PlanPeriod,
)
from shared.contracts.records import Maker, ReviewContent
from shared.eventstore import ServiceApplication, pydantic_transcoding
from shared.law.deadlines import deadline
from shared.timers import passed_at
from shared.values import Provenance


class PlansApplication(ServiceApplication):
    name = "plans"
    service_name: ClassVar[str] = "plans"

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        for model in (PlanPeriod, Measure, Maker, ReviewContent):
            transcoder.register(pydantic_transcoding(model))

    def on_plan_need_decided(self, message: contracts.PlanNeedDecided) -> Sequence[Aggregate]:
        data = message.data
        plan_id = IntegrationPlan.create_id(data.client_id)
        if not data.plan_needed or plan_id in self.repository:
            return ()
        # Preparation is due by the law in force on the day the need was decided.
        due = deadline(self.book, "plan.preparation_deadline", data.decided_on)
        plan = IntegrationPlan(
            client_id=data.client_id,
            assessment_id=data.assessment_id,
            provenance=Provenance.system(
                self.service_name, data.responsible_organisation, message.occurred_at
            ),
            deadline=due,
            responsible_organisation=data.responsible_organisation,
            legal_basis=due.legal_basis,
        )
        latest = self.latest_responsibility(data.client_id)
        if latest is not None and latest.organisation != plan.responsible_organisation:
            # A transfer handled before the plan existed applies to it now.
            plan.transfer_responsibility(
                provenance=latest.provenance,
                to_organisation=latest.organisation,
                reason=latest.reason,
                legal_basis=latest.legal_basis,
            )
        return (plan,)

    def on_client_registered(self, message: contracts.ClientRegistered) -> Sequence[Aggregate]:
        """Keeps the first permit's date (the first plan must fall within years of it) and
        when the client was reached (681/2023 §20(4))."""
        data = message.data
        facts = data.client_facts
        return self._note_permit(
            message, facts.residence_permit, facts.trafficking_victim, data.relationship_started_on
        )

    def on_client_facts_changed(self, message: contracts.ClientFactsChanged) -> Sequence[Aggregate]:
        facts = message.data.facts
        return self._note_permit(message, facts.residence_permit, facts.trafficking_victim, None)

    def _note_permit(
        self,
        message: contracts.ClientRegistered | contracts.ClientFactsChanged,
        permit: ResidencePermit | None,
        victim: bool,
        reached_on: date | None,
    ) -> Sequence[Aggregate]:
        first_permit_on = permit.first_permit_on if permit else None
        client_id = message.data.client_id
        provenance = Provenance.system(self.service_name, message.organisation, message.occurred_at)
        record = self.stored(ClientPermit.create_id(client_id), ClientPermit)
        if record is not None:
            record.note(
                provenance=provenance,
                first_permit_on=first_permit_on,
                trafficking_victim=victim,
                reached_on=reached_on,
            )
        else:
            record = ClientPermit(
                client_id=client_id,
                provenance=provenance,
                first_permit_on=first_permit_on,
                trafficking_victim=victim,
                reached_on=reached_on,
            )
        return (record,)

    def on_responsibility_transferred(
        self, message: contracts.ResponsibilityTransferred
    ) -> Sequence[Aggregate]:
        latest = self.note_responsibility(
            message, message.data.client_id, message.data.to_organisation, message.data.reason
        )
        plan = self.stored(IntegrationPlan.create_id(message.data.client_id), IntegrationPlan)
        if plan is None:
            return (latest,)  # a plan opened later follows it
        plan.transfer_responsibility(
            provenance=Provenance(
                actor=message.actor,
                organisation=message.organisation,
                occurred_at=message.occurred_at,
            ),
            to_organisation=message.data.to_organisation,
            reason=message.data.reason,
            legal_basis=message.legal_basis,
        )
        return (latest, plan)

    def first_permit_on(self, client_id: UUID) -> date | None:
        record = self.stored(ClientPermit.create_id(client_id), ClientPermit)
        return record.first_permit_on if record is not None else None

    def _change(
        self, client_id: UUID, change: Callable[[IntegrationPlan], None]
    ) -> IntegrationPlan:
        return self.update(IntegrationPlan.create_id(client_id), IntegrationPlan, change)

    def agree(
        self,
        client_id: UUID,
        *,
        provenance: Provenance,
        agreed_on: date,
        period: PlanPeriod,
        kind: PlanKind,
        goals: tuple[Goal, ...],
        measures: tuple[Measure, ...],
        job_seeking_obligation: bool,
        documentation: Documentation | None = None,
    ) -> IntegrationPlan:
        first_permit_on = self.first_permit_on(client_id)
        known = self.stored(ClientPermit.create_id(client_id), ClientPermit)
        victim_reached_on = known.reached_on if known and known.trafficking_victim else None
        return self._change(
            client_id,
            lambda plan: plan.agree(
                provenance=provenance,
                agreed_on=agreed_on,
                period=period,
                kind=kind,
                goals=goals,
                measures=measures,
                job_seeking_obligation=job_seeking_obligation,
                first_permit_on=first_permit_on,
                book=self.book,
                trafficking_victim_reached_on=victim_reached_on,
                documentation=documentation,
            ),
        )

    def document(
        self, client_id: UUID, *, provenance: Provenance, documentation: Documentation
    ) -> IntegrationPlan:
        """What the national data store asks of the plan (Decree 874/2024 §2(1))."""
        return self._change(
            client_id,
            lambda plan: plan.document(provenance=provenance, documentation=documentation),
        )

    def document_review(
        self, client_id: UUID, *, provenance: Provenance, reviewed_on: date, content: ReviewContent
    ) -> IntegrationPlan:
        """Completes the record of a review made (Decree 874/2024 §3(2))."""
        return self._change(
            client_id,
            lambda plan: plan.document_review(
                provenance=provenance, reviewed_on=reviewed_on, content=content
            ),
        )

    def enrol(
        self, client_id: UUID, *, provenance: Provenance, enrolled_on: date, service: MeasureKind
    ) -> IntegrationPlan:
        return self._change(
            client_id,
            lambda plan: plan.enrol(
                provenance=provenance, enrolled_on=enrolled_on, service=service
            ),
        )

    def review(
        self,
        client_id: UUID,
        *,
        provenance: Provenance,
        reviewed_on: date,
        content: ReviewContent | None = None,
    ) -> IntegrationPlan:
        return self._change(
            client_id,
            lambda plan: plan.review(
                provenance=provenance, reviewed_on=reviewed_on, book=self.book, content=content
            ),
        )

    def extend(
        self,
        client_id: UUID,
        *,
        provenance: Provenance,
        ends_on: date,
        reason: str,
        ground: ExtensionGround | None = None,
        lost_days: int | None = None,
    ) -> IntegrationPlan:
        return self._change(
            client_id,
            lambda plan: plan.extend(
                provenance=provenance,
                ends_on=ends_on,
                reason=reason,
                book=self.book,
                ground=ground,
                lost_days=lost_days,
            ),
        )

    def end(
        self, client_id: UUID, *, provenance: Provenance, ended_on: date, reason: PlanEndReason
    ) -> IntegrationPlan:
        return self._change(
            client_id,
            lambda plan: plan.end(provenance=provenance, ended_on=ended_on, reason=reason),
        )

    def mark_overdue(self, plan_id: UUID, kind: str, today: date) -> bool:
        def decide(plan: IntegrationPlan) -> bool:
            due = plan.enrolment_due if kind == "enrolment" else plan.review_due
            assert due is not None
            provenance = Provenance.system(
                self.service_name, plan.responsible_organisation, passed_at(due.due)
            )
            return plan.mark_overdue(provenance=provenance, kind=kind, today=today)

        return self.decide(plan_id, IntegrationPlan, decide)[1]

    def plan_of(self, client_id: UUID) -> IntegrationPlan:
        return self.load(IntegrationPlan.create_id(client_id), IntegrationPlan)

    def responsible_organisation(self, client_id: UUID) -> str | None:
        if IntegrationPlan.create_id(client_id) in self.repository:
            return self.plan_of(client_id).responsible_organisation
        return super().responsible_organisation(client_id)

    def draft(
        self, client_id: UUID, *, provenance: Provenance, drafted_on: date
    ) -> IntegrationPlan:
        return self.update(
            IntegrationPlan.create_id(client_id),
            IntegrationPlan,
            lambda plan: plan.draft(provenance=provenance, drafted_on=drafted_on),
        )
