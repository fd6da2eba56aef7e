"""The initial assessment aggregate. Pure: time and decisions of law come in as arguments.

Over ~350 lines on purpose: it is one aggregate whose invariants belong together, and its class
stays here, where the topics of its stored events name it
(``services.assessment.domain:InitialAssessment``)."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from services.assessment.errors import (
    AssessmentAlreadyCompletedError,
    AssessmentAlreadyStartedError,
    AssessmentClosedError,
    AssessmentNotStartedError,
    DateBeforeError,
    InterpreterNotAllowedError,
    InterviewerNotOfficialError,
    PlanPlannedBeforeStartError,
    UnknownReferralError,
    WaiverRefusedError,
)

# The notes' retention clock: an aggregate of this service's domain, in a module of its own.
from services.assessment.findings_retention import FindingsRetention as FindingsRetention
from services.assessment.interview import (
    InterviewIncompleteError,
    Matter,
    Told,
    check_language,
    under_decree,
)
from services.assessment.model import (
    Findings,
    InterpreterKind,
    Interview,
    OpenedBy,
    ReferralOutcome,
    ReferralService,
)
from shared.clock import HELSINKI
from shared.contracts.records import FurtherMeasure, InformationSource, Maker
from shared.law.deadlines import Deadline
from shared.law.rulebook import Rule, RuleRef
from shared.values import Provenance

_NAMESPACE = uuid5(NAMESPACE_URL, "urn:kotoutus:initial-assessment")


@dataclass(frozen=True)
class Documentation:
    """What the national data store asks of an assessment beyond its other events (Decree
    874/2024 §1(1)): further measures (Decree 869/2024 §3(1)), the planned date of the plan
    (or of the other referral made), the makers' contact details and where the information
    came from. A field given replaces the one recorded; None leaves it as it was."""

    further_measures: Collection[FurtherMeasure] | None = None
    plan_planned_on: date | None = None
    makers: Sequence[Maker] | None = None
    sources: Collection[InformationSource] | None = None


@dataclass(frozen=True)
class ResponsibilityPeriod:
    organisation: str
    since: datetime
    legal_basis: tuple[RuleRef, ...]


class InitialAssessment(Aggregate):
    """One client's initial assessment; its id follows from the client's id."""

    @staticmethod
    def create_id(client_id: UUID, **_: Any) -> UUID:
        return uuid5(_NAMESPACE, str(client_id))

    @event("Due")
    def __init__(
        self,
        *,
        client_id: UUID,
        provenance: Provenance,
        opened_by: OpenedBy,
        group: str | None,
        deadline: Deadline,
        responsible_organisation: str,
        legal_basis: tuple[RuleRef, ...],
    ) -> None:
        self.client_id = client_id
        self.opened_by = OpenedBy(opened_by)
        self.group = group
        self.deadline = deadline
        self.responsible_organisation = responsible_organisation
        self.started_on: date | None = None
        self.interview: Interview | None = None
        self.completed_on: date | None = None
        self.waived_on: date | None = None
        self.overdue_on: date | None = None
        self.plan_needed: bool | None = None
        self.findings: Findings | None = None
        # Government Decree 869/2024 §2: matters covered (a code, or a note: None once the
        # client's key is forgotten) and told.
        self.interview_codes: dict[Matter, str] = {}
        self.interview_notes: dict[Matter, str | None] = {}
        self.told: set[Told] = set()
        self.responsibility: list[ResponsibilityPeriod] = [
            ResponsibilityPeriod(
                organisation=responsible_organisation,
                since=datetime.combine(deadline.starts_on, time.min, HELSINKI),
                legal_basis=legal_basis,
            )
        ]
        self.referrals: dict[str, ReferralService] = {}
        self.referral_outcomes: dict[str, ReferralOutcome] = {}
        # Decree 874/2024 §1(1), from Documented events (None: not recorded; an assessment
        # stored before they were kept has none).
        self.further_measures: tuple[FurtherMeasure, ...] | None = None
        self.plan_planned_on: date | None = None
        self.makers: tuple[Maker, ...] | None = None
        self.sources: tuple[InformationSource, ...] | None = None

    @property
    def open(self) -> bool:
        return self.completed_on is None and self.waived_on is None

    def _require_open(self) -> None:
        if not self.open:
            raise AssessmentClosedError()

    @property
    def assessment_id(self) -> UUID:
        return self.id

    def start(self, *, provenance: Provenance, started_on: date, interview: Interview) -> None:
        self._require_open()
        if self.started_on is not None:
            raise AssessmentAlreadyStartedError(self.started_on)
        if not interview.interviewer_is_official:
            raise InterviewerNotOfficialError()  # not the name given: it is personal data
        interpreter = interview.interpreter
        if interpreter is not None and interpreter.kind is not InterpreterKind.PROFESSIONAL:
            raise InterpreterNotAllowedError(interpreter.kind.value)
        if self.under_decree:
            check_language(interview)
        self._started(
            client_id=self.client_id,
            provenance=provenance,
            started_on=started_on,
            interview=interview,
        )

    @event("Started")
    def _started(
        self, *, client_id: UUID, provenance: Provenance, started_on: date, interview: Interview
    ) -> None:
        self.started_on = started_on
        self.interview = interview

    def record_findings(self, *, provenance: Provenance, findings: Findings) -> None:
        self._require_open()
        if self.started_on is None:
            raise AssessmentNotStartedError()
        if findings != self.findings:
            self._findings_recorded(
                client_id=self.client_id, provenance=provenance, findings=findings
            )

    @event("FindingsRecorded")
    def _findings_recorded(
        self, *, client_id: UUID, provenance: Provenance, findings: Findings
    ) -> None:
        self.findings = findings

    @property
    def under_decree(self) -> bool:
        """Government Decree 869/2024 governs the interview of a period starting in 2025 on."""
        return under_decree(self.deadline.starts_on)

    def record_interview(
        self,
        *,
        provenance: Provenance,
        codes: Mapping[Matter, str] | None = None,
        notes: Mapping[Matter, str] | None = None,
        told: Collection[Told] = (),
        client_understands_language: bool | None = None,
    ) -> None:
        """Records matters covered (a matter given again replaces its record), matters told,
        and the statement on the language; what is already so is not recorded again."""
        self._require_open()
        if self.started_on is None or self.interview is None:
            raise AssessmentNotStartedError()
        understands = client_understands_language
        if understands is not None and self.under_decree:
            check_language(
                self.interview.model_copy(update={"client_understands_language": understands})
            )
        new_codes = {m: c for m, c in (codes or {}).items() if self.interview_codes.get(m) != c}
        new_notes = {m: n for m, n in (notes or {}).items() if self.interview_notes.get(m) != n}
        new_told = [t for t in Told if t in told and t not in self.told]
        if understands == self.interview.client_understands_language:
            understands = None
        if not (new_codes or new_notes or new_told or understands is not None):
            return
        self._interview_recorded(
            client_id=self.client_id,
            provenance=provenance,
            codes={m.value: c for m, c in new_codes.items()},
            noted=tuple(m.value for m in new_notes),
            notes={m.value: n for m, n in new_notes.items()} or None,
            told=tuple(t.value for t in new_told),
            client_understands_language=understands,
        )

    @event("InterviewRecorded")
    def _interview_recorded(
        self,
        *,
        client_id: UUID,
        provenance: Provenance,
        codes: dict[str, str],
        noted: tuple[str, ...],
        notes: dict[str, str] | None,  # personal data: sealed at rest (sealing.NotesMapper)
        told: tuple[str, ...],
        client_understands_language: bool | None,
    ) -> None:
        for name, code in codes.items():
            self.interview_notes.pop(Matter(name), None)
            self.interview_codes[Matter(name)] = code
        for name in noted:
            self.interview_codes.pop(Matter(name), None)
            self.interview_notes[Matter(name)] = (notes or {}).get(name)
        self.told.update(Told(name) for name in told)
        if client_understands_language is not None and self.interview is not None:
            self.interview = self.interview.model_copy(
                update={"client_understands_language": client_understands_language}
            )

    def covered(self) -> set[Matter]:
        """The §2(1) matters covered: recorded with the interview, or coded in the findings."""
        covered = set(self.interview_codes) | set(self.interview_notes)
        findings = self.findings
        if findings is not None:
            if findings.literacy is not None:
                covered.add(Matter.LITERACY)
            if findings.language_skills:
                covered.add(Matter.FINNISH_SWEDISH)
            if findings.education is not None and findings.years_of_work_experience is not None:
                covered.add(Matter.EDUCATION_AND_WORK_HISTORY)
        return covered

    def interview_missing(self) -> InterviewIncompleteError | None:
        """What the decree still asks of the interview (None when nothing, or not under it)."""
        if not self.under_decree:
            return None
        matters = [m for m in Matter if m not in self.covered()]
        told = [t for t in Told if t not in self.told]
        unstated = self.interview is None or self.interview.client_understands_language is None
        if not (matters or told or unstated):
            return None
        return InterviewIncompleteError(matters, told, unstated)

    def waive(self, *, provenance: Provenance, waived_on: date, reason: str, ground: Rule) -> None:
        """Not made, on ``ground``: under Act 681/2023 only §14(5) (an unaccompanied minor whose
        needs another client plan meets); under 1386/2010 the municipality's practice for an
        obviously unnecessary one."""
        self._require_open()
        if self.started_on is not None:
            raise AssessmentAlreadyStartedError(self.started_on)
        groups = ground.values().get("groups")
        if groups is not None and self.group not in groups:
            raise WaiverRefusedError(ground.citation)
        self._waived(
            client_id=self.client_id,
            provenance=provenance,
            waived_on=waived_on,
            reason=reason,
            legal_basis=(ground.ref,),
        )

    @event("Waived")
    def _waived(
        self,
        *,
        client_id: UUID,
        provenance: Provenance,
        waived_on: date,
        reason: str,
        legal_basis: tuple[RuleRef, ...] = (),  # () in events stored before it was recorded
    ) -> None:
        self.waived_on = waived_on

    def transfer_responsibility(
        self,
        *,
        provenance: Provenance,
        from_organisation: str,
        to_organisation: str,
        reason: str,
        legal_basis: tuple[RuleRef, ...],
    ) -> None:
        """Another organisation answers for the case. The deadline stays as it was set, under
        the law it was computed by; the event says so."""
        if not self.open or self.responsible_organisation == to_organisation:
            return
        self._responsibility_transferred(
            client_id=self.client_id,
            provenance=provenance,
            from_organisation=from_organisation,
            to_organisation=to_organisation,
            reason=reason,
            deadline_kept=self.deadline,
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
        deadline_kept: Deadline,
        legal_basis: tuple[RuleRef, ...],
    ) -> None:
        self.responsible_organisation = to_organisation
        self.responsibility.append(
            ResponsibilityPeriod(
                organisation=to_organisation,
                since=provenance.occurred_at,
                legal_basis=legal_basis,
            )
        )

    def responsible_on(self, moment: datetime) -> ResponsibilityPeriod | None:
        """Who answered for the case at ``moment`` (None before the case existed)."""
        current = None
        for period in self.responsibility:
            if period.since <= moment:
                current = period
        return current

    def mark_overdue(self, *, provenance: Provenance, today: date) -> bool:
        """Not started by the due day: overdue, recorded once. Returns whether it was now."""
        if self.started_on or not self.open or self.overdue_on or today <= self.deadline.due:
            return False
        overdue_on = self.deadline.due + timedelta(days=1)
        self._overdue(client_id=self.client_id, provenance=provenance, overdue_on=overdue_on)
        return True

    @event("Overdue")
    def _overdue(self, *, client_id: UUID, provenance: Provenance, overdue_on: date) -> None:
        self.overdue_on = overdue_on

    def refer(
        self,
        *,
        provenance: Provenance,
        referral_id: str,
        service: ReferralService,
        referred_on: date,
    ) -> None:
        if referral_id in self.referrals:
            return
        self._referral_made(
            client_id=self.client_id,
            provenance=provenance,
            referral_id=referral_id,
            service=service,
            referred_on=referred_on,
        )

    @event("ReferralMade")
    def _referral_made(
        self,
        *,
        client_id: UUID,
        provenance: Provenance,
        referral_id: str,
        service: ReferralService,
        referred_on: date,
    ) -> None:
        self.referrals[referral_id] = ReferralService(service)

    def record_referral_outcome(
        self, *, provenance: Provenance, referral_id: str, outcome: ReferralOutcome, on: date
    ) -> None:
        if referral_id not in self.referrals:
            raise UnknownReferralError(referral_id)
        self._referral_outcome(
            client_id=self.client_id,
            provenance=provenance,
            referral_id=referral_id,
            service=self.referrals[referral_id],
            outcome=outcome,
            on=on,
        )

    @event("ReferralOutcomeRecorded")
    def _referral_outcome(
        self,
        *,
        client_id: UUID,
        provenance: Provenance,
        referral_id: str,
        service: ReferralService,
        outcome: ReferralOutcome,
        on: date,
    ) -> None:
        self.referral_outcomes[referral_id] = ReferralOutcome(outcome)

    def complete(
        self,
        *,
        provenance: Provenance,
        completed_on: date,
        plan_needed: bool,
        reason: str,
        documentation: Documentation | None = None,
    ) -> None:
        """Completed, with the plan need decided; with ``documentation``, what the national
        data store asks of it is recorded right after, in the same save."""
        if self.completed_on is not None:
            raise AssessmentAlreadyCompletedError(self.completed_on)
        if self.started_on is None:
            raise AssessmentNotStartedError()
        if completed_on < self.started_on:
            raise DateBeforeError(completed_on, self.started_on)
        missing = self.interview_missing()
        if missing is not None:
            raise missing
        if documentation is not None:
            self._check_documentation(documentation)
        self._completed(client_id=self.client_id, provenance=provenance, completed_on=completed_on)
        self._plan_need_decided(
            client_id=self.client_id,
            provenance=provenance,
            decided_on=completed_on,
            plan_needed=plan_needed,
            reason=reason,
            responsible_organisation=self.responsible_organisation,
        )
        if documentation is not None:
            self.document(provenance=provenance, documentation=documentation)

    def document(self, *, provenance: Provenance, documentation: Documentation) -> None:
        """Records what the national data store asks of the assessment (Decree 874/2024
        §1(1)), at completion or later (records are fixed before the store opens in 2027).
        Only an assessment that was made: started (in progress) or completed; not one only
        due, nor a waived one (never started). Each field given replaces the one recorded;
        what is already so is not recorded again, and nothing new is no event."""
        self._check_documentation(documentation)
        further = documentation.further_measures
        measures = None if further is None else tuple(m for m in FurtherMeasure if m in further)
        given = documentation.sources
        sources = None if given is None else tuple(s for s in InformationSource if s in given)
        makers = None if documentation.makers is None else tuple(documentation.makers)
        planned = documentation.plan_planned_on
        measures = measures if measures != self.further_measures else None
        planned = planned if planned != self.plan_planned_on else None
        makers = makers if makers != self.makers else None
        sources = sources if sources != self.sources else None
        if measures is None and planned is None and makers is None and sources is None:
            return
        self._documented(
            client_id=self.client_id,
            provenance=provenance,
            further_measures=measures,
            plan_planned_on=planned,
            makers=makers,
            sources=sources,
        )

    def _check_documentation(self, documentation: Documentation) -> None:
        if self.started_on is None:
            raise AssessmentNotStartedError()
        planned = documentation.plan_planned_on
        if planned is not None and planned < self.started_on:
            raise PlanPlannedBeforeStartError(planned, self.started_on)

    @event("Documented")
    def _documented(
        self,
        *,
        client_id: UUID,
        provenance: Provenance,
        # Each None: left as it was (and so absent from an event that never had the field).
        further_measures: tuple[FurtherMeasure, ...] | None = None,
        plan_planned_on: date | None = None,
        makers: tuple[Maker, ...] | None = None,
        sources: tuple[InformationSource, ...] | None = None,
    ) -> None:
        # Stored tuples are read back as lists, and the codes as plain strings.
        if further_measures is not None:
            self.further_measures = tuple(FurtherMeasure(m) for m in further_measures)
        if plan_planned_on is not None:
            self.plan_planned_on = plan_planned_on
        if makers is not None:
            self.makers = tuple(makers)
        if sources is not None:
            self.sources = tuple(InformationSource(s) for s in sources)

    @event("Completed")
    def _completed(self, *, client_id: UUID, provenance: Provenance, completed_on: date) -> None:
        self.completed_on = completed_on

    @event("PlanNeedDecided")
    def _plan_need_decided(
        self,
        *,
        client_id: UUID,
        provenance: Provenance,
        decided_on: date,
        plan_needed: bool,
        reason: str,
        responsible_organisation: str,
    ) -> None:
        self.plan_needed = plan_needed
