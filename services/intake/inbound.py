"""Receiving facts from other municipal systems: match the person, apply what agrees, raise a
conflict for what does not, and remember every message so the same one is applied once."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from shared.errors import DomainError
from shared.values import Provenance

_NAMESPACE = uuid5(NAMESPACE_URL, "urn:kotoutus:inbound-receipt")


class InboundReceipt(Aggregate):
    """One received message, saved with its effect in one transaction: the inbox."""

    @staticmethod
    def create_id(source: str, message_id: str, **_: Any) -> UUID:
        return uuid5(_NAMESPACE, f"{source}\x00{message_id}")

    @event("Received")
    def __init__(
        self,
        *,
        source: str,
        message_id: str,
        message_type: str,
        sent_at: datetime,
        provenance: Provenance,
        client_id: UUID | None,
        outcome: str,
        digest: str | None = None,
    ) -> None:
        self.source = source
        self.message_id = message_id
        self.client_id = client_id
        self.outcome = outcome
        # What the message said (``CloudEvent.digest``). The library asks for every
        # keyword-only argument when a receipt is made; the default is for receipts stored
        # before the digest was kept, replayed without one: their redeliveries are duplicates.
        self.digest = digest

    def repeats(self, digest: str) -> bool:
        """Whether a message of the same (``source``, ``id``) that says ``digest`` is this
        one again (a duplicate), not another message under the same identity."""
        return self.digest is None or self.digest == digest


class InboundMessageConflictError(DomainError):
    """The same (``source``, ``id``) came before with other content: the sender reused an
    identity, and which message is right is not ours to guess."""

    code = "inbound_message_conflict"


def personal_conflicts(known: dict[str, Any], incoming: dict[str, Any]) -> list[str]:
    """Fields both know and disagree on (a new value where none was known is no conflict)."""
    return sorted(
        field
        for field, value in incoming.items()
        if value is not None
        and known.get(field) is not None
        and known[field] != value
        and field != "contact"  # a new address or phone replaces the old one
    )
