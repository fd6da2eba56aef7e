"""The durable retention timer of one service, kept from its log as the deadline timers are
(``shared.timers``): it follows the service's log into the clocks' table in the service's own
store (``shared.retention.clock_store``; nothing per client held in the process, and a start
reads only what was stored since); the clocks are the stored events themselves (a closure
starts one, a hold stops it, lifting it lets it run, the expiry's own event ends it), so after
a restart, a crash or a clock jump every class whose period has run out goes — once, because
the aggregate refuses a second expiry."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Notification

from shared.clock import HELSINKI, utc_now
from shared.eventstore import ServiceApplication
from shared.messaging.wakeup import Wakeup
from shared.retention.classes import EndsIn, RetentionClass
from shared.retention.clock_store import ClockChanges, clock_store
from shared.retention.clocks import ClockState, Due, report_of, stored_clients
from shared.timer_store import Follower

log = logging.getLogger(__name__)

# The version of the services' readers (``Read``): raised when one reads an event otherwise,
# so that every store's clocks are made again from its log.
READERS = 1

# Feeds the clocks from one stored event: (state, aggregate id, the event's name within its
# aggregate, a function that decodes the event — called only for the names that matter).
Read = Callable[[ClockState, UUID, str, Callable[[], Any]], None]
# Destroys what one due class holds and records that it went; True if it did so now.
Expire = Callable[[Due, date], bool]
# Destroys, again, what a recorded expiry says went (idempotent): (client, class or key).
Destroy = Callable[[UUID, str], None]


def business_day(moment: datetime) -> date:
    return moment.astimezone(HELSINKI).date()


class RetentionWatch:
    def __init__(
        self,
        app: ServiceApplication,
        classes: dict[str, RetentionClass],
        read: Read,
        expire: Expire,
        clock: Callable[[], datetime] = utc_now,
        poll_seconds: float = 3600.0,
        sweeps: Sequence[Callable[[datetime], object]] = (),
        destroy: Destroy | None = None,
    ) -> None:
        self.app = app
        # Recorded expiries (``ClockState.expired``) are made sure of with ``destroy``.
        self.destroy = destroy
        # Classes with no client clock (the access log's rows), purged on each round.
        self.sweeps = sweeps
        self.classes = classes
        self.read = read
        self.expire = expire
        self.clock = clock
        self.poll_seconds = poll_seconds
        # The classes clocked and the readers' version: another reading reads the log anew.
        self.store = clock_store(app.recorder, f"{READERS}:{sorted(classes.items())!r}")
        self._follower = Follower(self.store, app.recorder, self._changes)

    def follow(self) -> None:
        """Reads what was stored since the last look into the clocks' table."""
        self._follower.follow()

    def _changes(self, notifications: Sequence[Notification]) -> ClockChanges:
        state = ClockState(load=self.store.load)  # the page's clients, loaded as touched
        for notification in notifications:
            name = notification.topic.rsplit(":", 1)[-1]
            aggregate_id = UUID(str(notification.originator_id))
            self.read(
                state,
                aggregate_id,
                name,
                lambda n=notification: self.app.mapper.to_domain_event(n),  # type: ignore[misc]
            )
        # Recorded expiries are made sure of with ``destroy`` (none to confirm without one).
        expired = state.take_expired() if self.destroy is not None else []
        return ClockChanges(state.changed(), expired)

    def _report(self, today: date, *, only_due: bool) -> list[Due]:
        clients = stored_clients(self.store.states())
        return report_of(clients, self.classes, today, only_due=only_due)

    def today(self) -> date:
        return business_day(self.clock())

    def report(self) -> list[Due]:
        """Every running clock, and whether its class is due to go today (a dry run)."""
        self.follow()
        return self._report(self.today(), only_due=False)

    def fire(self) -> list[Due]:
        """Destroys every class due for deletion today; returns what went now. A class that
        ends in archiving is only reported: the archive takes it, not Kotoutus."""
        self.follow()
        today = self.today()
        went = []
        for item in self._report(today, only_due=True):
            if item.ends_in is EndsIn.DELETION and self.expire(item, today):
                went.append(item)
        self.follow()  # the expiries' own events end their clocks
        try:
            if self.destroy is not None:
                self._confirm_expiries(self.destroy)
        finally:  # the purges of rows run whatever a client's destruction did
            for sweep in self.sweeps:
                sweep(self.clock())
        return went

    def _confirm_expiries(self, destroy: Destroy) -> None:
        """Each recorded expiry's destruction, confirmed once done: what a crash between the
        record and the destruction left is destroyed now. One that fails is tried again next
        round, and holds back no other."""
        for client_id, name in self.store.unconfirmed():
            try:
                destroy(client_id, name)
            except Exception:
                log.exception("could not destroy %s of %s; will try again", name, client_id)
                continue
            self.store.confirm(client_id, name)

    async def run(self, stop: asyncio.Event) -> None:
        # Woken by the clock alone: periods are counted in days, and a hold lifted on a record
        # already past its period may wait for the next round (not woken by every write).
        if not self.app.settings.retention_automatic:
            log.info("retention of %s: applied only by `kotoutus retention apply`", self.app.name)
            return
        wakeup = Wakeup(self.poll_seconds)
        while not stop.is_set():
            try:
                await asyncio.to_thread(self.fire)
            except Exception:
                log.exception("retention watch of %s failed; retrying", self.app.name)
            await wakeup.idle(stop)
