"""The interview's free-text notes, sealed under a key per client (crypto-shredding), as the
notifications service seals its personal details (``shared.client_keys``).

The event store keeps only the sealed bytes, in the event's ``notes_sealed``; the client keys
live in a table of the service's own database (PostgreSQL schema or SQLite file), wrapped
under a key derived from the master key. Once a client's key is forgotten, the notes decode as
``None`` everywhere, while which matters had a note (``noted``) stays readable."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import Mapper, StoredEvent

from shared.client_keys import KeyErasedError, StoredClientKeys
from shared.errors import DomainError


class PersonErasedError(DomainError):
    code = "person_erased"


RETENTION_CLASS = "assessment_findings"  # shared/retention/retention.toml
TABLE = "assessment_client_keys"
NOTES = "notes"
SEALED = "notes_sealed"


class ClientKeys(StoredClientKeys):
    """Wrapped client keys in the assessment's own store (``shared.client_keys``)."""

    def __init__(self, recorder: Any, master_key: bytes) -> None:
        super().__init__(
            recorder,
            master_key,
            table=TABLE,
            purpose="kotoutus assessment client-key wrapping",
            # The one class this store seals (its keys before classes were this class's).
            retention_class=RETENTION_CLASS,
            erased_error=PersonErasedError,
        )


class NotesMapper(Mapper[UUID]):
    """Seals an event's ``notes`` on the way to the store and opens them on the way back."""

    keys: ClientKeys | None = None  # set once the recorder exists (it is built after us)

    def to_stored_event(self, domain_event: DomainEventProtocol[UUID]) -> StoredEvent:
        state = dict(vars(domain_event))
        if not state.get(NOTES):
            return super().to_stored_event(domain_event)
        assert self.keys is not None
        sealed = self.keys.seal(state["client_id"], state[NOTES])
        state[NOTES] = None
        state[SEALED] = sealed
        stand_in: Any = object.__new__(type(domain_event))
        object.__setattr__(stand_in, "__dict__", state)
        return super().to_stored_event(stand_in)

    def to_domain_event(self, stored_event: StoredEvent) -> DomainEventProtocol[UUID]:
        domain_event = super().to_domain_event(stored_event)
        state = vars(domain_event)
        sealed = state.pop(SEALED, None)
        if sealed is not None:
            state[NOTES] = self._open(state["client_id"], sealed)
        return domain_event

    def _open(self, client_id: UUID, sealed: str) -> dict[str, str] | None:
        """The notes, or None once the client's key is forgotten."""
        assert self.keys is not None
        try:
            notes: dict[str, str] = self.keys.open(client_id, sealed)
        except KeyErasedError:
            return None
        return notes
