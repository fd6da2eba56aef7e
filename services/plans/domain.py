"""The integration plan aggregate. Pure: time and decisions of law come in as arguments.

Over ~350 lines on purpose: the plan is one aggregate whose invariants (agreement within the
law, its deadlines, reviews, extension) belong together, and the classes of both aggregates
stay here, where the topics of their stored events name them (``services.plans.domain:…``)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from dateutil.relativedelta import relativedelta
from eventsourcing.domain import Aggregate, event

from services.plans.errors import (
    PlanAlreadyDraftedError,
    PlannedBeforeError,
    PlanRefusedError,
    PlanStateError,
    ReviewNotFoundError,
)
from shared.contracts.plans import (
    WITHIN_TOTAL,
    ExtensionBasis,
    ExtensionGround,
    Goal,
    Measure,
    MeasureKind,
    PlanEndReason,
    PlanKind,
    PlanPeriod,
)
from shared.contracts.records import InformationSource, Maker, ReviewContent
from shared.law.deadlines import Deadline, add_period, deadline
from shared.law.rulebook import NoRuleInForceError, Rule, RuleBook, RuleRef
from shared.values import Provenance

_NAMESPACE = uuid5(NAMESPACE_URL, "urn:kotoutus:integration-plan")
_PERMIT_NAMESPACE = uuid5(NAMESPACE_URL, "urn:kotoutus:plan-client-permit")


@dataclass(frozen=True)
class Documentation:
    """What the national data store asks of a plan beyond its other events (Decree 874/2024
    §2(1)): the makers' contact details, where its information came from and the planned date
    of its review. A field given replaces the one recorded; None leaves it as it was."""

    makers: Sequence[Maker] | None = None
    sources: Collection[InformationSource] | None = None
    review_planned_on: date | None = None


class ClientPermit(Aggregate):
    """What plans knows of a client from intake's events: the first permit's date, and what
    the trafficking-victim exception of 681/2023 §20(4) turns on (events stored before these
    were kept read as not a victim, reached when unknown)."""

    @staticmethod
    def create_id(client_id: UUID, **_: Any) -> UUID:
        return uuid5(_PERMIT_NAMESPACE, str(client_id))

    @event("Noted")
    def __init__(
        self,
        *,
        client_id: UUID,
        provenance: Provenance,
        first_permit_on: date | None,
        trafficking_victim: bool = False,
        reached_on: date | None = None,
    ):
        self.client_id = client_id
        self.first_permit_on = first_permit_on
        self.trafficking_victim = trafficking_victim
        self.reached_on = reached_on  # the client relationship's start

    def note(
        self,
        *,
        provenance: Provenance,
        first_permit_on: date | None,
        trafficking_victim: bool,
        reached_on: date | None,
    ) -> None:
        reached_on = reached_on or self.reached_on
        known = (self.first_permit_on, self.trafficking_victim, self.reached_on)
        if (first_permit_on, trafficking_victim, reached_on) != known:
            self._changed(
                provenance=provenance,
                first_permit_on=first_permit_on,
                trafficking_victim=trafficking_victim,
                reached_on=reached_on,
            )

    @event("Changed")
    def _changed(
        self,
        *,
        provenance: Provenance,
        first_permit_on: date | None,
        trafficking_victim: bool = False,
        reached_on: date | None = None,
    ) -> None:
        self.first_permit_on = first_permit_on
        self.trafficking_victim = trafficking_victim
        self.reached_on = reached_on or getattr(self, "reached_on", None)


class IntegrationPlan(Aggregate):
    """A client's (first) integration plan, from the decision that one is needed."""

    @staticmethod
    def create_id(client_id: UUID, **_: Any) -> UUID:
        return uuid5(_NAMESPACE, str(client_id))

    @event("PreparationDue")
    def __init__(
        self,
        *,
        client_id: UUID,
        assessment_id: UUID,
        provenance: Provenance,
        deadline: Deadline,
        responsible_organisation: str,
        legal_basis: tuple[RuleRef, ...],
    ) -> None:
        self.client_id = client_id
        self.assessment_id = assessment_id
        self.deadline = deadline
        self.responsible_organisation = responsible_organisation
        self.drafted_on: date | None = None
        self.agreed_on: date | None = None
        self.period: PlanPeriod | None = None
        self.first_starts_on: date | None = None
        self.enrolled_on: date | None = None
        self.review_due: Deadline | None = None
        self.reviews_due: tuple[Deadline, ...] = ()  # every review deadline set, in order
        self.enrolment_due: Deadline | None = None
        self.enrolment_overdue = False
        self.review_overdue_for: date | None = None
        self.ended_on: date | None = None
        self.end_reason: PlanEndReason | None = None
        # Decree 874/2024 §2(1), from Documented events (None: not recorded; a plan stored
        # before they were kept has none).
        self.makers: tuple[Maker, ...] | None = None
        self.sources: tuple[InformationSource, ...] | None = None
        self.review_planned_on: date | None = None
        # Each day reviewed, with what its review recorded (874/2024 §3(2); None: nothing, as
        # in reviews stored before the content was kept).
        self.reviews: dict[date, ReviewContent | None] = {}

    def draft(self, *, provenance: Provenance, drafted_on: date) -> None:
        if self.drafted_on is not None:
            raise PlanAlreadyDraftedError(self.drafted_on)
        self._drafted(client_id=self.client_id, provenance=provenance, drafted_on=drafted_on)

    @event("Drafted")
    def _drafted(self, *, client_id: UUID, provenance: Provenance, drafted_on: date) -> None:
        self.drafted_on = drafted_on

    def transfer_responsibility(
        self,
        *,
        provenance: Provenance,
        to_organisation: str,
        reason: str,
        legal_basis: tuple[RuleRef, ...],
    ) -> None:
        """The plan follows the client; its deadlines keep the law they were set under."""
        if self.ended_on is not None or self.responsible_organisation == to_organisation:
            return
        self._responsibility_transferred(
            client_id=self.client_id,
            provenance=provenance,
            from_organisation=self.responsible_organisation,
            to_organisation=to_organisation,
            reason=reason,
            legal_basis=legal_basis,
        )

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

    # --- agreement and its deadlines ---

    def agree(
        self,
        *,
        provenance: Provenance,
        agreed_on: date,
        period: PlanPeriod,
        kind: PlanKind,
        goals: tuple[Goal, ...],
        measures: tuple[Measure, ...],
        job_seeking_obligation: bool,
        first_permit_on: date | None,
        book: RuleBook,
        trafficking_victim_reached_on: date | None = None,
        documentation: Documentation | None = None,
    ) -> None:
        """Agreed with the client, within the limits of the law of the plan's date; with
        ``documentation``, what the national data store asks of it is recorded right after,
        in the same save."""
        if self.agreed_on is not None or self.ended_on is not None:
            raise PlanStateError("already agreed" if self.agreed_on else "ended")
        if documentation is not None:
            _not_before(documentation.review_planned_on, agreed_on)
        kinds = book.in_force("plan.kinds", agreed_on)
        if kind.value not in kinds.value("kinds"):
            raise PlanRefusedError(f"{kinds.citation} ({kind.value} plan, {agreed_on})")
        window = book.in_force("plan.first_within_permit", agreed_on)
        if first_permit_on is None:
            raise PlanRefusedError("the first residence permit's date is not known")
        basis: tuple[RuleRef, ...] = (window.ref,)
        limit = add_period(first_permit_on, window)
        if agreed_on > limit:
            exception = _late_reach_exception(book, agreed_on)
            reached = trafficking_victim_reached_on
            if exception is None or reached is None or reached <= limit:
                raise PlanRefusedError(
                    f"{window.citation} First permit {first_permit_on}, plan {agreed_on}."
                )
            basis = (window.ref, exception.ref)
        first = book.in_force("plan.first_period", agreed_on)
        if period.ends_on > add_period(period.starts_on, first):
            raise PlanRefusedError(f"{first.citation} Period {period.starts_on}–{period.ends_on}.")
        enrolment = deadline(book, "plan.enrolment_deadline", agreed_on)
        review = deadline(book, "plan.review_interval", agreed_on)
        self._agreed(
            client_id=self.client_id,
            provenance=provenance,
            agreed_on=agreed_on,
            period=period,
            kind=kind,
            goals=goals,
            measures=measures,
            job_seeking_obligation=job_seeking_obligation,
            legal_basis=(*basis, first.ref),
        )
        self._enrolment_due(
            client_id=self.client_id,
            provenance=provenance,
            deadline=enrolment,
            legal_basis=enrolment.legal_basis,
        )
        self._review_due(
            client_id=self.client_id,
            provenance=provenance,
            deadline=review,
            legal_basis=review.legal_basis,
        )
        if documentation is not None:
            self.document(provenance=provenance, documentation=documentation)

    def document(self, *, provenance: Provenance, documentation: Documentation) -> None:
        """Records what the national data store asks of the plan (Decree 874/2024 §2(1)), at
        its agreement or later (records are fixed before the store opens in 2027): on an
        agreed plan, ended or not. Each field given replaces the one recorded; what is
        already so is not recorded again, and nothing new is no event."""
        if self.agreed_on is None:
            raise PlanStateError("not agreed")
        _not_before(documentation.review_planned_on, self.agreed_on)
        makers = None if documentation.makers is None else tuple(documentation.makers)
        given = documentation.sources
        sources = None if given is None else tuple(s for s in InformationSource if s in given)
        planned = documentation.review_planned_on
        makers = makers if makers != self.makers else None
        sources = sources if sources != self.sources else None
        planned = planned if planned != self.review_planned_on else None
        if makers is None and sources is None and planned is None:
            return
        self._documented(
            client_id=self.client_id,
            provenance=provenance,
            makers=makers,
            sources=sources,
            review_planned_on=planned,
        )

    @event("Documented")
    def _documented(
        self,
        *,
        client_id: UUID,
        provenance: Provenance,
        # Each None: left as it was (and so absent from an event that never had the field).
        makers: tuple[Maker, ...] | None = None,
        sources: tuple[InformationSource, ...] | None = None,
        review_planned_on: date | None = None,
    ) -> None:
        # Stored tuples are read back as lists, and the codes as plain strings.
        if makers is not None:
            self.makers = tuple(makers)
        if sources is not None:
            self.sources = tuple(InformationSource(s) for s in sources)
        if review_planned_on is not None:
            self.review_planned_on = review_planned_on

    @event("Agreed")
    def _agreed(
        self,
        *,
        client_id: UUID,
        provenance: Provenance,
        agreed_on: date,
        period: PlanPeriod,
        kind: PlanKind,
        goals: tuple[Goal, ...],
        measures: tuple[Measure, ...],
        job_seeking_obligation: bool,
        legal_basis: tuple[RuleRef, ...],
    ) -> None:
        self.agreed_on = agreed_on
        self.period = period
        self.first_starts_on = period.starts_on

    @event("EnrolmentDue")
    def _enrolment_due(
        self,
        *,
        client_id: UUID,
        provenance: Provenance,
        deadline: Deadline,
        legal_basis: tuple[RuleRef, ...],
    ) -> None:
        self.enrolment_due = deadline

    @event("ReviewDue")
    def _review_due(
        self,
        *,
        client_id: UUID,
        provenance: Provenance,
        deadline: Deadline,
        legal_basis: tuple[RuleRef, ...],
    ) -> None:
        self.review_due = deadline
        self.reviews_due = (*self.reviews_due, deadline)

    def mark_overdue(self, *, provenance: Provenance, kind: str, today: date) -> bool:
        """A plan deadline that passed undone: recorded once per deadline."""
        if self.ended_on is not None:
            return False
        if kind == "enrolment":
            due = self.enrolment_due
            if due is None or self.enrolled_on or self.enrolment_overdue:
                return False
            if today <= due.due:
                return False
            self._enrolment_overdue(client_id=self.client_id, provenance=provenance, deadline=due)
            return True
        review = self.review_due
        if review is None or today <= review.due:
            return False
        if self.review_overdue_for == review.due:
            return False
        self._review_overdue(client_id=self.client_id, provenance=provenance, deadline=review)
        return True

    @event("EnrolmentOverdue")
    def _enrolment_overdue(
        self, *, client_id: UUID, provenance: Provenance, deadline: Deadline
    ) -> None:
        self.enrolment_overdue = True

    @event("ReviewOverdue")
    def _review_overdue(
        self, *, client_id: UUID, provenance: Provenance, deadline: Deadline
    ) -> None:
        self.review_overdue_for = deadline.due

    def _require_agreed(self) -> None:
        if self.agreed_on is None or self.ended_on is not None:
            raise PlanStateError("not agreed" if self.agreed_on is None else "ended")

    def enrol(self, *, provenance: Provenance, enrolled_on: date, service: MeasureKind) -> None:
        self._require_agreed()
        if self.enrolled_on is None:
            self._enrolled(
                client_id=self.client_id,
                provenance=provenance,
                enrolled_on=enrolled_on,
                service=service,
            )

    @event("Enrolled")
    def _enrolled(
        self, *, client_id: UUID, provenance: Provenance, enrolled_on: date, service: MeasureKind
    ) -> None:
        self.enrolled_on = enrolled_on

    def review(
        self,
        *,
        provenance: Provenance,
        reviewed_on: date,
        book: RuleBook,
        content: ReviewContent | None = None,
    ) -> None:
        """A review (yearly under 1386/2010, at least every six months under 681/2023
        §22(1)); the next one is due by the law of this review's date. Its ``content``
        (874/2024 §3(2)) is recorded with it; ``changes`` in it are a record of what the
        review decided, nothing more: they change neither the plan's period nor its deadlines
        (an extension is its own command, on the law's grounds)."""
        self._require_agreed()
        assert self.review_due is not None
        if content is not None:
            _not_before(content.next_review_planned_on, reviewed_on)
            if content == ReviewContent():
                content = None  # nothing recorded
        previous = self.review_due
        self._reviewed(
            client_id=self.client_id,
            provenance=provenance,
            reviewed_on=reviewed_on,
            review_due_met=previous,
            content=content,  # its changes: data only, the period and deadlines stay
        )
        # By the law of this review's date: a plan made under the old law is reviewed by the
        # new law's interval from its first review under it on (681/2023 §102(2)).
        following = deadline(book, "plan.review_interval", reviewed_on)
        legal_basis = following.legal_basis
        assert self.agreed_on is not None
        if book.in_force("plan.review_interval", self.agreed_on).law != following.rule.law:
            transition = book.in_force("plan.old_law_until_review", reviewed_on)
            legal_basis = (transition.ref, *legal_basis)
        self._review_due(
            client_id=self.client_id,
            provenance=provenance,
            deadline=following,
            legal_basis=legal_basis,
        )

    @event("Reviewed")
    def _reviewed(
        self,
        *,
        client_id: UUID,
        provenance: Provenance,
        reviewed_on: date,
        review_due_met: Deadline,
        content: ReviewContent | None = None,  # None in reviews stored before it was kept
    ) -> None:
        self.last_reviewed_on = reviewed_on
        # A review recorded again for the same day is its record anew (as the read side has it).
        self.reviews[reviewed_on] = content

    def document_review(
        self, *, provenance: Provenance, reviewed_on: date, content: ReviewContent
    ) -> None:
        """Completes the record of the review of ``reviewed_on`` (874/2024 §3(2)), on an
        agreed plan, ended or not: each field of ``content`` given replaces the one recorded;
        what is already so is not recorded again, and nothing new is no event. As at the
        review, ``changes`` are recorded only: the plan's period and deadlines stay."""
        if self.agreed_on is None:
            raise PlanStateError("not agreed")
        if reviewed_on not in self.reviews:
            raise ReviewNotFoundError(reviewed_on)
        _not_before(content.next_review_planned_on, reviewed_on)
        recorded = self.reviews[reviewed_on] or ReviewContent()
        new = ReviewContent.model_validate(
            {
                name: value
                for name, value in content
                if value is not None and value != getattr(recorded, name)
            }
        )
        if new == ReviewContent():
            return
        self._review_documented(
            client_id=self.client_id,
            provenance=provenance,
            reviewed_on=reviewed_on,
            content=new,
        )

    @event("ReviewDocumented")
    def _review_documented(
        self, *, client_id: UUID, provenance: Provenance, reviewed_on: date, content: ReviewContent
    ) -> None:
        self.reviews[reviewed_on] = _merged(self.reviews.get(reviewed_on), content)

    def extend(
        self,
        *,
        provenance: Provenance,
        ends_on: date,
        reason: str,
        book: RuleBook,
        ground: ExtensionGround | None = None,
        lost_days: int | None = None,
    ) -> None:
        """Longer, within the total the law of the plan's date allows; beyond that total only
        on a ground that law gives, which the extension records."""
        self._require_agreed()
        assert self.period is not None and self.agreed_on and self.first_starts_on
        if ends_on <= self.period.ends_on:
            raise PlanStateError(f"the plan already runs until {self.period.ends_on}")
        total = book.in_force("plan.total_length", self.agreed_on)
        limit = add_period(self.first_starts_on, total)
        basis: tuple[RuleRef, ...] = (total.ref,)
        if ground is not None:
            extension = _extension_rule(book, self.agreed_on, ground)
            if ground is ExtensionGround.TEMPORARY_OBSTACLE:
                if not lost_days:
                    raise PlanRefusedError(
                        f"{extension.citation} Say how many days were lost (lost_days)."
                    )
                limit += relativedelta(days=lost_days)
            else:
                limit = add_period(limit, extension)
            basis = (total.ref, extension.ref)
        if ends_on > limit:
            raise PlanRefusedError(
                f"{total.citation} At most until {limit}"
                + ("." if ground else "; longer only on a ground the law gives (ground).")
            )
        self._extended(
            client_id=self.client_id,
            provenance=provenance,
            period=PlanPeriod(starts_on=self.period.starts_on, ends_on=ends_on),
            reason=reason,
            legal_basis=basis,
            ground=WITHIN_TOTAL if ground is None else ground,
        )

    class Extended(Aggregate.Event):
        """Stored at version 2: ``ground`` always says what the extension stands on, the
        law's total (``within_total``) or a ground beyond it. Version 1 stored None for the
        first, or no ``ground`` at all before grounds were recorded, when the total was the
        only limit (both read as ``within_total``; docs/versioning.md)."""

        class_version = 2

        client_id: UUID
        provenance: Provenance
        period: PlanPeriod
        reason: str
        legal_basis: tuple[RuleRef, ...]
        ground: ExtensionBasis

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            if state.get("ground") is None:
                state["ground"] = WITHIN_TOTAL

    @event(Extended)
    def _extended(
        self,
        *,
        client_id: UUID,
        provenance: Provenance,
        period: PlanPeriod,
        reason: str,
        legal_basis: tuple[RuleRef, ...],
        ground: ExtensionBasis,
    ) -> None:
        self.period = period

    def end(self, *, provenance: Provenance, ended_on: date, reason: PlanEndReason) -> None:
        self._require_agreed()
        self._ended(
            client_id=self.client_id, provenance=provenance, ended_on=ended_on, reason=reason
        )

    @event("Ended")
    def _ended(
        self, *, client_id: UUID, provenance: Provenance, ended_on: date, reason: PlanEndReason
    ) -> None:
        self.ended_on = ended_on
        self.end_reason = PlanEndReason(reason)


def _merged(recorded: ReviewContent | None, given: ReviewContent) -> ReviewContent:
    """A review's record with the fields given in ``given`` replacing those recorded."""
    if recorded is None:
        return given
    return recorded.model_copy(update={n: v for n, v in given if v is not None})


def _not_before(planned: date | None, earliest: date) -> None:
    if planned is not None and planned < earliest:
        raise PlannedBeforeError(planned, earliest)


def _extension_rule(book: RuleBook, agreed_on: date, ground: ExtensionGround) -> Rule:
    """The rule that gives ``ground`` by the law of the plan's date; refused where that law
    gives no such ground."""
    extension = book.in_force("plan.extension", agreed_on)
    if ground is ExtensionGround.SELF_STUDY_UNDER_25:
        try:
            return book.in_force("plan.self_study_extension", agreed_on)
        except NoRuleInForceError:
            pass
    elif ground.value in extension.value("grounds"):
        return extension
    raise PlanRefusedError(f"{extension.citation} ({ground.value} is not a ground under it)")


def _late_reach_exception(book: RuleBook, agreed_on: date) -> Rule | None:
    try:
        return book.in_force("plan.late_reach_exception", agreed_on)
    except NoRuleInForceError:
        return None
