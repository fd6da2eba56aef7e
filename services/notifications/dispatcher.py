"""The dispatcher: durable "send at" timers, and decide → send → record for each message due.

The timers are the stored events of the clients' letters (``ClientOutbox``, their stored
name), as ``shared.timers.DeadlineWatch`` does for deadlines: ``MessageScheduled`` and
``ResendRequested`` set one at ``send_at``, ``AttemptFailed`` at ``retry_at``,
``SendingStarted`` marks an attempt in flight, and a message sent, failed or cancelled clears
it. The dispatcher follows the service's log into a table of timers in its own store
(``shared.timer_store``, PostgreSQL or SQLite: nothing per client held in the process, and a
start reads only what was stored since), so after a restart, a crash or a clock jump every
message whose time has passed goes out — once, because the letters record ``SendingStarted``
before the channel is called and refuse to start a message that is not due.

An attempt found in flight when the dispatcher takes the lease is one a previous process did
not finish:
``ClientOutbox.interrupted`` decides (resend where the receiver deduplicates by id, else fail
so staff decide). That is only true when no other process is sending, so one dispatcher
sends at a time, whatever the number of notifications processes (``shared.lease``).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Notification

from services.notifications.application import NotificationsApplication
from services.notifications.delivery.channel import ChannelRouter
from services.notifications.delivery.message import (
    DeliveryResult,
    DeliveryStatus,
    OutgoingMessage,
)
from services.notifications.sending import Attempt
from shared.failpoints import failpoint
from shared.lease import Lease, SoleProcess, lease_for
from shared.messaging.wakeup import Wakeup
from shared.timer_store import Changes, Follower, Key, Pending, timer_table

log = logging.getLogger(__name__)

# Kills the process after the channel accepted a message and before the result is recorded.
SENT_BEFORE_RECORD = "notifications-sent-before-record"

_LETTERS = ":ClientOutbox."  # the letters' events, as stored
_SETS = {
    "MessageScheduled": "send_at",
    "ResendRequested": "send_at",
    "AttemptFailed": "retry_at",
    # A restriction of processing lifted (GDPR Art. 18): held messages are due again.
    "MessageReleased": "send_at",
}
_CLEARS = {"MessageSent", "MessageFailed", "MessageCancelled"}
# An attempt in flight is due at once. Not ``datetime.min``: stored as timestamptz, it would
# be read back in the session's time zone, which west of UTC is before year 1 (a DataError).
_EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
# How the log is read into the timers (another version reads it anew).
_READING = repr((sorted(_SETS.items()), sorted(_CLEARS), "SendingStarted"))


class Dispatcher:
    def __init__(
        self,
        app: NotificationsApplication,
        channels: ChannelRouter | None = None,
        lease: Lease | None = None,
    ) -> None:
        self.app = app
        self.channels = channels or app.channels()
        self.lease = lease or SoleProcess()
        self.pending = timer_table(app.recorder, "dispatcher", _READING)
        self._follower = Follower(self.pending, app.recorder, self._changes)
        self.leading = False
        self._asked_at = -float("inf")

    def follow(self) -> None:
        """Reads what was stored since the last look into the timers' table."""
        self._follower.follow()

    def _changes(self, notifications: Sequence[Notification]) -> Changes:
        changes: dict[Key, Pending | None] = {}  # the page's last word on each message
        for notification in notifications:
            name = notification.topic.rsplit(".", 1)[-1]
            if _LETTERS not in notification.topic:
                continue
            if name in _SETS or name == "SendingStarted" or name in _CLEARS:
                event: Any = self.app.mapper.to_domain_event(notification)
                key = (UUID(str(notification.originator_id)), str(event.message_id))
                if name in _CLEARS:
                    changes[key] = None
                else:
                    at = getattr(event, _SETS[name]) if name in _SETS else _EARLIEST
                    changes[key] = Pending(at)
        return changes

    def due(self) -> list[tuple[Key, Pending]]:
        """The messages due now, earliest first (an attempt in flight first of all)."""
        self.follow()
        return self.pending.due(self.app.clock(), inclusive=True)

    async def _send(self, outgoing: OutgoingMessage) -> DeliveryResult:
        try:
            return await self.channels.send(outgoing)
        except Exception as error:  # a programming error in a channel: not a delivery
            log.exception("channel failed on %s", outgoing.message_id)
            return DeliveryResult(
                message_id=outgoing.message_id,
                status=DeliveryStatus.TRANSIENT,
                reason=f"{type(error).__name__}: {error}",
            )

    async def _finish(self, letters_id: UUID, attempt: Attempt) -> None:
        if attempt.outgoing is None:
            result = DeliveryResult(
                message_id=attempt.message_id,
                status=DeliveryStatus.PERMANENT,
                reason=attempt.problem or "nothing to send",
            )
        else:
            result = await self._send(attempt.outgoing)
        failpoint(SENT_BEFORE_RECORD)
        await asyncio.to_thread(
            self.app.record_attempt, letters_id, result, attempt.recipient, attempt.organisation
        )

    async def _send_digests(self, members: dict[str, list[tuple[UUID, Attempt]]]) -> None:
        """One email per recipient for the day's reminders that are due together; each
        reminder records the digest's result (and appears as sent on its client's timeline)."""
        for recipient, group in members.items():
            items = [(a.message_id, a.digest_item) for _, a in group if a.digest_item]
            try:
                outgoing = await asyncio.to_thread(self.app.digest, recipient, items)
            except Exception as error:
                log.exception("cannot render the digest of %s", recipient)
                result = DeliveryResult(
                    message_id="digest",
                    status=DeliveryStatus.PERMANENT,
                    reason=f"{type(error).__name__}: {error}",
                )
            else:
                result = await self._send(outgoing)
            failpoint(SENT_BEFORE_RECORD)
            for letters_id, attempt in group:
                own = result.model_copy(update={"message_id": attempt.message_id})
                await asyncio.to_thread(
                    self.app.record_attempt, letters_id, own, recipient, attempt.organisation
                )

    async def tick(self) -> int:
        """Sends every message due now; returns how many messages were attempted."""
        made = 0
        digests: dict[str, list[tuple[UUID, Attempt]]] = {}
        for (letters_id, message_id), timer in await asyncio.to_thread(self.due):
            if not await asyncio.to_thread(self.lease.hold):
                # The lease was lost during this tick (its session ended): another process
                # may send now, and must not find an attempt of ours in flight.
                self.leading = False
                break
            try:
                attempt = await asyncio.to_thread(self.app.begin_attempt, letters_id, message_id)
            except Exception:
                # Nothing was recorded (e.g. the database is away): the timer stays for the
                # next tick.
                log.exception("could not start sending %s; will try again", message_id)
                continue
            if attempt is None:
                # The letters refused an attempt (not due, held, gone): the timer is done until
                # the log sets it again (a resend, a release). An attempt begun keeps its row:
                # its ``SendingStarted`` and its result, read next time, decide it, and no
                # write stands between the start and the send.
                await asyncio.to_thread(self._done, (letters_id, message_id), timer)
                continue
            made += 1
            if attempt.digest_item is not None and attempt.recipient is not None:
                digests.setdefault(attempt.recipient, []).append((letters_id, attempt))
                continue
            try:
                await self._finish(letters_id, attempt)
            except Exception:
                # One message's trouble must not hold back the others due now.
                log.exception("sending %s failed before its result was recorded", message_id)
        await self._send_digests(digests)
        return made

    def _done(self, key: Key, timer: Pending) -> None:
        try:
            self.pending.remove(key, timer)
        except Exception:  # kept: the next tick asks the letters again, which refuse again
            log.exception("could not drop the timer of %s; will ask again", key[1])

    async def lead(self) -> bool:
        """Whether this process may send now; on taking the lease, attempts the last holder
        left in flight are in the timers' table (their ``SendingStarted``, read from the log)
        and count as interrupted. A process waiting for the lease asks for it once a poll,
        not on every write it wakes for."""
        now = time.monotonic()
        if not self.leading and now - self._asked_at < self.app.delivery.dispatch_poll_seconds:
            return False
        self._asked_at = now
        self.leading = await asyncio.to_thread(self.lease.hold)
        return self.leading

    async def run(self, stop: asyncio.Event) -> None:
        wakeup = Wakeup(self.app.delivery.dispatch_poll_seconds)
        wakeup.follow(self.app)
        try:
            while not stop.is_set():
                try:
                    if await self.lead():
                        await self.tick()
                except Exception:
                    log.exception("notification dispatcher failed; retrying")
                await wakeup.idle(stop)
        finally:
            await asyncio.to_thread(self.lease.release)


def dispatcher(app: NotificationsApplication) -> Dispatcher:
    return Dispatcher(app, lease=lease_for(app.settings, "notifications", "dispatcher"))
