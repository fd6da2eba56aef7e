"""What the integration plan refuses, as the staff API names it."""

from __future__ import annotations

from datetime import date

from shared.errors import DomainError, NotFoundError


class PlanAlreadyDraftedError(DomainError):
    code = "plan_already_drafted"

    def __init__(self, drafted_on: date) -> None:
        super().__init__(drafted_on=drafted_on.isoformat())


class PlanRefusedError(DomainError):
    """The law of the plan's date does not allow it; the detail names the rule."""

    code = "plan_refused"


class PlanStateError(DomainError):
    code = "plan_state"


class ReviewNotFoundError(NotFoundError):
    code = "review_not_found"

    def __init__(self, reviewed_on: date) -> None:
        super().__init__(reviewed_on=reviewed_on.isoformat())


class PlannedBeforeError(DomainError):
    """A planned review day before the plan was agreed, or before the review it follows."""

    code = "review_planned_too_early"

    def __init__(self, planned: date, earliest: date) -> None:
        super().__init__(planned=planned.isoformat(), earliest=earliest.isoformat())
