"""Which client's letters hold each message, and which messages' last word is a failure.

Followed from the service's log, so that staff find a message by its id and list the failed
ones without reading every client's letters. The API's worker threads share one index, so it
is followed by one at a time.
"""

from __future__ import annotations

import threading
from typing import Any
from uuid import UUID

from eventsourcing.application import Application

# The letters' events it reads, as stored (``ClientOutbox`` is the letters' stored name).
_LETTERS = ":ClientOutbox."
_INDEXED = frozenset({"MessageScheduled", "MessageFailed", "ResendRequested"})


class MessageIndex:
    def __init__(self, app: Application[UUID]) -> None:
        self._app = app
        self._lock = threading.Lock()
        self._letters: dict[str, UUID] = {}  # message id → the letters holding it
        self._failed: set[str] = set()  # message ids whose last word is a failure
        self._position = 0

    def letters_holding(self, message_id: str) -> UUID | None:
        """The id of the client's letters that hold ``message_id``, if any do."""
        with self._lock:
            self._follow()
            return self._letters.get(message_id)

    def letters_with_failures(self) -> list[UUID]:
        """The ids of the letters that hold a failed message (only these need reading)."""
        with self._lock:
            self._follow()
            return sorted({self._letters[m] for m in self._failed})

    def _follow(self) -> None:
        recorder: Any = self._app.recorder
        while notifications := recorder.select_notifications(self._position + 1, 1000):
            for notification in notifications:
                self._position = notification.id
                kind = notification.topic.rsplit(".", 1)[-1]
                if _LETTERS not in notification.topic or kind not in _INDEXED:
                    continue
                event: Any = self._app.mapper.to_domain_event(notification)
                if kind == "MessageScheduled":
                    self._letters[event.message_id] = UUID(str(notification.originator_id))
                elif kind == "MessageFailed":
                    self._failed.add(event.message_id)
                else:  # asked to go out again
                    self._failed.discard(event.message_id)
