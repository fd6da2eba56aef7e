"""The assessment's durable timer: not started by the due day is overdue (once)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from uuid import UUID

from services.assessment.application import AssessmentApplication
from shared.clock import utc_now
from shared.timers import DeadlineWatch, Timer

START = Timer(
    kind="start",
    sets="InitialAssessment.Due",
    clears=("InitialAssessment.Started", "InitialAssessment.Waived", "InitialAssessment.Overdue"),
)


def overdue_watch(
    app: AssessmentApplication,
    clock: Callable[[], datetime] = utc_now,
    poll_seconds: float = 60.0,
) -> DeadlineWatch:
    def mark(assessment_id: UUID, kind: str, today: date) -> bool:
        return app.mark_overdue(assessment_id, today)

    return DeadlineWatch(
        app,
        [START],
        mark,
        clock=clock,
        poll_seconds=poll_seconds,
        grace=timedelta(hours=app.settings.late_entry_grace_hours),
    )
