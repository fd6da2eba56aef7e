"""What intake refuses, as the staff API and the dead letters name it."""

from __future__ import annotations

from uuid import UUID

from shared.errors import DomainError, InconsistentStateError, NotYetError
from shared.i18n import Term
from shared.identity import IdentifierKind


class ClientAlreadyRegisteredError(DomainError):
    code = "client_already_registered"


class UnknownPersonError(NotYetError):
    code = "unknown_person"


class IdentifierInUseError(DomainError):
    code = "identifier_in_use"

    def __init__(self, kind: IdentifierKind, owner: UUID) -> None:
        # Not the owner's id: the caller may be of another organisation than the owner.
        super().__init__(kind=Term(f"identifier.{kind.value}"))
        self.kind = kind
        self.owner = owner


class OrphanLookupError(InconsistentStateError):
    """An identifier names a client that was never stored: our state, not the message, is
    at fault. Retried (never dead-lettered as the sender's error) and reported loudly."""

    def __init__(self, client_id: UUID) -> None:
        super().__init__(
            f"an identifier lookup names client {client_id}, of whom no event is stored;"
            " run `kotoutus doctor --repair`"
        )
        self.client_id = client_id


# --- the client's own ---


class ClientClosedError(DomainError):
    code = "client_closed"


class DuplicateOfItselfError(DomainError):
    code = "duplicate_of_itself"


class UnknownConflictError(DomainError):
    code = "unknown_conflict"
