"""What an erasure does to a dead letter: which letters name the person, and what is kept of
them.

A letter is matched by what it says, parsed, not by searching its text. A public event names
the client by id. Another system's message names the person by an identifier, compared
exactly. Only a body that cannot be parsed is searched as text, and then only for values too
long to occur by chance: an identity code, a client id.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from uuid import UUID

from pydantic import ValidationError

from shared.contracts import CONTRACTS, parse_event
from shared.contracts.envelope import ContractError
from shared.contracts.inbound import named_person
from shared.contracts.personal import without_personal
from shared.messaging.topology import Topology

# Shorter values (a one-letter foreign id, a six-digit number) would match unrelated text.
MIN_SEARCHED_LENGTH = 10


@dataclass(frozen=True)
class ErasedPerson:
    client_id: UUID
    identifiers: frozenset[str]  # the person's identifier values, as stored

    @classmethod
    def of(cls, client_id: UUID, identifiers: Collection[str]) -> ErasedPerson:
        return cls(client_id, frozenset(identifiers))

    def named_in(self, consumer: str, body: bytes) -> bool:
        try:
            if Topology.is_inbound(consumer):
                given = named_person(body).identifiers().values()
                return any(value in self.identifiers for value in given)
            event = parse_event(body, CONTRACTS)
        except (ContractError, ValidationError, ValueError):
            return self._searched_in(body)
        about = {
            event.aggregate_id,
            getattr(event.data, "client_id", None),
            getattr(event.data, "duplicate_id", None),  # ClientsMerged names two clients
        }
        return self.client_id in about

    def _searched_in(self, body: bytes) -> bool:
        text = body.decode("utf-8", errors="replace").upper()
        values = (str(self.client_id), *self.identifiers)
        return any(v.upper() in text for v in values if len(v) >= MIN_SEARCHED_LENGTH)

    def erased_form(self, consumer: str, body: bytes) -> bytes | None:
        """What a letter naming the person may keep (None: nothing). Another system's message
        about the person: nothing, as it cannot be applied to an erased person anyway. A public
        event: its non-personal facts, which the erasure keeps for statistics and which its
        consumer may still need, unless an identifier still shows in them (free text)."""
        if Topology.is_inbound(consumer):
            return None
        try:
            event = parse_event(body, CONTRACTS)
        except ContractError:  # unreadable, so nothing in it can be kept apart
            return None
        kept = without_personal(event).model_dump_json().encode()
        text = kept.decode().upper()
        # The letter is this client's: a short value matching by chance costs only its resend.
        if any(value.upper() in text for value in self.identifiers if len(value) >= 4):
            return None
        return kept
