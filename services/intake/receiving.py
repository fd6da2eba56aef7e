"""Messages from other municipal systems, applied once each: the person matched by their
identifiers, what agrees applied, a conflict raised for staff where it does not, and the
message remembered with its effect in one transaction (the inbox, ``InboundReceipt``)."""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import Any
from uuid import UUID, uuid5

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError

from services.intake.domain import Client
from services.intake.errors import UnknownPersonError
from services.intake.identifiers import IdentifiedClients
from services.intake.inbound import (
    InboundMessageConflictError,
    InboundReceipt,
    personal_conflicts,
)
from services.intake.lookups import LOOKUPS, LookupChanges
from services.intake.model import ClientFacts, PersonalDetails
from shared.batching import batch_cache, current_batch, remember
from shared.clock import utc_now
from shared.contracts.inbound import CloudEvent, InboundData, InboundMessage, parse_inbound
from shared.errors import ConcurrentUpdateError
from shared.eventstore import MAX_ATTEMPTS
from shared.values import Actor, ActorKind, Provenance

# A batch's lookups (``_owners``): the claims of its messages so far, and each owner read.
_CLAIMED = "intake claims"
_OWNER = "intake lookup"
_NO_RECEIPT = "intake receipts not stored"  # read ahead (``_read_ahead``)


class InboundMessages(IdentifiedClients):
    """``IntakeApplication``'s receiving of other systems' messages."""

    def receive(self, message: InboundMessage | bytes | str) -> str:
        """Applies one inbound message once; returns what became of it."""
        return self.receive_many([message])[0]

    def receive_many(self, received: Sequence[InboundMessage | bytes | str]) -> list[str]:
        """Applies inbound messages once each, in one transaction: their effects, a receipt
        each and the lookups they claim, stored all or nothing (an error of any message
        raises, and nothing is stored). Each message sees what the earlier ones did — a
        person the first registered, the second finds. Returns what became of each.

        A message is its headers and body (either content mode), or a bare body (structured
        mode). One whose (``source``, ``id``) came before with other content is refused
        (``InboundMessageConflictError``); with the same content it is a duplicate."""
        messages = [parse_inbound(message) for message in received]
        # An event without ``time`` happened, as far as we know, when it was received.
        received_at = utc_now()
        for _ in range(MAX_ATTEMPTS):
            with self.batch() as batch:
                self._read_ahead(messages)
                outcomes: list[str] = []
                new_events: list[Any] = []
                claimed: dict[str, UUID] = batch.cache.setdefault(_CLAIMED, {})
                registered: list[UUID] = []
                for envelope, payload in messages:
                    receipt_id = InboundReceipt.create_id(envelope.source, envelope.id)
                    digest = envelope.digest()
                    earlier = self._receipt(receipt_id)  # stored, or earlier in this batch
                    if earlier is not None:
                        if not earlier.repeats(digest):
                            raise InboundMessageConflictError(
                                f"{envelope.source} {envelope.id}: received before with"
                                " other content"
                            )
                        outcomes.append("duplicate")
                        continue
                    occurred_at = envelope.time or received_at
                    provenance = Provenance(
                        actor=Actor(
                            id=f"integration:{envelope.source}", kind=ActorKind.INTEGRATION
                        ),
                        organisation=f"system:{envelope.source}",
                        occurred_at=occurred_at,
                    )
                    client_id, changed, outcome, claims = self._apply(envelope, payload, provenance)
                    receipt = InboundReceipt(
                        source=envelope.source,
                        message_id=envelope.id,
                        message_type=envelope.type,
                        sent_at=occurred_at,
                        provenance=provenance,
                        client_id=client_id,
                        outcome=outcome,
                        digest=digest,
                    )
                    new_events += batch.keep(receipt, *changed)
                    claimed.update(claims)
                    outcomes.append(outcome)
                    if outcome == "registered" and client_id is not None:
                        registered.append(client_id)
                self.keys.make_keys(registered)  # one transaction, not one each
                try:
                    recordings = self.events.put(
                        new_events, **{LOOKUPS: LookupChanges(claim=dict(claimed))}
                    )
                except IntegrityError:
                    # The same message concurrently, a client changed, or another message
                    # registered a person meanwhile: the next turn finds what was stored.
                    continue
            self._notify(recordings)
            return outcomes
        first = messages[0][0]
        raise ConcurrentUpdateError(f"{first.source} {first.id} (a batch of {len(messages)})")

    def _read_ahead(self, messages: Sequence[tuple[CloudEvent, InboundData]]) -> None:
        """What the batch's messages will each ask, read for them all at once: which of their
        receipts are stored (a new message's is not: no read of it), and whom their
        identifiers name. Two queries for a batch, where each message took one of each."""
        receipt_ids = [InboundReceipt.create_id(e.source, e.id) for e, _ in messages]
        stored = self.recorder.stored_ids(receipt_ids)  # type: ignore[attr-defined]
        remember(_NO_RECEIPT, set(receipt_ids) - stored)
        digests = {
            digest
            for _, payload in messages
            for digest in self._digests(payload.personal()).values()
        }
        owners = self.lookups.owners(sorted(digests))
        for digest in digests:
            remember((_OWNER, digest), owners.get(digest))

    def _receipt(self, receipt_id: UUID) -> InboundReceipt | None:
        batch = current_batch()
        if (
            batch is not None
            and receipt_id in batch.cache.get(_NO_RECEIPT, ())
            and receipt_id not in batch.aggregates
        ):
            return None  # read ahead as not stored, and not made earlier in this batch
        try:
            receipt: InboundReceipt = self.repository.get(receipt_id)
        except AggregateNotFoundError:
            return None
        return receipt

    def _owners(self, personal: PersonalDetails) -> dict[str, UUID | None]:
        """Each identifier's digest, and the client it names: in a batch, as the batch's
        earlier messages left the lookups (each read once)."""
        batch = current_batch()
        if batch is None or batch.repository is not self.repository:
            return super()._owners(personal)
        claimed: dict[str, UUID] = batch.cache.setdefault(_CLAIMED, {})
        owners: dict[str, UUID | None] = {}
        for digest in self._digests(personal).values():
            owners[digest] = claimed.get(digest) or batch_cache(
                (_OWNER, digest), partial(self.lookups.owner, digest)
            )
        return owners

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
