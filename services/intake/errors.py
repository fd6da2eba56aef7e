"""What intake refuses, as the staff API and the dead letters name it."""

from __future__ import annotations

from uuid import UUID

from shared.errors import DomainError, InconsistentStateError, NotYetError
from shared.identity import IdentifierKind


class ClientAlreadyRegisteredError(DomainError):
    code = "client_already_registered"
    texts = {
        "fi": "Asiakas on jo rekisteröity",
        "sv": "Klienten är redan registrerad",
        "en": "The client is already registered",
    }


class UnknownPersonError(NotYetError):
    code = "unknown_person"
    texts = {
        "fi": "Henkilö ei ole asiakas",
        "sv": "Personen är inte klient",
        "en": "No client matches the person",
    }


class IdentifierInUseError(DomainError):
    code = "identifier_in_use"
    texts = {
        "fi": "Tunniste kuuluu jo toiselle asiakkaalle",
        "sv": "Identifieraren hör redan till en annan klient",
        "en": "The identifier already belongs to another client",
    }

    def __init__(self, kind: IdentifierKind, owner: UUID) -> None:
        # Not the owner's id: the caller may be of another organisation than the owner.
        super().__init__(kind.value)
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
    texts = {
        "fi": "Asiakkuus on päättynyt tai tiedot on poistettu",
        "sv": "Klientrelationen har avslutats eller uppgifterna har raderats",
        "en": "The client relationship is closed or the person was erased",
    }


class DuplicateOfItselfError(DomainError):
    code = "duplicate_of_itself"
    texts = {
        "fi": "Asiakasta ei voi yhdistää itseensä",
        "sv": "En klient kan inte slås ihop med sig själv",
        "en": "A client cannot be merged into itself",
    }


class UnknownConflictError(DomainError):
    code = "unknown_conflict"
    texts = {
        "fi": "Ristiriitaa ei löydy tai se on jo ratkaistu",
        "sv": "Konflikten finns inte eller är redan löst",
        "en": "No such open conflict",
    }
