"""Intake's store of clients as its commands use it: each client sealed under their own key
(crypto-shredding), found by their identifiers through lookups written with their events
(``services.intake.lookups``), and the organisation a decision of law names for them."""

from __future__ import annotations

import logging
from typing import Any
from uuid import UUID

from eventsourcing.persistence import JSONTranscoder

from services.intake.domain import Client
from services.intake.errors import IdentifierInUseError, OrphanLookupError
from services.intake.keys import ClientKeys, PostgresClientKeys, SQLiteClientKeys
from services.intake.lookups import Lookup, LookupRecorder, recorder_env
from services.intake.model import ClientFacts, Eligibility, PersonalDetails
from services.intake.sealing import PersonalDataMapper
from shared.crypto import master_key
from shared.eventstore import ServiceApplication, pydantic_transcoding
from shared.identity import IdentifierKind, lookup_digest
from shared.law.rulebook import RuleBook
from shared.messaging.dead_letters import DeadLetterArchive
from shared.settings import Settings
from shared.values import OrganisationKind

log = logging.getLogger(__name__)


def client_keys(settings: Settings) -> ClientKeys:
    master = master_key(settings)
    if settings.database_url:
        return PostgresClientKeys(master, settings.database_url, settings.schema_for("intake_keys"))
    return SQLiteClientKeys(master, settings.data_dir / "intake-keys.sqlite")


class IdentifiedClients(ServiceApplication):
    """The base of ``IntakeApplication``: its store, keys and identifier lookups."""

    def __init__(
        self,
        settings: Settings,
        env: dict[str, str],
        book: RuleBook | None = None,
        *,
        dead_letters: DeadLetterArchive | None = None,
    ):
        # Keys first: the mapper that seals personal data is built by the base class.
        self.keys = client_keys(settings)
        # The deployment's dead letters: an erasure must reach the person's there too.
        self.dead_letters = dead_letters
        super().__init__(settings, recorder_env(env), book)
        self._adopt_legacy_lookups()

    def construct_mapper(self) -> Any:
        return PersonalDataMapper(self.construct_transcoder(), self.keys, self.compressor)

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        for model in (PersonalDetails, ClientFacts, Eligibility):
            transcoder.register(pydantic_transcoding(model))

    def close(self) -> None:
        super().close()
        self.keys.close()

    def organisation_of(self, kind: OrganisationKind, facts: ClientFacts) -> str:
        if kind is OrganisationKind.MUNICIPALITY and facts.home_municipality:
            return f"municipality:{facts.home_municipality}"
        return self.settings.organisation(kind)

    def client(self, client_id: UUID) -> Client:
        return self.load(client_id, Client)

    # --- identifiers ---

    @property
    def lookups(self) -> LookupRecorder:
        recorder = self.recorder
        assert isinstance(recorder, LookupRecorder), "intake's store keeps the lookups"
        return recorder

    def _digests(self, personal: PersonalDetails | None) -> dict[IdentifierKind, str]:
        if personal is None:
            return {}
        secret = self.keys.lookup_secret
        return {k: lookup_digest(secret, k, v) for k, v in personal.identifiers().items()}

    def find(self, kind: IdentifierKind, value: str) -> UUID | None:
        return self.lookups.owner(lookup_digest(self.keys.lookup_secret, kind, value))

    def _owners(self, personal: PersonalDetails) -> dict[str, UUID | None]:
        """Each identifier's digest, and the client it names (None: no one yet)."""
        return {digest: self.lookups.owner(digest) for digest in self._digests(personal).values()}

    def _claims(self, client_id: UUID, personal: PersonalDetails | None) -> dict[str, UUID]:
        """The lookups ``client_id`` must take to carry ``personal``'s identifiers: those
        no client holds yet. One held by another client refuses the command. What is read
        here is checked again by the store: a claim made meanwhile fails the save."""
        claims: dict[str, UUID] = {}
        for kind, digest in self._digests(personal).items():
            owner = self.lookups.owner(digest)
            if owner is None:
                claims[digest] = client_id
            elif owner != client_id:
                self._owned_client(owner)  # a lookup naming no stored client is ours to mend
                raise IdentifierInUseError(kind, owner)
        return claims

    def _replaced(
        self, client_id: UUID, before: PersonalDetails | None, after: PersonalDetails | None
    ) -> dict[str, UUID]:
        """A corrected identifier no longer names the client."""
        new = self._digests(after)
        return {
            digest: client_id
            for kind, digest in self._digests(before).items()
            if new.get(kind) != digest
        }

    def _owned_client(self, owner: UUID) -> Client:
        """The client a lookup names. A lookup is written with its client's events, so a
        missing client is our own inconsistency (a lookup made by an earlier version), never
        the sender's fault: see ``kotoutus doctor``."""
        client = self.stored(owner, Client)
        if client is None:
            raise OrphanLookupError(owner)
        return client

    def repair_orphan_lookups(self, *, apply: bool) -> list[Lookup]:
        """Lookups that name no stored client; with ``apply``, released (each only if its
        client still has no event)."""
        found = self.lookups.orphans()
        if apply:
            found = [lookup for lookup in found if self.lookups.release_orphan(lookup)]
        return found

    def _adopt_legacy_lookups(self) -> None:
        """Lookups an earlier version kept beside the keys move into the event store (copy,
        then drop: a crash between copies them again, harmlessly)."""
        legacy = self.keys.legacy_lookups()
        if legacy is None:
            return  # nothing to move (every start but the first after an upgrade)
        self.lookups.adopt(legacy)
        self.keys.drop_legacy_lookups()
        log.info("intake: %d identifier lookups moved into the event store", len(legacy))
