"""Receiving facts from other municipal systems: match the person, apply what agrees, raise a
conflict for what does not, and remember every message so the same one is applied once."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

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
    ) -> None:
        self.source = source
        self.message_id = message_id
        self.client_id = client_id
        self.outcome = outcome


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
