"""The retention clock of one client's interview notes (class ``assessment_findings``), kept
in assessment's own store: intake's closure starts it, intake's legal holds stop it, and its
expiry records that the notes' key went. Pure: time comes in as arguments."""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from shared.values import Provenance

_NAMESPACE = uuid5(NAMESPACE_URL, "urn:kotoutus:assessment:findings-retention")


class FindingsRetention(Aggregate):
    @staticmethod
    def create_id(client_id: UUID, **_: Any) -> UUID:
        return uuid5(_NAMESPACE, str(client_id))

    @event("Opened")
    def __init__(self, *, client_id: UUID, provenance: Provenance) -> None:
        self.client_id = client_id
        self.closed_on: date | None = None
        self.holds: dict[str, str] = {}  # in force, by hold id: the reason
        self.expired_on: date | None = None

    def note_closure(self, *, provenance: Provenance, closed_on: date) -> bool:
        """The client relationship closed (again: the latest closure counts)."""
        if self.closed_on == closed_on or self.expired_on is not None:
            return False
        self._client_closed(client_id=self.client_id, provenance=provenance, closed_on=closed_on)
        return True

    @event("ClientClosed")
    def _client_closed(self, *, client_id: UUID, provenance: Provenance, closed_on: date) -> None:
        self.closed_on = closed_on

    def place_hold(self, *, provenance: Provenance, hold_id: str, reason: str) -> bool:
        if hold_id in self.holds:
            return False
        self._hold_placed(
            client_id=self.client_id, provenance=provenance, hold_id=hold_id, reason=reason
        )
        return True

    @event("HoldPlaced")
    def _hold_placed(
        self, *, client_id: UUID, provenance: Provenance, hold_id: str, reason: str
    ) -> None:
        self.holds[hold_id] = reason

    def lift_hold(self, *, provenance: Provenance, hold_id: str) -> bool:
        if hold_id not in self.holds:
            return False
        self._hold_lifted(client_id=self.client_id, provenance=provenance, hold_id=hold_id)
        return True

    @event("HoldLifted")
    def _hold_lifted(self, *, client_id: UUID, provenance: Provenance, hold_id: str) -> None:
        self.holds.pop(hold_id, None)

    def expire(
        self, *, provenance: Provenance, retention_class: str, rule: str, expired_on: date
    ) -> bool:
        """False when the notes went already, or a hold is in force (the hold wins)."""
        if self.expired_on is not None or self.holds:
            return False
        self._expired(
            client_id=self.client_id,
            provenance=provenance,
            retention_class=retention_class,
            rule=rule,
            expired_on=expired_on,
        )
        return True

    @event("Expired")
    def _expired(
        self,
        *,
        client_id: UUID,
        provenance: Provenance,
        retention_class: str,
        rule: str,
        expired_on: date,
    ) -> None:
        self.expired_on = expired_on
