"""Intake's commands: clients from staff and from other municipal systems."""

from __future__ import annotations

import logging
from datetime import date
from typing import Any, ClassVar
from uuid import UUID, uuid5

from eventsourcing.persistence import IntegrityError, JSONTranscoder

from services.intake.domain import Client
from services.intake.handover import HandoverItem, HandoverLaw, HandoverReport
from services.intake.inbound import InboundReceipt, personal_conflicts
from services.intake.keys import (
    ClientKeys,
    PostgresClientKeys,
    SQLiteClientKeys,
)
from services.intake.lookups import Lookup, LookupChanges, LookupRecorder, recorder_env
from services.intake.model import ClientFacts, Eligibility, PersonalDetails
from services.intake.sealing import PersonalDataMapper
from shared.contracts.inbound import CloudEvent, InboundData, parse_inbound
from shared.crypto import master_key
from shared.errors import (
    ConcurrentUpdateError,
    DomainError,
    InconsistentStateError,
    NotFoundError,
    NotYetError,
)
from shared.eventstore import MAX_ATTEMPTS, ServiceApplication, pydantic_transcoding
from shared.identity import IdentifierKind, lookup_digest
from shared.law.rulebook import RuleBook
from shared.messaging.erasure import ErasedPerson
from shared.settings import Settings
from shared.values import Actor, ActorKind, OrganisationKind, Provenance

log = logging.getLogger(__name__)


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


def client_keys(settings: Settings) -> ClientKeys:
    master = master_key(settings)
    if settings.database_url:
        return PostgresClientKeys(master, settings.database_url, settings.schema_for("intake_keys"))
    return SQLiteClientKeys(master, settings.data_dir / "intake-keys.sqlite")


