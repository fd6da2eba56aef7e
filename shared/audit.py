"""Tamper evidence: every stored event is chained by hash to its predecessor in its service's
log, and the chain is kept beside the store. ``verify`` walks the log again and names the first
event whose stored bytes no longer match (altered, removed or slipped in).

The chain hashes the stored bytes, so crypto-shredding (destroying a key) leaves it intact.
It is extended by a follower of the log at most once every ``ChainKeeper.spacing_seconds``
(and once more when the process stops), each time with everything stored since: auditors need
the chain intact, not immediate, and a link per write cost 3–4 % of every service's CPU
(docs/performance.md). An event altered in the moments between its write and its hashing would
go unnoticed (documented, not yet closed)."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from dataclasses import dataclass

from eventsourcing.persistence import Notification

from shared.eventstore import ServiceApplication
from shared.messaging.wakeup import Wakeup
from shared.side_table import SideTable

log = logging.getLogger(__name__)
GENESIS = b"\x00" * 32
BATCH = 1000


def link(previous: bytes, notification: Notification) -> bytes:
    digest = hashlib.sha256(previous)
    for part in (
        str(notification.id).encode(),
        str(notification.originator_id).encode(),
        str(notification.originator_version).encode(),
        notification.topic.encode(),
        bytes(notification.state),
    ):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.digest()


@dataclass(frozen=True)
class Verification:
    service: str
    checked: int
    first_altered: int | None = None
    detail: str = ""

    @property
    def intact(self) -> bool:
        return self.first_altered is None


class HashChain:
    """The chain of one service's log, in a table of the service's own database."""

    def __init__(self, app: ServiceApplication) -> None:
        self.app = app
        self.store = SideTable(app.recorder, "event_chain")
        # SQLite: INTEGER PRIMARY KEY is the row id itself (BIGINT would add an index of
        # it); tables made before keep theirs.
        key = "BIGINT" if self.store.postgres else "INTEGER"
        self.store.run(
            "CREATE TABLE IF NOT EXISTS {table} "
            f"(notification_id {key} PRIMARY KEY, chained BYTEA NOT NULL)"
        )

    def _last(self) -> tuple[int, bytes]:
        rows = self.store.run(
            "SELECT notification_id, chained FROM {table} ORDER BY notification_id DESC LIMIT 1",
            fetch=True,
        )
        return (int(rows[0][0]), bytes(rows[0][1])) if rows else (0, GENESIS)

    def extend(self) -> int:
        """Chains what was stored since the last link; returns how many were chained."""
        position, previous = self._last()
        chained = 0
        while notifications := self.app.recorder.select_notifications(position + 1, BATCH):
            rows = []
            for notification in notifications:
                previous = link(previous, notification)
                rows.append((notification.id, previous))
                position = notification.id
            self.store.run_many("INSERT INTO {table} VALUES (?, ?)", rows)
            chained += len(rows)
        return chained

    def verify(self) -> Verification:
        stored = dict(self.store.run("SELECT notification_id, chained FROM {table}", fetch=True))
        previous, position, checked = GENESIS, 0, 0
        name = self.app.name
        while notifications := self.app.recorder.select_notifications(position + 1, BATCH):
            for notification in notifications:
                if notification.id != position + 1 and position + 1 in stored:
                    return Verification(name, checked, position + 1, "event removed")
                previous = link(previous, notification)
                position = notification.id
                checked += 1
                expected = stored.get(notification.id)
                if expected is None:
                    if any(k > notification.id for k in stored):
                        return Verification(name, checked, notification.id, "event slipped in")
                    return Verification(name, checked)  # not chained yet: the rest is new
                if bytes(expected) != previous:
                    return Verification(
                        name,
                        checked,
                        notification.id,
                        f"{notification.topic} of {notification.originator_id} "
                        f"v{notification.originator_version} does not match its chain",
                    )
        missing = [k for k in stored if k > position]
        if missing:
            return Verification(name, checked, min(missing), "event removed")
        return Verification(name, checked)


class ChainKeeper:
    """Extends a service's chain as events are stored: after a write, but not sooner than
    ``spacing_seconds`` after the last extension, so that a busy store is chained in batches."""

    def __init__(
        self, app: ServiceApplication, idle_seconds: float = 1.0, spacing_seconds: float = 1.0
    ) -> None:
        self.chain = HashChain(app)
        self.app = app
        self.idle_seconds = idle_seconds
        self.spacing_seconds = spacing_seconds

    async def run(self, stop: asyncio.Event) -> None:
        wakeup = Wakeup(self.idle_seconds)
        wakeup.follow(self.app)
        while not stop.is_set():
            await self._extend()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.spacing_seconds)
            await wakeup.idle(stop)  # at once if something was stored meanwhile
        await self._extend()  # what the last moments stored is chained before the process ends

    async def _extend(self) -> None:
        try:
            await asyncio.to_thread(self.chain.extend)
        except Exception:
            log.exception("hash chain of %s not extended; retrying", self.app.name)
