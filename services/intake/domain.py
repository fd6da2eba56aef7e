"""The client aggregate. Pure: time, rule tables and organisation names come in as arguments.

Over ~350 lines on purpose: it is one aggregate whose invariants belong together, and its class
stays here, where the topics of its stored events name it (``services.intake.domain:Client``).

Every decision of law (scope, group, responsibility) is recorded as its own event naming the
rule; a change of facts decides again and records a transfer only when the answer changes.
A decision by the law of a day before the 2025 handover, taken after it, that names the TE
office is followed at once by the handover's transfer: the office no longer exists."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import date
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from services.intake.eligibility import determine_eligibility, responsible_kind
from services.intake.errors import ClientClosedError, DuplicateOfItselfError, UnknownConflictError
from services.intake.handover import HandoverLaw
from services.intake.model import ClientFacts, Eligibility, PersonalDetails, age_group
from services.intake.subject_access import (
    DeliveredBeforeRequestedError,
    SubjectAccessRequest,
    UnknownSubjectAccessRequestError,
)
from shared.clock import HELSINKI
from shared.law.data_subject import LEGAL_BASIS as SUBJECT_ACCESS_LIMIT
from shared.law.data_subject import subject_access_due
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

    # --- the data subject's rights (GDPR Art. 15, Art. 18) ---
    # Their state lives in the instance's own attributes, set by their events; a client stored
    # before these existed has none, which reads as "never restricted, nothing asked".

    @property
    def restriction(self) -> str | None:
        """Why the client's processing is restricted (GDPR Art. 18), or None."""
        found: str | None = vars(self).get("restricted_because")
        return found

    @property
    def subject_access_requests(self) -> dict[str, SubjectAccessRequest]:
        """The person's requests for a copy of their data (GDPR Art. 15), by request id."""
        found: dict[str, SubjectAccessRequest] = vars(self).setdefault("access_requests", {})
        return found

    def restrict(self, *, provenance: Provenance, reason: str) -> bool:
        """Restricts processing (GDPR Art. 18(1)); False when it is restricted already."""
        if self.erased:
            raise ClientClosedError("erased")
        if self.restriction is not None:
            return False
        self._processing_restricted(client_id=self.client_id, provenance=provenance, reason=reason)
        return True

    @event("ProcessingRestricted")
    def _processing_restricted(
        self, *, client_id: UUID, provenance: Provenance, reason: str
    ) -> None:
        self.restricted_because: str | None = reason

    def lift_restriction(self, *, provenance: Provenance, reason: str) -> bool:
        """Lifts the restriction (GDPR Art. 18(3)); False when none is in force."""
        if self.restriction is None:
            return False
        self._restriction_lifted(client_id=self.client_id, provenance=provenance, reason=reason)
        return True

    @event("RestrictionLifted")
    def _restriction_lifted(self, *, client_id: UUID, provenance: Provenance, reason: str) -> None:
        self.restricted_because = None

    def request_subject_access(
        self, *, provenance: Provenance, request_id: str, requested_on: date
    ) -> bool:
        """Records a request for a copy (GDPR Art. 15) and its last day; False when this
        request is recorded already (a retried call)."""
        if self.erased:
            raise ClientClosedError("erased")
        if request_id in self.subject_access_requests:
            return False
        self._subject_access_requested(
            client_id=self.client_id,
            provenance=provenance,
            request_id=request_id,
            requested_on=requested_on,
            due_on=subject_access_due(requested_on),
            legal_basis=SUBJECT_ACCESS_LIMIT,
        )
        return True

    @event("SubjectAccessRequested")
    def _subject_access_requested(
        self,
        *,
        client_id: UUID,
        provenance: Provenance,
        request_id: str,
        requested_on: date,
        due_on: date,
        legal_basis: tuple[RuleRef, ...],
    ) -> None:
        self.subject_access_requests[request_id] = SubjectAccessRequest(
            request_id=request_id, requested_on=requested_on, due_on=due_on
        )

    def deliver_subject_access(
        self, *, provenance: Provenance, request_id: str, delivered_on: date
    ) -> bool:
        """Records that the copy was given; False when it was recorded already."""
        request = self.subject_access_requests.get(request_id)
        if request is None:
            raise UnknownSubjectAccessRequestError(request_id)
        if request.delivered_on is not None:
            return False
        if delivered_on < request.requested_on:
            raise DeliveredBeforeRequestedError(request_id)
        self._subject_access_delivered(
            client_id=self.client_id,
            provenance=provenance,
            request_id=request_id,
            delivered_on=delivered_on,
            due_on=request.due_on,
            in_time=delivered_on <= request.due_on,
        )
        return True

    @event("SubjectAccessDelivered")
    def _subject_access_delivered(
        self,
        *,
        client_id: UUID,
        provenance: Provenance,
        request_id: str,
        delivered_on: date,
        due_on: date,
        in_time: bool,
    ) -> None:
        self.subject_access_requests[request_id] = replace(
            self.subject_access_requests[request_id], delivered_on=delivered_on
        )

    # --- retention (shared/retention): legal holds stop the clocks, expiry ends a class ---
    # State in the instance's own attributes, as above: a client stored before these existed
    # has no hold and nothing expired.

    @property
    def legal_holds(self) -> dict[str, str]:
        """The legal holds in force, by hold id: their reasons."""
        found: dict[str, str] = vars(self).setdefault("holds_in_force", {})
        return found

    @property
    def expired_classes(self) -> dict[str, date]:
        """The retention classes that went, and the day each went."""
        found: dict[str, date] = vars(self).setdefault("classes_expired", {})
        return found

    def place_hold(self, *, provenance: Provenance, hold_id: str, reason: str) -> bool:
        """Stops the client's retention clocks (a dispute, an audit, GDPR Art. 18(1)(c));
        False when this hold is in force already (a retried call)."""
        if self.erased:
            raise ClientClosedError("erased")
        if hold_id in self.legal_holds:
            return False
        self._legal_hold_placed(
            client_id=self.client_id, provenance=provenance, hold_id=hold_id, reason=reason
        )
        return True

    @event("LegalHoldPlaced")
    def _legal_hold_placed(
        self, *, client_id: UUID, provenance: Provenance, hold_id: str, reason: str
    ) -> None:
        self.legal_holds[hold_id] = reason

    def lift_hold(self, *, provenance: Provenance, hold_id: str, reason: str) -> bool:
        """Lets the clocks run again; False when the hold is not in force."""
        if hold_id not in self.legal_holds:
            return False
        self._legal_hold_lifted(
            client_id=self.client_id, provenance=provenance, hold_id=hold_id, reason=reason
        )
        return True

    @event("LegalHoldLifted")
    def _legal_hold_lifted(
        self, *, client_id: UUID, provenance: Provenance, hold_id: str, reason: str
    ) -> None:
        self.legal_holds.pop(hold_id, None)

    def expire(
        self,
        *,
        provenance: Provenance,
        retention_class: str,
        rule: str,
        expired_on: date,
        forgets_personal: bool,
    ) -> bool:
        """Records that a class's period ran out; False when it went already, or a hold is in
        force (the hold wins, whatever the clock said)."""
        if retention_class in self.expired_classes or self.legal_holds or self.erased:
            return False
        self._records_expired(
            client_id=self.client_id,
            provenance=provenance,
            retention_class=retention_class,
            rule=rule,
            expired_on=expired_on,
            forgets_personal=forgets_personal,
        )
        return True

    @event("RecordsExpired")
    def _records_expired(
        self,
        *,
        client_id: UUID,
        provenance: Provenance,
        retention_class: str,
        rule: str,
        expired_on: date,
        forgets_personal: bool,
    ) -> None:
        self.expired_classes[retention_class] = expired_on
        if forgets_personal:
            self.personal = None
