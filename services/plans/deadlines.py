"""The plan's durable timers: enrolment in a service and its review, overdue once."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from services.plans.application import PlansApplication
from shared.clock import utc_now
from shared.timers import DeadlineWatch, Timer

ENROLMENT = Timer(
    kind="enrolment",
    sets="IntegrationPlan.EnrolmentDue",
    clears=(
        "IntegrationPlan.Enrolled",
        "IntegrationPlan.EnrolmentOverdue",
        "IntegrationPlan.Ended",
    ),
)
REVIEW = Timer(
    kind="review",
    sets="IntegrationPlan.ReviewDue",  # a review sets the next one
    clears=("IntegrationPlan.ReviewOverdue", "IntegrationPlan.Ended"),
)


def plan_deadline_watch(
    app: PlansApplication,
    clock: Callable[[], datetime] = utc_now,
    poll_seconds: float = 60.0,
) -> DeadlineWatch:
    return DeadlineWatch(
        app,
        [ENROLMENT, REVIEW],
        app.mark_overdue,
        clock=clock,
        poll_seconds=poll_seconds,
        grace=timedelta(hours=app.settings.late_entry_grace_hours),
    )