class IntakeApplication(ServiceApplication):
    name = "intake"
    service_name: ClassVar[str] = "intake"

    def __init__(self, settings: Settings, env: dict[str, str], book: RuleBook | None = None):
        # Keys first: the mapper that seals personal data is built by the base class.
        self.keys = client_keys(settings)
        super().__init__(settings, recorder_env(env), book)
        self._adopt_legacy_lookups()

    def construct_mapper(self) -> Any:
        return PersonalDataMapper(self.construct_transcoder(), self.keys)

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

    # --- commands ---

    def register_client(
        self,
        *,
        client_id: UUID,
        provenance: Provenance,
        personal: PersonalDetails,
        facts: ClientFacts,
        relationship_started_on: date,
        source: str = "staff",
    ) -> Client:
        for _ in range(MAX_ATTEMPTS):
            if client_id in self.repository:
                raise ClientAlreadyRegisteredError(str(client_id))
            claims = self._claims(client_id, personal)
            client = Client.register(
                client_id=client_id,
                provenance=provenance,
                personal=personal,
                facts=facts,
                relationship_started_on=relationship_started_on,
                book=self.book,
                organisation_of=self.organisation_of,
                source=source,
            )
            try:
                self.save(client, identifier_lookups=LookupChanges(claim=claims))
            except IntegrityError:
                continue  # the id or an identifier was taken meanwhile: the next turn says
            return client
        raise ConcurrentUpdateError(f"register {client_id}")

    def client(self, client_id: UUID) -> Client:
        return self.load(client_id, Client)

    def responsible_organisation(self, client_id: UUID) -> str | None:
        try:
            return self.client(client_id).responsible_organisation
        except NotFoundError:
            return None

    def correct_details(
        self, client_id: UUID, *, provenance: Provenance, personal: PersonalDetails, reason: str
    ) -> Client:
        for _ in range(MAX_ATTEMPTS):
            client = self.client(client_id)
            claims = self._claims(client_id, personal)
            before = client.personal
            client.correct_details(provenance=provenance, personal=personal, reason=reason)
            changes = LookupChanges(
                claim=claims, release=self._replaced(client_id, before, client.personal)
            )
            try:
                self.save(client, identifier_lookups=changes)
            except IntegrityError:
                continue
            return client
        raise ConcurrentUpdateError(f"{Client.__name__} {client_id}")

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

    def change_facts(
        self,
        client_id: UUID,
        *,
        provenance: Provenance,
        changes: dict[str, Any],
        cause: str,
        effective_on: date,
    ) -> Client:
        def decide(client: Client) -> None:
            facts = ClientFacts.model_validate({**client.facts.model_dump(), **changes})
            client.change_facts(
                provenance=provenance,
                facts=facts,
                cause=cause,
                effective_on=effective_on,
                book=self.book,
                organisation_of=self.organisation_of,
            )

        return self.update(client_id, Client, decide)

    def resolve_conflict(
        self,
        client_id: UUID,
        *,
        provenance: Provenance,
        conflict_id: str,
        accept: bool,
        reason: str,
    ) -> Client:
        return self.update(
            client_id,
            Client,
            lambda c: c.resolve_conflict(
                provenance=provenance, conflict_id=conflict_id, accept=accept, reason=reason
            ),
        )

    def merge(
        self, client_id: UUID, *, provenance: Provenance, duplicate_id: UUID, reason: str
    ) -> Client:
        """One person registered twice: ``duplicate_id`` is merged into ``client_id``."""
        for _ in range(MAX_ATTEMPTS):
            survivor = self.client(client_id)
            duplicate = self.client(duplicate_id)
            survivor.absorb(provenance=provenance, duplicate=duplicate, reason=reason)
            # The duplicate's identifiers name the survivor, in the transaction that records
            # the merge.
            moved = {
                digest: duplicate_id
                for digest in self._digests(duplicate.personal).values()
                if self.lookups.owner(digest) == duplicate_id
            }
            changes = LookupChanges(claim=dict.fromkeys(moved, client_id), release=moved)
            try:
                self.save(survivor, duplicate, identifier_lookups=changes)
            except IntegrityError:
                continue
            return survivor
        raise ConcurrentUpdateError(f"merge {duplicate_id} into {client_id}")

    def assign_worker(self, client_id: UUID, *, provenance: Provenance, worker: str) -> Client:
        return self.update(
            client_id, Client, lambda c: c.assign_worker(provenance=provenance, worker=worker)
        )

    def close_client(self, client_id: UUID, *, provenance: Provenance, reason: str) -> Client:
        return self.update(
            client_id, Client, lambda c: c.close(provenance=provenance, reason=reason)
        )

    # --- the 2025 handover ---

    def client_ids(self) -> list[UUID]:
        """Every registered client, in registration order (read from the log)."""
        ids: list[UUID] = []
        position = 0
        while notifications := self.recorder.select_notifications(position + 1, 1000):
            for notification in notifications:
                position = notification.id
                if notification.topic.endswith("Client.Registered"):
                    ids.append(UUID(str(notification.originator_id)))
        return ids

    def handover(self, *, provenance: Provenance, dry_run: bool) -> HandoverReport:
        """Transfers every active client of the TE office: jobseekers to the employment
        authority, everyone else to the municipality. Running it again changes nothing.
        Each transfer's business time is the moment the offices ceased, whenever it is run."""
        law = HandoverLaw.in_force(self.book, date(2025, 1, 1))
        provenance = provenance.model_copy(update={"occurred_at": law.moment})
        from_organisation = self.settings.organisation(law.office)
        items: list[HandoverItem] = []
        for client_id in self.client_ids():
            client = self.client(client_id)
            if not client.active or client.responsible_organisation != from_organisation:
                continue
            item = HandoverItem(
                client_id=client_id,
                from_organisation=from_organisation,
                to_organisation=self.organisation_of(law.successor(client.facts), client.facts),
                registered_jobseeker=client.facts.registered_jobseeker,
            )
            if not dry_run:
                self.update(
                    client_id,
                    Client,
                    lambda c, item=item: c.hand_over(  # type: ignore[misc]
                        provenance=provenance,
                        from_organisation=item.from_organisation,
                        to_organisation=item.to_organisation,
                        legal_basis=law.legal_basis,
                    ),
                )
            items.append(item)
        return HandoverReport(
            handover_on=law.on,
            dry_run=dry_run,
            legal_basis=list(law.citations),
            transferred=items,
            count=len(items),
        )

    # --- other municipal systems ---

    def receive(self, body: bytes | str) -> str:
        """Applies one inbound message once; returns what became of it."""
        envelope, payload = parse_inbound(body)
        receipt_id = InboundReceipt.create_id(envelope.source, envelope.id)
        provenance = Provenance(
            actor=Actor(id=f"integration:{envelope.source}", kind=ActorKind.INTEGRATION),
            organisation=f"system:{envelope.source}",
            occurred_at=envelope.time,
        )
        for _ in range(MAX_ATTEMPTS):
            if receipt_id in self.repository:
                return "duplicate"
            client_id, changed, outcome, claims = self._apply(envelope, payload, provenance)
            receipt = InboundReceipt(
                source=envelope.source,
                message_id=envelope.id,
                message_type=envelope.type,
                sent_at=envelope.time,
                provenance=provenance,
                client_id=client_id,
                outcome=outcome,
            )
            try:
                self.save(receipt, *changed, identifier_lookups=LookupChanges(claim=claims))
            except IntegrityError:
                # The same message concurrently, the client changed, or another message
                # registered the person meanwhile: the next turn finds what was stored.
                continue
            return outcome
        raise ConcurrentUpdateError(f"{envelope.source} {envelope.id}")

    def _apply(
        self, envelope: CloudEvent, payload: InboundData, provenance: Provenance
    ) -> tuple[UUID | None, list[Client], str, dict[str, UUID]]:
        """What the message does: the client, the changed aggregates, the outcome, and the
        lookups to claim for the client in the same transaction."""
        personal = payload.personal()
        found = self._owners(personal)  # read once: the claims below come from it too
        owners = sorted({owner for owner in found.values() if owner is not None})
        if not owners:
            if not payload.CREATES_CLIENT:
                raise UnknownPersonError(f"{envelope.type} does not register new clients")
            client_id = uuid5(InboundReceipt.create_id(envelope.source, envelope.id), "client")
            client = Client.register(
                client_id=client_id,
                provenance=provenance,
                personal=personal,
                facts=ClientFacts.model_validate(payload.facts()),
                relationship_started_on=payload.effective_on(),
                book=self.book,
                organisation_of=self.organisation_of,
                source=envelope.source,
            )
            return (
                client_id,
                [client],
                "registered",
                dict.fromkeys(found, client_id),
            )
        clients = [self._owned_client(owner) for owner in owners]
        cause = f"{envelope.type} from {envelope.source}"
        if len(clients) > 1:
            # Its identifiers name different clients: nothing is applied until staff decide.
            for client in clients:
                client.raise_conflict(
                    provenance=provenance,
                    conflict_id=f"{envelope.source}:{envelope.id}",
                    field="identifiers",
                    incoming=personal,
                    cause=cause,
                )
            return None, clients, "conflict", {}
        client = clients[0]
        if not client.active:
            return client.id, [], "ignored: the client relationship is closed", {}
        assert client.personal is not None
        incoming = personal.model_dump(exclude_none=True)
        disputed = personal_conflicts(client.personal.model_dump(exclude_none=True), incoming)
        for field in disputed:
            client.raise_conflict(
                provenance=provenance,
                conflict_id=f"{envelope.source}:{envelope.id}:{field}",
                field=field,
                incoming=PersonalDetails.model_validate({field: incoming[field]}),
                cause=cause,
            )
        agreed = PersonalDetails.model_validate(
            {k: v for k, v in incoming.items() if k not in disputed}
        )
        client.correct_details(provenance=provenance, personal=agreed, reason=cause)
        client.change_facts(
            provenance=provenance,
            facts=ClientFacts.model_validate({**client.facts.model_dump(), **payload.facts()}),
            cause=envelope.type,
            effective_on=payload.effective_on(),
            book=self.book,
            organisation_of=self.organisation_of,
        )
        # Every identifier names this client or no one (else a conflict above): claim the
        # agreed ones no one holds yet.
        agreed_digests = set(self._digests(agreed).values())
        claims = {
            d: client.id for d, owner in found.items() if owner is None and d in agreed_digests
        }
        return client.id, [client], "conflict" if disputed else "updated", claims

    def erase(self, client_id: UUID, *, provenance: Provenance, legal_ground: str) -> Client:
        """Puts dead letters about the person in their erased form, records the erasure, then
        destroys the key; a crash in between is mended by asking again (each step is
        idempotent). Dead letters go first: they are found by the identifiers, which only the
        key can still read."""
        client = self.client(client_id)
        if self.dead_letters is not None:
            known = client.personal.identifiers().values() if client.personal else ()
            erased = self.dead_letters.erase_person(ErasedPerson.of(client_id, known))
            log.info("erasure of %s: %d dead letters put in their erased form", client_id, erased)
        for _ in range(MAX_ATTEMPTS):
            record = self.client(client_id)
            record.erase(provenance=provenance, legal_ground=legal_ground)
            try:
                # The lookups go with the erasure's event: none outlives the person.
                self.save(record, identifier_lookups=LookupChanges(forget=client_id))
            except IntegrityError:
                continue
            break
        else:
            raise ConcurrentUpdateError(f"erase {client_id}")
        self.keys.erase(client_id)
        return self.client(client_id)
