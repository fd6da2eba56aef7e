"""Messages from other municipal systems, applied once each: the person matched by their
identifiers, what agrees applied, a conflict raised for staff where it does not, and the
message remembered with its effect in one transaction (the inbox, ``InboundReceipt``)."""

from __future__ import annotations

from uuid import UUID, uuid5

from eventsourcing.persistence import IntegrityError

from services.intake.domain import Client
from services.intake.errors import UnknownPersonError
from services.intake.identifiers import IdentifiedClients
from services.intake.inbound import InboundReceipt, personal_conflicts
from services.intake.lookups import LookupChanges
from services.intake.model import ClientFacts, PersonalDetails
from shared.contracts.inbound import CloudEvent, InboundData, parse_inbound
from shared.errors import ConcurrentUpdateError
from shared.eventstore import MAX_ATTEMPTS
from shared.values import Actor, ActorKind, Provenance


class InboundMessages(IdentifiedClients):
    """``IntakeApplication``'s receiving of other systems' messages."""

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
