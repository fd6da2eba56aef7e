"""Assessment's commands and its overdue facts; its reactions to intake's decisions, and the
opening of a case they share with a request, are ``IntakeReactions`` (``reactions.py``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import date, datetime
from typing import Any, ClassVar
from uuid import UUID

from eventsourcing.persistence import JSONTranscoder

from services.assessment.domain import Documentation, InitialAssessment, ResponsibilityPeriod
from services.assessment.errors import AssessmentAlreadyOpenError, WaiverRefusedError
from services.assessment.interview import InterviewContent
from services.assessment.model import (
    Findings,
    Interview,
    OpenedBy,
    ReferralOutcome,
    ReferralService,
)
from services.assessment.reactions import IntakeReactions
from services.assessment.sealing import ClientKeys, NotesMapper
from shared.contracts.records import Maker
from shared.crypto import master_key
from shared.eventstore import pydantic_transcoding
from shared.law.rulebook import NoRuleInForceError, Rule, RuleBook, municipal_targets
from shared.settings import Settings
from shared.timers import passed_at
from shared.values import Provenance


class AssessmentApplication(IntakeReactions):
    name = "assessment"
    service_name: ClassVar[str] = "assessment"

    def __init__(self, settings: Settings, env: dict[str, str], book: RuleBook | None = None):
        super().__init__(settings, env, book)
        # The interview's notes are sealed with per-client keys kept in our own store.
        self.keys = ClientKeys(self.recorder, master_key(settings))
        assert isinstance(self.mapper, NotesMapper)
        self.mapper.keys = self.keys

    def construct_mapper(self) -> Any:
        return NotesMapper(self.construct_transcoder(), compressor=self.compressor)

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        for model in (Interview, Findings, Maker):
            transcoder.register(pydantic_transcoding(model))

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
