"""A client's *letters*: every message notifications decided to send about one client (to
staff, a partner or the client), what became of each, and the appointments the client missed.
This module holds the values; the book that keeps them is ``ClientOutbox`` (``outbox``).

Words: *letters* (the client's message book) is this book, whatever the channel (email, SMS,
webhook). *Outbox* means only the transactional outbox of ``shared.messaging.relay``, which
publishes a service's stored events. The book's class is still ``ClientOutbox`` in
``outbox.py`` because that is its stored name: every event it has recorded carries the topic
``services.notifications.outbox:ClientOutbox.<Event>``, and renaming the class or moving it
would leave those events unreadable (and new ones unreadable to a process not yet upgraded).
Everywhere else (the application, the dispatcher, the routes) it is called letters. One
setting keeps the word as its public name: ``outbox_dir`` (``KOTOUTUS_OUTBOX_DIR``), the
folder where embedded mode writes the mail it would send.

A message's life::

    scheduled ──▶ sending ──▶ sent
        ▲  │         │  └───▶ retrying ──▶ sending …   (transient failure, attempts left)
        │  │         └──────▶ failed                   (permanent, out of attempts, or
        │  ▼                                            interrupted with the outcome unknown)
        │ cancelled                    failed ──resend──▶ scheduled
        └───────────────────────────────────────────────┘
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from shared.law.rulebook import RuleRef


class MessageState(StrEnum):
    SCHEDULED = "scheduled"
    SENDING = "sending"
    RETRYING = "retrying"
    SENT = "sent"
    FAILED = "failed"
    CANCELLED = "cancelled"


# The retention class of the letters' sealed details (shared/retention/retention.toml); also
# the name of the client's letters key, under which letters were sealed before each letter
# had a key of its own.
RETENTION_CLASS = "letters"

PENDING = frozenset({MessageState.SCHEDULED, MessageState.RETRYING})
# Nothing more happens to such a message unless staff ask to resend it.
FINISHED = frozenset({MessageState.SENT, MessageState.FAILED, MessageState.CANCELLED})


@dataclass(frozen=True)
class Message:
    message_id: str
    kind: str
    audience: str
    channel: str
    recipient: str  # a non-personal reference: staff id, "inbox:<org>", "partner:<id>", "client"
    language: str | None  # None: the recipient's language is chosen when sending
    send_at: datetime
    cause: str
    facts: dict[str, Any]
    sealed: str | None  # personal details (address, name), sealed under the client's key
    sealed_key: str | None = None  # the letter's own key (None: the client's letters key)
    state: MessageState = MessageState.SCHEDULED
    attempts: int = 0  # attempts in this round (a resend starts a new round)
    total_attempts: int = 0
    retry_at: datetime | None = None
    reason: str | None = None
    sent_at: datetime | None = None

    @property
    def due_at(self) -> datetime | None:
        """When the dispatcher should act on it next, if at all."""
        if self.state is MessageState.SCHEDULED:
            return self.send_at
        if self.state is MessageState.RETRYING:
            return self.retry_at
        return None


@dataclass(frozen=True)
class MissedAppointment:
    """An appointment the client missed, as staff reported it, and whether its interpreting
    may be charged (681/2023 §32a(1)); the appointment is its letter's."""

    message_id: str
    starts_at: datetime
    purpose: str
    acceptable_reason: bool
    cancelled_in_advance: bool
    client_under_18: bool
    unreasonable: bool
    interpreting_cost_eur: Decimal
    fee_may_be_charged: bool
    amount_eur: Decimal
    reasons: tuple[str, ...]
    legal_basis: tuple[RuleRef, ...]
