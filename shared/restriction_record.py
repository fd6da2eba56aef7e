"""A service's own record of whether a client's processing is restricted (GDPR Art. 18).

Intake decides (``ProcessingRestricted``, ``RestrictionLifted``); a service that answers reads of
a client's case keeps what intake decided in its own store, so that it can refuse those reads
from its own log alone (each service keeps its own event store and hears the others only
through events). While restricted, the data is kept, not used: a read answers only that it is
restricted (``ProcessingRestrictedError``, 409)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, TypeVar
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from shared.contracts import PublicEvent
from shared.contracts import events as contracts
from shared.data_subject import ProcessingRestrictedError
from shared.values import Provenance

_NAMESPACE = uuid5(NAMESPACE_URL, "urn:kotoutus:processing-restriction")

A = TypeVar("A", bound=Aggregate)


class ProcessingRestriction(Aggregate):
    """Whether one client's processing is restricted now, and why (the last word of intake)."""

    @staticmethod
    def create_id(client_id: UUID, **_: Any) -> UUID:
        return uuid5(_NAMESPACE, str(client_id))

    @event("Restricted")
    def __init__(self, *, client_id: UUID, provenance: Provenance, reason: str) -> None:
        self.client_id = client_id
        self.restricted = True
        self.reason: str | None = reason

    def restrict(self, *, provenance: Provenance, reason: str) -> bool:
        """False when it is restricted already (a redelivered message changes nothing)."""
        if self.restricted:
            return False
        self._restricted_again(provenance=provenance, reason=reason)
        return True

    @event("RestrictedAgain")
    def _restricted_again(self, *, provenance: Provenance, reason: str) -> None:
        self.restricted = True
        self.reason = reason

    def lift(self, *, provenance: Provenance, reason: str) -> bool:
        if not self.restricted:
            return False
        self._lifted(provenance=provenance, reason=reason)
        return True

    @event("Lifted")
    def _lifted(self, *, provenance: Provenance, reason: str) -> None:
        self.restricted = False
        self.reason = None


class Stores(Protocol):
    """What the handlers need of a service's application."""

    def stored(self, aggregate_id: UUID, kind: type[A]) -> A | None: ...


def _provenance(message: PublicEvent) -> Provenance:
    return Provenance(
        actor=message.actor, organisation=message.organisation, occurred_at=message.occurred_at
    )


def on_processing_restricted(
    app: Stores, message: contracts.ProcessingRestricted
) -> Sequence[Aggregate]:
    client_id = message.data.client_id
    record = app.stored(ProcessingRestriction.create_id(client_id), ProcessingRestriction)
    if record is None:
        return (
            ProcessingRestriction(
                client_id=client_id, provenance=_provenance(message), reason=message.data.reason
            ),
        )
    record.restrict(provenance=_provenance(message), reason=message.data.reason)
    return (record,)


def on_restriction_lifted(app: Stores, message: contracts.RestrictionLifted) -> Sequence[Aggregate]:
    record = app.stored(
        ProcessingRestriction.create_id(message.data.client_id), ProcessingRestriction
    )
    if record is None:  # never restricted here: nothing to lift
        return ()
    record.lift(provenance=_provenance(message), reason=message.data.reason)
    return (record,)


def refuse_if_restricted(app: Stores, client_id: UUID) -> None:
    """A restricted client's case is kept, not shown (GDPR Art. 18)."""
    record = app.stored(ProcessingRestriction.create_id(client_id), ProcessingRestriction)
    if record is not None and record.restricted:
        raise ProcessingRestrictedError()
