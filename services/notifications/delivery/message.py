"""An outgoing message and the outcome of one attempt to deliver it.

A message is immutable and carries a ``message_id`` that the caller gives and keeps stable
across retries and restarts: every channel derives its idempotency handle from it (the email
``Message-ID``, the ``.eml`` file name, the webhook ``Idempotency-Key``), so a resend after a
crash is recognisable as the same message at the far end.
"""

from __future__ import annotations

import json
import re
from enum import StrEnum
from typing import Literal, Self
from uuid import NAMESPACE_URL, uuid5

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from shared.languages import LanguageCode

_EMAIL = re.compile(r"[\w.!#$%&'*+/=?^`{|}~-]+@[\w-]+(?:\.[\w-]+)+")
# International (+358 40 …) or Finnish local (040 …) numbers; not dates or times.
_PHONE = re.compile(r"(?:\+\d|(?<![\w:.-])0\d)[\d ()-]{5,}\d")


def redact(text: str) -> str:
    """``text`` with email addresses and phone numbers masked."""
    return _PHONE.sub("<phone>", _EMAIL.sub("<address>", text))


ChannelKind = Literal["email", "webhook", "sms"]

# Safe as an email Message-ID local part, a file name on every platform, and an HTTP header.
MESSAGE_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$"
_ID_NAMESPACE = uuid5(NAMESPACE_URL, "urn:kotoutus:notification")


def message_id_for(*parts: str) -> str:
    """A stable message id from whatever identifies the notification (kind, subject, due day,
    offset…), for callers whose natural key has characters a Message-ID cannot carry."""
    return uuid5(_ID_NAMESPACE, "\x1f".join(parts)).hex


class Attachment(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    filename: str = Field(min_length=1, max_length=200, pattern=r"^[^/\\\x00-\x1f]+$")
    content_type: str = Field(default="application/octet-stream", pattern=r"^[\w.+-]+/[\w.+-]+$")
    content: bytes


class OutgoingMessage(BaseModel):
    """One message to one recipient over one channel, fully rendered.

    ``recipient`` is an email address, a webhook URL, or a phone number, by ``channel``. For a
    webhook, ``text`` is the JSON document that is posted, byte for byte (the signature is over
    exactly these bytes), and ``subject`` is for logs only.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    message_id: str = Field(pattern=MESSAGE_ID_PATTERN)
    channel: ChannelKind
    recipient: str = Field(min_length=1, max_length=2000)
    language: LanguageCode
    subject: str = Field(max_length=998)
    text: str
    html: str | None = None
    attachments: tuple[Attachment, ...] = ()
    headers: tuple[tuple[str, str], ...] = Field(
        default=(), description="Extra headers, e.g. a digest's X-Kotoutus-Kind; never secrets."
    )

    @model_validator(mode="after")
    def _fits_channel(self) -> Self:
        if "\n" in self.subject or "\r" in self.subject:
            # A header injection waiting to happen; templates collapse whitespace already.
            raise ValueError("subject must be a single line")
        for name, value in self.headers:
            if not name.isascii() or not name.replace("-", "").isalnum():
                raise ValueError(f"header name {name!r} is not a token")
            if "\n" in value or "\r" in value:
                raise ValueError(f"header {name} must be a single line")
        if self.channel == "webhook":
            if not self.recipient.startswith(("https://", "http://")):
                raise ValueError("a webhook recipient is an http(s) URL")
            if not isinstance(json.loads(self.text), dict):
                raise ValueError("a webhook body is a JSON object")
            if self.html is not None or self.attachments:
                raise ValueError("a webhook carries neither HTML nor attachments")
        if self.channel == "sms" and (self.html is not None or self.attachments):
            raise ValueError("an SMS carries neither HTML nor attachments")
        return self


class DeliveryStatus(StrEnum):
    DELIVERED = "delivered"
    # Worth another attempt: the far end or the way there was down, slow, or busy.
    TRANSIENT = "transient"
    # Another attempt would fail the same way: the far end refused this message.
    PERMANENT = "permanent"


class DeliveryResult(BaseModel):
    """The outcome of one attempt. Channels return failures as results rather than raising, so
    the caller can record them; only programming errors escape as exceptions."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    message_id: str
    status: DeliveryStatus
    reason: str = Field(description="What the far end said, or what went wrong; for the record.")
    retry_after: float | None = Field(
        default=None, ge=0, description="Seconds the far end asked us to wait (Retry-After)."
    )

    @field_validator("reason")
    @classmethod
    def _without_addresses(cls, reason: str) -> str:
        """Servers echo the address they refuse ("550 <amina@example.org>: no such user"):
        the reason goes into public events and the timeline, so addresses are masked."""
        return redact(reason)[:500]

    @property
    def delivered(self) -> bool:
        return self.status is DeliveryStatus.DELIVERED

    @classmethod
    def ok(cls, message: OutgoingMessage, reason: str) -> DeliveryResult:
        return cls(message_id=message.message_id, status=DeliveryStatus.DELIVERED, reason=reason)

    @classmethod
    def transient(
        cls, message: OutgoingMessage, reason: str, retry_after: float | None = None
    ) -> DeliveryResult:
        return cls(
            message_id=message.message_id,
            status=DeliveryStatus.TRANSIENT,
            reason=reason,
            retry_after=retry_after,
        )

    @classmethod
    def permanent(cls, message: OutgoingMessage, reason: str) -> DeliveryResult:
        return cls(message_id=message.message_id, status=DeliveryStatus.PERMANENT, reason=reason)


class DeliveryError(Exception):
    """Raised by an adapter that prefers exceptions (e.g. a third-party SMS gateway wrapper);
    ``deliver_with_retries`` turns it into a result of the same kind."""

    status: DeliveryStatus = DeliveryStatus.TRANSIENT


class TransientDeliveryError(DeliveryError):
    status = DeliveryStatus.TRANSIENT


class PermanentDeliveryError(DeliveryError):
    status = DeliveryStatus.PERMANENT


def classify_http_status(status_code: int) -> DeliveryStatus:
    """2xx delivered; 408 and 429 ask us to come back; 5xx is the receiver's trouble, so retry;
    any other answer (4xx, or a redirect, which a webhook URL should never need) will not
    change by asking again."""
    if 200 <= status_code < 300:
        return DeliveryStatus.DELIVERED
    if status_code in (408, 425, 429) or status_code >= 500:
        return DeliveryStatus.TRANSIENT
    return DeliveryStatus.PERMANENT


def classify_smtp_code(code: int) -> DeliveryStatus:
    """RFC 5321: 2xx/3xx accepted, 4xx a temporary failure, 5xx a permanent one. Codes below
    200 (aiosmtplib uses -1 for 'no reply') mean no answer at all: try again."""
    if 200 <= code < 400:
        return DeliveryStatus.DELIVERED
    if 500 <= code < 600:
        return DeliveryStatus.PERMANENT
    return DeliveryStatus.TRANSIENT
