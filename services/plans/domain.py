"""The integration plan aggregate. Pure: time and decisions of law come in as arguments."""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from shared.errors import DomainError
from shared.law.deadlines import Deadline
from shared.law.rulebook import RuleRef
from shared.values import Provenance

_NAMESPACE = uuid5(NAMESPACE_URL, "urn:kotoutus:integration-plan")


class PlanAlreadyDraftedError(DomainError):
    code = "plan_already_drafted"
    texts = {
        "fi": "Kotoutumissuunnitelman laatiminen on jo aloitettu",
        "sv": "Integrationsplanen har redan börjat utarbetas",
        "en": "Preparation of the integration plan has already started",
    }


class IntegrationPlan(Aggregate):
    """A client's (first) integration plan, from the decision that one is needed."""

    @staticmethod
    def create_id(client_id: UUID, **_: Any) -> UUID:
        return uuid5(_NAMESPACE, str(client_id))

    @event("PreparationDue")
    def __init__(
        self,
        *,
        client_id: UUID,
        assessment_id: UUID,
        provenance: Provenance,
        deadline: Deadline,
        responsible_organisation: str,
        legal_basis: tuple[RuleRef, ...],
    ) -> None:
        self.client_id = client_id
        self.assessment_id = assessment_id
        self.deadline = deadline
        self.responsible_organisation = responsible_organisation
        self.drafted_on: date | None = None

    def draft(self, *, provenance: Provenance, drafted_on: date) -> None:
        if self.drafted_on is not None:
            raise PlanAlreadyDraftedError(self.drafted_on.isoformat())
        self._drafted(client_id=self.client_id, provenance=provenance, drafted_on=drafted_on)

    @event("Drafted")
    def _drafted(self, *, client_id: UUID, provenance: Provenance, drafted_on: date) -> None:
        self.drafted_on = drafted_on
