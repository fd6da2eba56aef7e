"""What the initial assessment refuses, as the staff API names it (the interview's own, of
Government Decree 869/2024, is ``interview.InterviewIncompleteError``)."""

from __future__ import annotations

from datetime import date

from shared.errors import DomainError


class AssessmentAlreadyStartedError(DomainError):
    code = "assessment_already_started"

    def __init__(self, started_on: date) -> None:
        super().__init__(started_on=started_on.isoformat())


class AssessmentNotStartedError(DomainError):
    code = "assessment_not_started"


class AssessmentAlreadyCompletedError(DomainError):
    code = "assessment_already_completed"

    def __init__(self, completed_on: date) -> None:
        super().__init__(completed_on=completed_on.isoformat())


class WaiverRefusedError(DomainError):
    code = "waiver_refused"


class DateBeforeError(DomainError):
    code = "date_out_of_order"

    def __init__(self, day: date, previous: date) -> None:
        super().__init__(date=day.isoformat(), previous=previous.isoformat())


class InterpreterNotAllowedError(DomainError):
    code = "interpreter_not_allowed"


class InterviewerNotOfficialError(DomainError):
    code = "interviewer_not_official"


class AssessmentClosedError(DomainError):
    code = "assessment_closed"


class UnknownReferralError(DomainError):
    code = "unknown_referral"


class PlanPlannedBeforeStartError(DomainError):
    code = "plan_planned_before_assessment"

    def __init__(self, planned: date, started_on: date) -> None:
        super().__init__(planned=planned.isoformat(), started_on=started_on.isoformat())


class AssessmentAlreadyOpenError(DomainError):
    code = "assessment_already_open"
