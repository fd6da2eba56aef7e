"""Durable deadline timers, for any service whose events set and clear deadlines.

The timers are the stored events themselves: an event of a ``sets`` kind sets a timer for its
aggregate, one of the ``clears`` kinds clears it. The watch follows the service's log into a
table of pending deadlines in the service's own store (``shared.timer_store``: what is pending
is not held in the process, and a start reads only what was stored since), so after a
restart, a crash or a clock jump every deadline that has passed is reported — once, because
the aggregate refuses a second time — with the business time at which it passed, however late
it is noticed.

A deadline that had already passed when it was recorded (a case entered late, or imported with
its original dates) is reported only after a grace period counted from its record time, the
store's own timestamp of the event that set it: the steps taken in time are entered with their
business dates meanwhile, and no overdue is recorded for them."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from uuid import UUID

from eventsourcing.persistence import Notification

from shared.clock import HELSINKI, utc_now
from shared.eventstore import ServiceApplication
from shared.messaging.wakeup import Wakeup
from shared.settings import Settings
from shared.timer_store import Changes, Follower, Key, Pending, timer_table

log = logging.getLogger(__name__)

# Long enough for a case entered on a Friday to get its steps entered on the Monday (the
# deployment's own: Settings.late_entry_grace_hours).
LATE_ENTRY_GRACE = timedelta(hours=Settings.model_fields["late_entry_grace_hours"].default)


@dataclass(frozen=True)
class Timer:
    kind: str
    sets: str  # "Aggregate.Event" whose ``deadline`` sets the timer
    clears: tuple[str, ...]


# Marks one deadline of one aggregate as passed on ``today``; True if it did so now.
Mark = Callable[[UUID, str, date], bool]


class DeadlineWatch:
    def __init__(
        self,
        app: ServiceApplication,
        timers: Sequence[Timer],
        mark: Mark,
        clock: Callable[[], datetime] = utc_now,
        poll_seconds: float = 60.0,
        grace: timedelta = LATE_ENTRY_GRACE,
    ) -> None:
        self.app = app
        self.timers = timers
        self.mark = mark
        self.clock = clock
        self.poll_seconds = poll_seconds
        self.grace = grace
        # Which events set and clear which deadline: another set of timers reads the log anew.
        reading = repr([(t.kind, t.sets, t.clears) for t in timers])
        self.pending = timer_table(app.recorder, "deadlines", reading)
        self._follower = Follower(self.pending, app.recorder, self._changes)

    def follow(self) -> None:
        """Reads what was stored since the last look into the table."""
        self._follower.follow()

    def _changes(self, notifications: Sequence[Notification]) -> Changes:
        changes: dict[Key, Pending | None] = {}  # the page's last word on each deadline
        for notification in notifications:
            name = notification.topic.rsplit(":", 1)[-1]
            aggregate_id = UUID(str(notification.originator_id))
            for timer in self.timers:
                if name == timer.sets:
                    event = self.app.mapper.to_domain_event(notification)
                    due: date = event.deadline.due  # type: ignore[attr-defined]
                    recorded: datetime = event.timestamp  # type: ignore[attr-defined]
                    changes[(aggregate_id, timer.kind)] = Pending(_day(due), recorded)
                elif name in timer.clears:
                    changes[(aggregate_id, timer.kind)] = None
        return changes

    def today(self) -> date:
        return self.clock().astimezone(HELSINKI).date()

    def waits(self, pending: Pending, now: datetime) -> bool:
        """Recorded after it had passed, and the grace since the record has not run out.

        A clock that reads before the record (a day simulated in tests) has no record time to
        count from, and goes by the business day alone."""
        recorded = pending.recorded_at
        if recorded is None:
            return False
        return passed_at(_due(pending)) < recorded <= now < recorded + self.grace

    def fire(self) -> int:
        """Reports every deadline that has passed; returns how many were reported now."""
        self.follow()
        now = self.clock()
        today = now.astimezone(HELSINKI).date()
        marked = 0
        for (aggregate_id, kind), pending in self.pending.due(_day(today), inclusive=False):
            if self.waits(pending, now):
                continue
            if self.mark(aggregate_id, kind, today):
                marked += 1
            # Removed after the mark: a crash between the two marks again, and the aggregate
            # refuses the second.
            self.pending.remove((aggregate_id, kind), pending)
        return marked

    async def run(self, stop: asyncio.Event) -> None:
        # Woken by this service's writes (a step that clears a deadline), and by the clock once
        # a minute for the days that pass and the grace periods that run out.
        wakeup = Wakeup(self.poll_seconds)
        wakeup.follow(self.app)
        while not stop.is_set():
            try:
                await asyncio.to_thread(self.fire)
            except Exception:
                log.exception("deadline watch of %s failed; retrying", self.app.name)
            await wakeup.idle(stop)


def _day(day: date) -> datetime:
    # A due day as the table keeps it (a moment): its start in UTC, so days sort as days.
    return datetime.combine(day, time(0), UTC)


def _due(pending: Pending) -> date:
    return pending.due.astimezone(UTC).date()


def passed_at(due: date) -> datetime:
    """Business time of a passed deadline: the end of its due day, in Finland."""
    return datetime.combine(due, datetime.max.time(), HELSINKI)
