"""The client aggregate. Pure: time, rule tables and organisation names come in as arguments.

Over ~350 lines on purpose: it is one aggregate whose invariants belong together, and its class
stays here, where the topics of its stored events name it (``services.intake.domain:Client``).

Every decision of law (scope, group, responsibility) is recorded as its own event naming the
rule; a change of facts decides again and records a transfer only when the answer changes.
A decision by the law of a day before the 2025 handover, taken after it, that names the TE
office is followed at once by the handover's transfer: the office no longer exists."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from services.intake.eligibility import determine_eligibility, responsible_kind
from services.intake.errors import ClientClosedError, DuplicateOfItselfError, UnknownConflictError
from services.intake.handover import HandoverLaw
from services.intake.model import ClientFacts, Eligibility, PersonalDetails, age_group
from shared.clock import HELSINKI
from shared.law.rulebook import NoRuleInForceError, RuleBook, RuleRef
from shared.values import OrganisationKind, Provenance

OrganisationOf = Callable[[OrganisationKind, ClientFacts], str]


class Client(Aggregate):
    @staticmethod
    def create_id(client_id: UUID, **_: Any) -> UUID:
        return client_id

    @event("Registered")
    def __init__(
        self,
        *,
        client_id: UUID,
        provenance: Provenance,
        personal: PersonalDetails | None,
        facts: ClientFacts,
        relationship_started_on: date,
        age_group: str | None,
        responsible_organisation: str,
        legal_basis: tuple[RuleRef, ...],
        source: str,
    ) -> None:
        self.client_id = client_id
        self.personal = personal
        self.facts = facts
        self.relationship_started_on = relationship_started_on
        self.age_group = age_group
        self.responsible_organisation = responsible_organisation
        self.eligibility: Eligibility | None = None
        self.open_conflicts: dict[str, str] = {}  # conflict id → field
        self.incoming: dict[str, PersonalDetails | None] = {}  # what each conflict proposes
        self.duplicate_of: UUID | None = None
        self.closed_reason: str | None = None
        self.worker: str | None = None
        self.erased = False

    @classmethod
    def register(
        cls,
        *,
        client_id: UUID,
        provenance: Provenance,
        personal: PersonalDetails,
        facts: ClientFacts,
        relationship_started_on: date,
        book: RuleBook,
        organisation_of: OrganisationOf,
        source: str,
    ) -> Client:
        """A new client, with scope and responsibility decided by the law of the start date."""
        kind, responsibility_rule = responsible_kind(book, facts, relationship_started_on)
        organisation = organisation_of(kind, facts)
        client = cls(
            client_id=client_id,
            provenance=provenance,
            personal=personal,
            facts=facts,
            relationship_started_on=relationship_started_on,
            age_group=age_group(personal.birth_date, relationship_started_on),
            responsible_organisation=organisation,
            legal_basis=(responsibility_rule,),
            source=source,
        )
        eligibility, eligibility_rule = determine_eligibility(
            book, facts, relationship_started_on, reached_on=relationship_started_on
        )
        client._eligibility_determined(
            client_id=client_id,
            provenance=provenance,
            eligibility=eligibility,
            decided_on=relationship_started_on,
            responsible_organisation=organisation,
            legal_basis=(eligibility_rule,),
        )
        client._responsibility_assigned(
            client_id=client_id,
            provenance=provenance,
            organisation=organisation,
            legal_basis=(responsibility_rule,),
        )
        client._pass_on_if_handed_over(
            provenance=provenance,
            on=relationship_started_on,
            book=book,
            organisation_of=organisation_of,
        )
        return client

    @property
    def active(self) -> bool:
        return self.closed_reason is None and not self.erased

    def _require_active(self) -> None:
        if not self.active:
            # Not the reason staff wrote when closing: free text may be personal.
            if self.erased:
                raise ClientClosedError("erased")
            if self.duplicate_of is not None:
                raise ClientClosedError(f"duplicate of {self.duplicate_of}")
            raise ClientClosedError("closed")

    # --- decisions of law ---

    @event("EligibilityDetermined")
    def _eligibility_determined(
        self,
        *,
        client_id: UUID,
        provenance: Provenance,
        eligibility: Eligibility,
        decided_on: date,
        responsible_organisation: str,
        legal_basis: tuple[RuleRef, ...],
    ) -> None:
        self.eligibility = eligibility

    @event("ResponsibilityAssigned")
    def _responsibility_assigned(
        self,
        *,
        client_id: UUID,
        provenance: Provenance,
        organisation: str,
        legal_basis: tuple[RuleRef, ...],
    ) -> None:
        self.responsible_organisation = organisation

    @event("ResponsibilityTransferred")
    def _responsibility_transferred(
        self,
        *,
        client_id: UUID,
        provenance: Provenance,
        from_organisation: str,
        to_organisation: str,
        reason: str,
        legal_basis: tuple[RuleRef, ...],
    ) -> None:
        self.responsible_organisation = to_organisation

    def _decide_again(
        self, *, provenance: Provenance, on: date, book: RuleBook, organisation_of: OrganisationOf
    ) -> None:
        kind, responsibility_rule = responsible_kind(book, self.facts, on)
        organisation = organisation_of(kind, self.facts)
        if organisation != self.responsible_organisation:
            self._responsibility_transferred(
                client_id=self.client_id,
                provenance=provenance,
                from_organisation=self.responsible_organisation,
                to_organisation=organisation,
                reason="facts changed",
                legal_basis=(responsibility_rule,),
            )
        self._pass_on_if_handed_over(
            provenance=provenance, on=on, book=book, organisation_of=organisation_of
        )
        eligibility, eligibility_rule = determine_eligibility(
            book, self.facts, on, reached_on=self.relationship_started_on
        )
        if eligibility != self.eligibility:
            self._eligibility_determined(
                client_id=self.client_id,
                provenance=provenance,
                eligibility=eligibility,
                decided_on=on,
                responsible_organisation=organisation,
                legal_basis=(eligibility_rule,),
            )

    def _pass_on_if_handed_over(
        self, *, provenance: Provenance, on: date, book: RuleBook, organisation_of: OrganisationOf
    ) -> None:
        """Decided on or after the handover by the law of ``on``, a day before it: a client
        that law gives the TE office passes on as the handover passed them all, as of the
        moment the offices ceased. (Decided before the handover, the run of it does this.)"""
        try:
            law = HandoverLaw.in_force(book, provenance.occurred_at.astimezone(HELSINKI).date())
        except NoRuleInForceError:
            return
        office = organisation_of(law.office, self.facts)
        if on >= law.on or self.responsible_organisation != office:
            return
        self.hand_over(
            provenance=provenance.model_copy(update={"occurred_at": law.moment}),
            from_organisation=office,
            to_organisation=organisation_of(law.successor(self.facts), self.facts),
            legal_basis=law.legal_basis,
        )

    def hand_over(
        self,
        *,
        provenance: Provenance,
        from_organisation: str,
        to_organisation: str,
        legal_basis: tuple[RuleRef, ...],
    ) -> bool:
        """The 2025 handover of one client; nothing if the client is not with that office."""
        if not self.active or self.responsible_organisation != from_organisation:
            return False
        self._responsibility_transferred(
            client_id=self.client_id,
            provenance=provenance,
            from_organisation=from_organisation,
            to_organisation=to_organisation,
            reason="handover of the TE office's integration clients on 1 Jan 2025",
            legal_basis=legal_basis,
        )
        return True

    # --- facts and details ---

    def change_facts(
        self,
        *,
        provenance: Provenance,
        facts: ClientFacts,
        cause: str,
        effective_on: date,
        book: RuleBook,
        organisation_of: OrganisationOf,
    ) -> None:
        self._require_active()
        if facts == self.facts:
            return
        self._facts_changed(
            client_id=self.client_id,
            provenance=provenance,
            facts=facts,
            cause=cause,
            effective_on=effective_on,
        )
        self._decide_again(
            provenance=provenance, on=effective_on, book=book, organisation_of=organisation_of
        )

    @event("FactsChanged")
    def _facts_changed(
        self,
        *,
        client_id: UUID,
        provenance: Provenance,
        facts: ClientFacts,
        cause: str,
        effective_on: date,
    ) -> None:
        self.facts = facts

    def correct_details(
        self, *, provenance: Provenance, personal: PersonalDetails, reason: str
    ) -> None:
        """A correction is a new event with its reason; the earlier events stay as they were."""
        self._require_active()
        assert self.personal is not None
        corrected = self.personal.merged(personal)
        if corrected != self.personal:
            self._details_corrected(
                client_id=self.client_id, provenance=provenance, personal=corrected, reason=reason
            )

    @event("DetailsCorrected")
    def _details_corrected(
        self, *, client_id: UUID, provenance: Provenance, personal: PersonalDetails, reason: str
    ) -> None:
        self.personal = personal

    def raise_conflict(
        self,
        *,
        provenance: Provenance,
        conflict_id: str,
        field: str,
        incoming: PersonalDetails,
        cause: str,
    ) -> None:
        """Facts that disagree with what is known do not overwrite it: staff decide."""
        if conflict_id in self.open_conflicts:
            return
        self._conflict_raised(
            client_id=self.client_id,
            provenance=provenance,
            conflict_id=conflict_id,
            field=field,
            personal=incoming,
            cause=cause,
        )

    @event("ConflictRaised")
    def _conflict_raised(
        self,
        *,
        client_id: UUID,
        provenance: Provenance,
        conflict_id: str,
        field: str,
        personal: PersonalDetails,
        cause: str,
    ) -> None:
        self.open_conflicts[conflict_id] = field
        self.incoming[conflict_id] = personal

    def resolve_conflict(
        self, *, provenance: Provenance, conflict_id: str, accept: bool, reason: str
    ) -> None:
        self._require_active()
        if conflict_id not in self.open_conflicts:
            raise UnknownConflictError(conflict_id)
        incoming = self.incoming.get(conflict_id)
        assert self.personal is not None
        resolved = self.personal.merged(incoming) if accept and incoming else self.personal
        self._conflict_resolved(
            client_id=self.client_id,
            provenance=provenance,
            conflict_id=conflict_id,
            accepted=accept,
            reason=reason,
            personal=resolved,
        )

    @event("ConflictResolved")
    def _conflict_resolved(
        self,
        *,
        client_id: UUID,
        provenance: Provenance,
        conflict_id: str,
        accepted: bool,
        reason: str,
        personal: PersonalDetails,
    ) -> None:
        self.open_conflicts.pop(conflict_id, None)
        self.incoming.pop(conflict_id, None)
        self.personal = personal

    # --- duplicates ---

    def absorb(self, *, provenance: Provenance, duplicate: Client, reason: str) -> None:
        """Merges ``duplicate`` into this client: its identifiers and details this client
        lacks come over; the duplicate is closed as a duplicate of this one."""
        self._require_active()
        duplicate._require_active()
        if duplicate.id == self.id:
            raise DuplicateOfItselfError(str(self.id))
        assert self.personal is not None and duplicate.personal is not None
        known = self.personal.model_dump(exclude_none=True)
        missing = {
            k: v
            for k, v in duplicate.personal.model_dump(exclude_none=True).items()
            if k not in known
        }
        self._merged(
            client_id=self.client_id,
            provenance=provenance,
            duplicate_id=duplicate.id,
            personal=self.personal.merged(PersonalDetails.model_validate(missing)),
            reason=reason,
        )
        duplicate._marked_duplicate(
            client_id=duplicate.client_id,
            provenance=provenance,
            of_client_id=self.id,
            reason=reason,
        )

    @event("Merged")
    def _merged(
        self,
        *,
        client_id: UUID,
        provenance: Provenance,
        duplicate_id: UUID,
        personal: PersonalDetails,
        reason: str,
    ) -> None:
        self.personal = personal

    @event("MarkedDuplicate")
    def _marked_duplicate(
        self, *, client_id: UUID, provenance: Provenance, of_client_id: UUID, reason: str
    ) -> None:
        self.closed_reason = f"duplicate of {of_client_id}"
        self.duplicate_of = of_client_id

    # --- end of the relationship ---

    def assign_worker(self, *, provenance: Provenance, worker: str) -> None:
        """Names the caseworker who handles the client; naming the same one again is no news."""
        self._require_active()
        if worker != self.worker:
            self._worker_assigned(client_id=self.client_id, provenance=provenance, worker=worker)

    @event("WorkerAssigned")
    def _worker_assigned(self, *, client_id: UUID, provenance: Provenance, worker: str) -> None:
        self.worker = worker

    def close(self, *, provenance: Provenance, reason: str) -> None:
        self._require_active()
        self._closed(client_id=self.client_id, provenance=provenance, reason=reason)

    @event("Closed")
    def _closed(self, *, client_id: UUID, provenance: Provenance, reason: str) -> None:
        self.closed_reason = reason

    def erase(self, *, provenance: Provenance, legal_ground: str) -> None:
        if self.erased:
            return
        self._erased(client_id=self.client_id, provenance=provenance, legal_ground=legal_ground)

    @event("Erased")
    def _erased(self, *, client_id: UUID, provenance: Provenance, legal_ground: str) -> None:
        self.erased = True
        self.personal = None
