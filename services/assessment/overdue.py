"""The durable timer of assessment deadlines.

The timers are the stored events themselves: an ``AssessmentDue`` sets one, a start, a waiver
or an overdue fact clears it. On start the watch reads the service's log from the beginning
and then follows it, so after a restart, a crash or a clock jump every deadline that has passed
is marked overdue — once, because the aggregate refuses a second time — with the business time
at which it became overdue, however late it is noticed."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import date, datetime
from uuid import UUID

from services.assessment.application import AssessmentApplication
from services.assessment.domain import HELSINKI
from shared.clock import utc_now
from shared.messaging.wakeup import Wakeup

log = logging.getLogger(__name__)

SETS = "InitialAssessment.Due"
CLEARS = ("InitialAssessment.Started", "InitialAssessment.Waived", "InitialAssessment.Overdue")


class OverdueWatch:
    def __init__(
        self,
        app: AssessmentApplication,
        clock: Callable[[], datetime] = utc_now,
        poll_seconds: float = 60.0,
    ) -> None:
        self.app = app
        self.clock = clock
        self.poll_seconds = poll_seconds
        self.pending: dict[UUID, date] = {}
        self.position = 0

    def follow(self) -> None:
        """Reads what was stored since the last look."""
        while notifications := self.app.recorder.select_notifications(self.position + 1, 1000):
            for notification in notifications:
                self.position = notification.id
                kind = notification.topic.rsplit(":", 1)[-1]
                if kind == SETS:
                    event = self.app.mapper.to_domain_event(notification)
                    due: date = event.deadline.due  # type: ignore[attr-defined]
                    self.pending[UUID(str(notification.originator_id))] = due
                elif kind in CLEARS:
                    self.pending.pop(UUID(str(notification.originator_id)), None)

    def today(self) -> date:
        return self.clock().astimezone(HELSINKI).date()

    def fire(self) -> int:
        """Marks every assessment whose due day has passed; returns how many were marked."""
        self.follow()
        today = self.today()
        marked = 0
        for assessment_id, due in sorted(self.pending.items(), key=lambda item: item[1]):
            if due >= today:
                break
            if self.app.mark_overdue(assessment_id, today):
                marked += 1
            self.pending.pop(assessment_id, None)
        return marked

    async def run(self, stop: asyncio.Event) -> None:
        # Woken by this service's writes (an assessment may be overdue when it is opened, e.g.
        # from imported history), and by the clock once a minute for the days that pass.
        wakeup = Wakeup(self.poll_seconds)
        wakeup.follow(self.app)
        while not stop.is_set():
            try:
                await asyncio.to_thread(self.fire)
            except Exception:
                log.exception("overdue watch failed; retrying")
            await wakeup.idle(stop)
