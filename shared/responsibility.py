"""Responsibility transfers that arrive before the case they concern.

Messages need not arrive in order: intake's ``ResponsibilityTransferred`` can be handled before
the message that opens the assessment or plan it concerns. A service remembers the latest
transfer per client with its position in intake's log, and a case opened from an earlier
position of that log follows it. (Positions order intake's events; business times need not.)"""

from __future__ import annotations

from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from shared.law.rulebook import RuleRef
from shared.values import Provenance

_NAMESPACE = uuid5(NAMESPACE_URL, "urn:kotoutus:latest-responsibility")


class LatestResponsibility(Aggregate):
    @staticmethod
    def create_id(client_id: UUID, **_: Any) -> UUID:
        return uuid5(_NAMESPACE, str(client_id))

    @event("Noted")
    def __init__(
        self,
        *,
        client_id: UUID,
        provenance: Provenance,
        organisation: str,
        reason: str,
        legal_basis: tuple[RuleRef, ...],
        position: int,
    ) -> None:
        self.client_id = client_id
        self._set(provenance, organisation, reason, legal_basis, position)

    def _set(
        self,
        provenance: Provenance,
        organisation: str,
        reason: str,
        legal_basis: tuple[RuleRef, ...],
        position: int,
    ) -> None:
        self.provenance = provenance
        self.organisation = organisation
        self.reason = reason
        self.legal_basis = legal_basis
        self.position = position

    def note(
        self,
        *,
        provenance: Provenance,
        organisation: str,
        reason: str,
        legal_basis: tuple[RuleRef, ...],
        position: int,
    ) -> None:
        if position > self.position:
            self._noted(
                provenance=provenance,
                organisation=organisation,
                reason=reason,
                legal_basis=legal_basis,
                position=position,
            )

    @event("Changed")
    def _noted(
        self,
        *,
        provenance: Provenance,
        organisation: str,
        reason: str,
        legal_basis: tuple[RuleRef, ...],
        position: int,
    ) -> None:
        self._set(provenance, organisation, reason, legal_basis, position)
