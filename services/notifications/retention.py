"""Notifications' retention timer: a letter's sealed details (its address, its contents; class
``letters``) go when the class's period has run from the day the letter was sent — or failed,
or was cancelled: the day nothing more was to happen to it. Each letter has a key of its own
(``ClientKeys.record_key``), so each goes on its own day; the letters sealed before that share
the client's letters key, whose clock runs from the last of them.

The clocks are kept from this service's log alone: the letters' own events, and intake's
legal holds as recorded here (``shared.retention.holds``)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID

from services.notifications.keys import RETENTION_CLASS
from services.notifications.outbox import ClientOutbox
from shared.clock import utc_now
from shared.retention.classes import retention_classes
from shared.retention.clocks import ClockState, Due
from shared.retention.holds import read_holds
from shared.retention.watch import RetentionWatch, business_day
from shared.values import Provenance

if TYPE_CHECKING:
    from services.notifications.application import NotificationsApplication

SERVICE = "notifications"
_ENDED = {"MessageSent", "MessageFailed", "MessageCancelled"}


class _LetterReader:
    """Feeds the clocks from ``ClientOutbox``'s stored events. The clocks remember, per letter
    with sealed details and not yet expired, the key they are sealed under (the letter's
    events after scheduling do not repeat it)."""

    def __call__(self, state: ClockState, _: UUID, name: str, decode: Callable[[], Any]) -> None:
        if read_holds(state, name, decode) or not name.startswith("ClientOutbox."):
            return
        kind = name.split(".", 1)[1]
        if kind == "MessageScheduled":
            scheduled = decode()
            if scheduled.sealed is not None:
                key = getattr(scheduled, "sealed_key", None) or RETENTION_CLASS
                state.remember_letter(scheduled.client_id, scheduled.message_id, key)
        elif kind in _ENDED:
            ended = decode()
            if kind == "MessageCancelled" and ended.reason == "erased":
                self._erased(state, ended.client_id)  # (letters from before ``Erased``)
                return
            key = state.letter_key(ended.client_id, ended.message_id)
            if key is not None:  # the clock restarts if a resent letter ends again
                state.start(ended.client_id, key, business_day(ended.provenance.occurred_at))
        elif kind == "ResendRequested":
            resent = decode()
            key = state.letter_key(resent.client_id, resent.message_id)
            if key is not None and key != RETENTION_CLASS:
                state.stop(resent.client_id, key)  # in use again until it ends again
        elif kind == "DetailsExpired":
            expired = decode()
            state.expired(expired.client_id, expired.key)
            state.forget_letters(expired.client_id, expired.key)
        elif kind == "Erased":
            self._erased(state, decode().client_id)

    def _erased(self, state: ClockState, client_id: UUID) -> None:
        state.gone(client_id)  # every key of the client went with the erasure
        state.forget_letters(client_id)


def letters_retention_watch(
    app: NotificationsApplication,
    clock: Callable[[], datetime] = utc_now,
    poll_seconds: float = 3600.0,
) -> RetentionWatch:
    classes = {
        name: cls
        for name, cls in retention_classes(app.settings).items()
        if name == RETENTION_CLASS and cls.owner == SERVICE
    }

    def expire(item: Due, today: date) -> bool:
        """Records that the details went, then destroys their key; a crash between is mended
        by the next round (the record stands, the key goes then)."""
        key = RETENTION_CLASS if item.record is None else app.keys.record_key(item.record)
        organisation = f"municipality:{app.settings.municipality_code}"

        def decide(letters: ClientOutbox) -> bool:
            return letters.expire_details(
                provenance=Provenance.system(SERVICE, organisation, clock()),
                key=key,
                retention_class=item.retention_class,
                rule=item.rule,
                on=today,
            )

        letters, now = app.decide(ClientOutbox.create_id(item.client_id), ClientOutbox, decide)
        if key in letters.expired_keys:
            destroy(item.client_id, key)
        return now

    def destroy(client_id: UUID, key: str) -> None:
        """Idempotent: also mends a crash between the record and the destruction."""
        if key == RETENTION_CLASS:
            # The key of the letters from before letters had keys: destroyed, with no
            # tombstone (that would read as an erasure and refuse the client's next letter).
            app.keys.retire(client_id, key)
        else:
            app.keys.forget(client_id, key)

    return RetentionWatch(
        app,
        classes,
        _LetterReader(),
        expire,
        clock=clock,
        poll_seconds=poll_seconds,
        destroy=destroy,
    )
