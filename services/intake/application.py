"""Intake's commands: clients from staff and from other municipal systems.

The class is built up by job: ``IdentifiedClients`` (``identifiers.py``) has the store, its keys
and the identifier lookups; ``InboundMessages`` (``receiving.py``) the messages of other
systems; this module the staff's commands, the 2025 handover and erasure."""

from __future__ import annotations

import logging
from datetime import date
from typing import Any, ClassVar
from uuid import UUID

from eventsourcing.persistence import IntegrityError

from services.intake.domain import Client
from services.intake.errors import ClientAlreadyRegisteredError
from services.intake.handover import HandoverItem, HandoverLaw, HandoverReport
from services.intake.lookups import LookupChanges
from services.intake.model import ClientFacts, PersonalDetails
from services.intake.receiving import InboundMessages
from shared.errors import ConcurrentUpdateError, DomainError, NotFoundError
from shared.eventstore import MAX_ATTEMPTS
from shared.messaging.erasure import ErasedPerson
from shared.values import Provenance

log = logging.getLogger(__name__)


class IntakeApplication(InboundMessages):
    name = "intake"
    service_name: ClassVar[str] = "intake"

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
        for attempt in range(MAX_ATTEMPTS):
            # The first turn does not read whether the id is taken (a query per command): the
            # store refuses a second registration of an id, and the next turns read first,
            # so a refusal is answered as before, the taken id ahead of anything else.
            checked = attempt > 0
            if checked and client_id in self.repository:
                raise ClientAlreadyRegisteredError(str(client_id))
            try:
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
                self.save(client, identifier_lookups=LookupChanges(claim=claims))
            except IntegrityError:
                continue  # the id or an identifier was taken meanwhile: the next turn says
            except DomainError:
                if checked:
                    raise
                continue  # maybe because the id is taken (e.g. its person erased)
            return client
        raise ConcurrentUpdateError(f"register {client_id}")

    def responsible_organisation(self, client_id: UUID) -> str | None:
        try:
            return self.client(client_id).responsible_organisation
        except NotFoundError:
            return None

    def processing_restricted(self, client_id: UUID) -> bool:
        try:
            return self.client(client_id).restriction is not None
        except NotFoundError:
            return False

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

    # --- erasure ---

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

    # --- the data subject's rights (GDPR Art. 15, Art. 18) ---

    def restrict_processing(
        self, client_id: UUID, *, provenance: Provenance, reason: str
    ) -> Client:
        return self.update(
            client_id, Client, lambda c: c.restrict(provenance=provenance, reason=reason)
        )

    def lift_restriction(self, client_id: UUID, *, provenance: Provenance, reason: str) -> Client:
        return self.update(
            client_id, Client, lambda c: c.lift_restriction(provenance=provenance, reason=reason)
        )

    def request_subject_access(
        self, client_id: UUID, *, provenance: Provenance, request_id: str, requested_on: date
    ) -> Client:
        return self.update(
            client_id,
            Client,
            lambda c: c.request_subject_access(
                provenance=provenance, request_id=request_id, requested_on=requested_on
            ),
        )

    def deliver_subject_access(
        self, client_id: UUID, *, provenance: Provenance, request_id: str, delivered_on: date
    ) -> Client:
        return self.update(
            client_id,
            Client,
            lambda c: c.deliver_subject_access(
                provenance=provenance, request_id=request_id, delivered_on=delivered_on
            ),
        )

    # --- retention (shared/retention; the watch in services/intake/retention.py) ---

    def place_hold(
        self, client_id: UUID, *, provenance: Provenance, hold_id: str, reason: str
    ) -> Client:
        return self.update(
            client_id,
            Client,
            lambda c: c.place_hold(provenance=provenance, hold_id=hold_id, reason=reason),
        )

    def lift_hold(
        self, client_id: UUID, *, provenance: Provenance, hold_id: str, reason: str
    ) -> Client:
        return self.update(
            client_id,
            Client,
            lambda c: c.lift_hold(provenance=provenance, hold_id=hold_id, reason=reason),
        )

    def expire_records(
        self,
        client_id: UUID,
        *,
        provenance: Provenance,
        retention_class: str,
        rule: str,
        expired_on: date,
        forgets_personal: bool,
    ) -> bool:
        """Records that a class ran out, then destroys what it held (as ``erase``: the record
        first, with the identifier lookups when the identity goes; the key after, so that a
        crash between is mended by the next round). False when nothing went now."""
        for _ in range(MAX_ATTEMPTS):
            record = self.client(client_id)
            if not record.expire(
                provenance=provenance,
                retention_class=retention_class,
                rule=rule,
                expired_on=expired_on,
                forgets_personal=forgets_personal,
            ):
                now, gone = False, retention_class in record.expired_classes
                break
            lookups = LookupChanges(forget=client_id) if forgets_personal else LookupChanges()
            try:
                self.save(record, identifier_lookups=lookups)
            except IntegrityError:
                continue
            now = gone = True
            break
        else:
            raise ConcurrentUpdateError(f"expire {retention_class} of {client_id}")
        if gone and forgets_personal:
            self.keys.erase(client_id)  # idempotent: also mends a crash after the record
        return now
