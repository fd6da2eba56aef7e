"""Intake's legal holds as another service keeps them in its own store, so that its retention
timer is kept from its own log alone (each service hears the others only through events).
A hold (a dispute, an audit, a request under GDPR Art. 18) stops every retention clock of the
client until it is lifted; the days it lasted are added to the period (``schedule.expiry``)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol, TypeVar
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from shared.contracts import PublicEvent
from shared.contracts import events as contracts
from shared.retention.clocks import ClockState
from shared.retention.watch import business_day
from shared.values import Provenance

_NAMESPACE = uuid5(NAMESPACE_URL, "urn:kotoutus:retention:legal-holds")
NAME = "LegalHolds"  # the aggregate's stored name, as ``read_holds`` recognises its events

A = TypeVar("A", bound=Aggregate)


class LegalHolds(Aggregate):
    """The legal holds in force on one client, by hold id: the reason."""

    @staticmethod
    def create_id(client_id: UUID, **_: Any) -> UUID:
        return uuid5(_NAMESPACE, str(client_id))

    @event("Opened")
    def __init__(self, *, client_id: UUID, provenance: Provenance) -> None:
        self.client_id = client_id
        self.holds: dict[str, str] = {}

    def place(self, *, provenance: Provenance, hold_id: str, reason: str) -> bool:
        """False when it is in force already (a redelivered message changes nothing)."""
        if hold_id in self.holds:
            return False
        self._placed(
            client_id=self.client_id, provenance=provenance, hold_id=hold_id, reason=reason
        )
        return True

    @event("HoldPlaced")
    def _placed(
        self, *, client_id: UUID, provenance: Provenance, hold_id: str, reason: str
    ) -> None:
        self.holds[hold_id] = reason

    def lift(self, *, provenance: Provenance, hold_id: str) -> bool:
        if hold_id not in self.holds:
            return False
        self._lifted(client_id=self.client_id, provenance=provenance, hold_id=hold_id)
        return True

    @event("HoldLifted")
    def _lifted(self, *, client_id: UUID, provenance: Provenance, hold_id: str) -> None:
        self.holds.pop(hold_id, None)


class Stores(Protocol):
    def stored(self, aggregate_id: UUID, kind: type[A]) -> A | None: ...


def _provenance(message: PublicEvent) -> Provenance:
    return Provenance(
        actor=message.actor, organisation=message.organisation, occurred_at=message.occurred_at
    )


def _holds(app: Stores, message: PublicEvent, client_id: UUID) -> LegalHolds:
    found = app.stored(LegalHolds.create_id(client_id), LegalHolds)
    if found is not None:
        return found
    return LegalHolds(client_id=client_id, provenance=_provenance(message))


def on_legal_hold_placed(app: Stores, message: contracts.LegalHoldPlaced) -> Sequence[Aggregate]:
    holds = _holds(app, message, message.data.client_id)
    holds.place(
        provenance=_provenance(message), hold_id=message.data.hold_id, reason=message.data.reason
    )
    return (holds,)


def on_legal_hold_lifted(app: Stores, message: contracts.LegalHoldLifted) -> Sequence[Aggregate]:
    holds = app.stored(LegalHolds.create_id(message.data.client_id), LegalHolds)
    if holds is None:  # never placed here: nothing to lift
        return ()
    holds.lift(provenance=_provenance(message), hold_id=message.data.hold_id)
    return (holds,)


def read_holds(state: ClockState, name: str, decode: Callable[[], Any]) -> bool:
    """Feeds the clocks from one stored event of ``LegalHolds``; False for another event."""
    if not name.startswith(f"{NAME}."):
        return False
    kind = name.split(".", 1)[1]
    if kind in {"HoldPlaced", "HoldLifted"}:
        held = decode()
        day = business_day(held.provenance.occurred_at)
        if kind == "HoldPlaced":
            state.hold(held.client_id, held.hold_id, held.reason, day)
        else:
            state.lift(held.client_id, held.hold_id, day)
    return True
