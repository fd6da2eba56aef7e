"""How assessment follows intake's decisions: a client who enters a group the law assigns an
assessment gets one, an open case follows the client to the organisation that now answers for
it, and an erased person's interview notes go with their key."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from uuid import UUID

from eventsourcing.domain import Aggregate

from services.assessment.domain import InitialAssessment
from services.assessment.model import OpenedBy
from services.assessment.sealing import ClientKeys
from shared.contracts import PublicEvent
from shared.contracts import events as contracts
from shared.eventstore import ServiceApplication
from shared.law.deadlines import deadline_or_target
from shared.law.rulebook import municipal_targets
from shared.values import Provenance


class IntakeReactions(ServiceApplication):
    """The base of ``AssessmentApplication``: opening a case, and its handlers of intake's
    events."""

    keys: ClientKeys  # set by the application's constructor

    def _open(
        self,
        *,
        client_id: UUID,
        provenance: Provenance,
        opened_by: OpenedBy,
        group: str | None,
        starts_on: date,
        responsible_organisation: str,
    ) -> InitialAssessment:
        # The start deadline is set by the law in force when the period starts; where that
        # law says "without delay", the day shown is the municipality's own target.
        due = deadline_or_target(
            self.book,
            "assessment.start_deadline",
            starts_on,
            targets=municipal_targets(),
            target_id="assessment.start_target",
            municipality=self.settings.municipality_code,
        )
        return InitialAssessment(
            client_id=client_id,
            provenance=provenance,
            opened_by=opened_by,
            group=group,
            deadline=due,
            responsible_organisation=responsible_organisation,
            legal_basis=due.legal_basis,
        )

    def on_client_erased(self, message: contracts.ClientErased) -> Sequence[Aggregate]:
        """The person is erased: the key of their interview notes goes, and the notes with it
        (idempotent, so a redelivery does no harm)."""
        self.keys.forget(message.data.client_id)
        return ()

    def on_eligibility_determined(
        self, message: contracts.EligibilityDetermined
    ) -> Sequence[Aggregate]:
        """A client who enters a group the law assigns an assessment gets one."""
        data = message.data
        group = data.eligibility.group
        if not data.eligibility.in_scope or group is None:
            return ()
        rule = self.book.in_force("eligibility.scope", data.decided_on)
        if group not in rule.value("assessment_groups"):
            return ()  # an assessment on request only
        if InitialAssessment.create_id(data.client_id) in self.repository:
            return ()
        provenance = Provenance.system(
            self.service_name, data.responsible_organisation, message.occurred_at
        )
        assessment = self._open(
            client_id=data.client_id,
            provenance=provenance,
            opened_by=OpenedBy.GROUP,
            group=group,
            starts_on=data.decided_on,
            responsible_organisation=data.responsible_organisation,
        )
        self._follow_latest(assessment, message)
        return (assessment,)

    def _follow_latest(self, assessment: InitialAssessment, opened_by: PublicEvent) -> None:
        """A transfer handled before the case existed applies to it now."""
        latest = self.latest_responsibility(assessment.client_id)
        if (
            latest is not None
            and opened_by.source == "intake"
            and latest.position > opened_by.position
        ):
            assessment.transfer_responsibility(
                provenance=latest.provenance,
                from_organisation=assessment.responsible_organisation,
                to_organisation=latest.organisation,
                reason=latest.reason,
                legal_basis=latest.legal_basis,
            )

    def on_responsibility_transferred(
        self, message: contracts.ResponsibilityTransferred
    ) -> Sequence[Aggregate]:
        """The open case follows the client to the organisation that now answers for it."""
        data = message.data
        latest = self.note_responsibility(
            message, data.client_id, data.to_organisation, data.reason
        )
        assessment = self.stored(InitialAssessment.create_id(data.client_id), InitialAssessment)
        if assessment is None:
            return (latest,)  # a case opened later follows it
        assessment.transfer_responsibility(
            provenance=Provenance(
                actor=message.actor,
                organisation=message.organisation,
                occurred_at=message.occurred_at,
            ),
            from_organisation=data.from_organisation,
            to_organisation=data.to_organisation,
            reason=data.reason,
            legal_basis=message.legal_basis,
        )
        return (latest, assessment)
