"""Assessment's commands, its reaction to intake's decisions, and its overdue facts."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import date, datetime
from typing import Any, ClassVar
from uuid import UUID

from eventsourcing.domain import Aggregate
from eventsourcing.persistence import JSONTranscoder

from services.assessment.domain import (
    Documentation,
    InitialAssessment,
    ResponsibilityPeriod,
    WaiverRefusedError,
)
from services.assessment.interview import InterviewContent
from services.assessment.model import (
    Findings,
    Interview,
    OpenedBy,
    ReferralOutcome,
    ReferralService,
)
from services.assessment.sealing import ClientKeys, NotesMapper
from shared.contracts import PublicEvent
from shared.contracts import events as contracts
from shared.contracts.records import Maker
from shared.crypto import master_key
from shared.errors import DomainError
from shared.eventstore import ServiceApplication, pydantic_transcoding
from shared.law.deadlines import deadline_or_target
from shared.law.rulebook import NoRuleInForceError, Rule, RuleBook, municipal_targets
from shared.settings import Settings
from shared.timers import passed_at
from shared.values import Provenance


class AssessmentAlreadyOpenError(DomainError):
    code = "assessment_already_open"
    texts = {
        "fi": "Asiakkaalla on jo alkukartoitus",
        "sv": "Klienten har redan en kartläggning",
        "en": "The client already has an initial assessment",
    }


class AssessmentApplication(ServiceApplication):
    name = "assessment"
    service_name: ClassVar[str] = "assessment"

    def __init__(self, settings: Settings, env: dict[str, str], book: RuleBook | None = None):
        super().__init__(settings, env, book)
        # The interview's notes are sealed with per-client keys kept in our own store.
        self.keys = ClientKeys(self.recorder, master_key(settings))
        assert isinstance(self.mapper, NotesMapper)
        self.mapper.keys = self.keys

    def construct_mapper(self) -> Any:
        return NotesMapper(self.construct_transcoder())

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        for model in (Interview, Findings, Maker):
            transcoder.register(pydantic_transcoding(model))

    def _open(
        self,
        *,
        client_id: UUID,
        provenance: Provenance,
        opened_by: OpenedBy,
        group: str | None,
        starts_on: date,
        responsible_organisation: str,
    ) -> InitialAssessment:
        # The start deadline is set by the law in force when the period starts; where that
        # law says "without delay", the day shown is the municipality's own target.
        due = deadline_or_target(
            self.book,
            "assessment.start_deadline",
            starts_on,
            targets=municipal_targets(),
            target_id="assessment.start_target",
            municipality=self.settings.municipality_code,
        )
        return InitialAssessment(
            client_id=client_id,
            provenance=provenance,
            opened_by=opened_by,
            group=group,
            deadline=due,
            responsible_organisation=responsible_organisation,
            legal_basis=due.legal_basis,
        )

    def on_client_erased(self, message: PublicEvent) -> Sequence[Aggregate]:
        """The person is erased: the key of their interview notes goes, and the notes with it
        (idempotent, so a redelivery does no harm)."""
        assert isinstance(message, contracts.ClientErased)
        self.keys.forget(message.data.client_id)
        return ()

    def on_eligibility_determined(self, message: PublicEvent) -> Sequence[Aggregate]:
        """A client who enters a group the law assigns an assessment gets one."""
        assert isinstance(message, contracts.EligibilityDetermined)
        data = message.data
        group = data.eligibility.group
        if not data.eligibility.in_scope or group is None:
            return ()
        rule = self.book.in_force("eligibility.scope", data.decided_on)
        if group not in rule.value("assessment_groups"):
            return ()  # an assessment on request only
        if InitialAssessment.create_id(data.client_id) in self.repository:
            return ()
        provenance = Provenance.system(
            self.service_name, data.responsible_organisation, message.occurred_at
        )
        assessment = self._open(
            client_id=data.client_id,
            provenance=provenance,
            opened_by=OpenedBy.GROUP,
            group=group,
            starts_on=data.decided_on,
            responsible_organisation=data.responsible_organisation,
        )
        self._follow_latest(assessment, message)
        return (assessment,)

    def _follow_latest(self, assessment: InitialAssessment, opened_by: PublicEvent) -> None:
        """A transfer handled before the case existed applies to it now."""
        latest = self.latest_responsibility(assessment.client_id)
        if (
            latest is not None
            and opened_by.source == "intake"
            and latest.position > opened_by.position
        ):
            assessment.transfer_responsibility(
                provenance=latest.provenance,
                from_organisation=assessment.responsible_organisation,
                to_organisation=latest.organisation,
                reason=latest.reason,
                legal_basis=latest.legal_basis,
            )

    def on_responsibility_transferred(self, message: PublicEvent) -> Sequence[Aggregate]:
        """The open case follows the client to the organisation that now answers for it."""
        assert isinstance(message, contracts.ResponsibilityTransferred)
        data = message.data
        latest = self.note_responsibility(
            message, data.client_id, data.to_organisation, data.reason
        )
        assessment = self.stored(InitialAssessment.create_id(data.client_id), InitialAssessment)
        if assessment is None:
            return (latest,)  # a case opened later follows it
        assessment.transfer_responsibility(
            provenance=Provenance(
                actor=message.actor,
                organisation=message.organisation,
                occurred_at=message.occurred_at,
            ),
            from_organisation=data.from_organisation,
            to_organisation=data.to_organisation,
            reason=data.reason,
            legal_basis=message.legal_basis,
        )
        return (latest, assessment)

    def request(
        self,
        client_id: UUID,
        *,
        provenance: Provenance,
        opened_by: OpenedBy,
        received_on: date,
        responsible_organisation: str,
    ) -> InitialAssessment:
        """The client asked, or another authority sent a contact notice."""
        if InitialAssessment.create_id(client_id) in self.repository:
            raise AssessmentAlreadyOpenError(str(client_id))
        assessment = self._open(
            client_id=client_id,
            provenance=provenance,
            opened_by=opened_by,
            group=None,
            starts_on=received_on,
            responsible_organisation=responsible_organisation,
        )
        self.save(assessment)
        return assessment

    def assessment_of(self, client_id: UUID) -> InitialAssessment:
        return self.load(InitialAssessment.create_id(client_id), InitialAssessment)

    def responsibility_at(
        self, assessment: InitialAssessment, moment: datetime
    ) -> ResponsibilityPeriod | None:
        """Who answered for the case at ``moment``, on the grounds that made it theirs."""
        period = assessment.responsible_on(moment)
        if period is None or period is not assessment.responsibility[0]:
            return period  # a transfer names its own rules (the handover's among them)
        # The opening event records the deadline's rules; who answers was decided by the
        # responsibility rule in force on the day the case opened.
        rule = self.book.in_force("responsibility.assessment", assessment.deadline.starts_on)
        return replace(period, legal_basis=(rule.ref,))

    def responsible_organisation(self, client_id: UUID) -> str | None:
        assessment = self.stored(InitialAssessment.create_id(client_id), InitialAssessment)
        if assessment is not None:
            return assessment.responsible_organisation
        return super().responsible_organisation(client_id)

    def _change(
        self, client_id: UUID, change: Callable[[InitialAssessment], None]
    ) -> InitialAssessment:
        return self.update(InitialAssessment.create_id(client_id), InitialAssessment, change)

    def start(
        self,
        client_id: UUID,
        *,
        provenance: Provenance,
        started_on: date,
        interview: Interview,
        content: InterviewContent | None = None,
    ) -> InitialAssessment:
        def start(assessment: InitialAssessment) -> None:
            assessment.start(provenance=provenance, started_on=started_on, interview=interview)
            if content is not None:  # nothing new is no event
                self._interview_content(assessment, provenance, content, None)

        return self._change(client_id, start)

    def record_interview(
        self,
        client_id: UUID,
        *,
        provenance: Provenance,
        content: InterviewContent,
        client_understands_language: bool | None = None,
    ) -> InitialAssessment:
        """What the initial interview covered and told (Government Decree 869/2024 §2)."""
        return self._change(
            client_id,
            lambda a: self._interview_content(a, provenance, content, client_understands_language),
        )

    @staticmethod
    def _interview_content(
        assessment: InitialAssessment,
        provenance: Provenance,
        content: InterviewContent,
        client_understands_language: bool | None,
    ) -> None:
        assessment.record_interview(
            provenance=provenance,
            codes=content.codes,
            notes=content.notes,
            told=content.told,
            client_understands_language=client_understands_language,
        )

    def record_findings(
        self, client_id: UUID, *, provenance: Provenance, findings: Findings
    ) -> InitialAssessment:
        return self._change(
            client_id, lambda a: a.record_findings(provenance=provenance, findings=findings)
        )

    def waive(
        self, client_id: UUID, *, provenance: Provenance, waived_on: date, reason: str
    ) -> InitialAssessment:
        def waive(assessment: InitialAssessment) -> None:
            assessment.waive(
                provenance=provenance,
                waived_on=waived_on,
                reason=reason,
                ground=self._waiver_ground(assessment),
            )

        return self._change(client_id, waive)

    def _waiver_ground(self, assessment: InitialAssessment) -> Rule:
        """The law's ground for not making the assessment, by the law of its period's start;
        under the old law, where the act says nothing, the municipality's own practice."""
        starts_on = assessment.deadline.starts_on
        try:
            return self.book.in_force("assessment.not_made", starts_on)
        except NoRuleInForceError:
            pass
        practice = municipal_targets().in_force(
            "assessment.waiver", self.settings.municipality_code, starts_on
        )
        if practice is None:
            raise WaiverRefusedError(f"no ground on {starts_on}")
        return practice

    def refer(
        self,
        client_id: UUID,
        *,
        provenance: Provenance,
        referral_id: str,
        service: ReferralService,
        referred_on: date,
    ) -> InitialAssessment:
        return self._change(
            client_id,
            lambda a: a.refer(
                provenance=provenance,
                referral_id=referral_id,
                service=service,
                referred_on=referred_on,
            ),
        )

    def record_referral_outcome(
        self,
        client_id: UUID,
        *,
        provenance: Provenance,
        referral_id: str,
        outcome: ReferralOutcome,
        on: date,
    ) -> InitialAssessment:
        return self._change(
            client_id,
            lambda a: a.record_referral_outcome(
                provenance=provenance, referral_id=referral_id, outcome=outcome, on=on
            ),
        )

    def complete(
        self,
        client_id: UUID,
        *,
        provenance: Provenance,
        completed_on: date,
        plan_needed: bool,
        reason: str,
        documentation: Documentation | None = None,
    ) -> InitialAssessment:
        return self._change(
            client_id,
            lambda a: a.complete(
                provenance=provenance,
                completed_on=completed_on,
                plan_needed=plan_needed,
                reason=reason,
                documentation=documentation,
            ),
        )

    def document(
        self, client_id: UUID, *, provenance: Provenance, documentation: Documentation
    ) -> InitialAssessment:
        """What the national data store asks of the assessment (Decree 874/2024 §1(1))."""
        return self._change(
            client_id, lambda a: a.document(provenance=provenance, documentation=documentation)
        )

    def mark_overdue(self, assessment_id: UUID, today: date) -> bool:
        """Records that the assessment was not started by its due day (once)."""

        def decide(assessment: InitialAssessment) -> bool:
            provenance = Provenance.system(
                self.service_name,
                assessment.responsible_organisation,
                passed_at(assessment.deadline.due),
            )
            return assessment.mark_overdue(provenance=provenance, today=today)

        return self.decide(assessment_id, InitialAssessment, decide)[1]
