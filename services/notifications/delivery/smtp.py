"""Email over SMTP with aiosmtplib, and the embedded default that writes ``.eml`` files."""

from __future__ import annotations

import asyncio
import ssl
from pathlib import Path
from typing import Literal

import aiosmtplib
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from services.notifications.delivery.files import write_once
from services.notifications.delivery.message import (
    DeliveryResult,
    DeliveryStatus,
    OutgoingMessage,
    classify_smtp_code,
)
from services.notifications.delivery.mime import build_email, to_bytes
from shared.clock import Clock, utc_now
from shared.contracts.records import MAILBOX_PATTERN

TlsMode = Literal["none", "starttls", "implicit"]


class SmtpSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    host: str
    port: int = Field(default=587, ge=1, le=65535)
    username: str | None = None
    password: SecretStr | None = None
    # "starttls" (port 587) is the usual submission set-up; "implicit" is port 465; "none" is
    # for a relay on the same host or network only.
    tls: TlsMode = "starttls"
    validate_certs: bool = True
    ca_file: Path | None = Field(default=None, description="Trust this CA (an internal relay).")
    timeout_seconds: float = Field(default=30.0, gt=0)
    from_address: str = Field(pattern=MAILBOX_PATTERN)


class SmtpChannel:
    """One SMTP conversation per message: simple, and a broken connection costs one message.

    Failures that concern this message (a 5xx refusal of the recipient, sender or data) are
    permanent; a 4xx answer, a refused or dropped connection, or a timeout is transient. So
    are a failed login and a failed TLS handshake although their codes may be 5xx: the message
    is not at fault, and it goes out once the operator fixes the settings.
    """

    def __init__(self, settings: SmtpSettings, *, clock: Clock = utc_now) -> None:
        self._settings = settings
        self._clock = clock

    def _tls_context(self) -> ssl.SSLContext | None:
        s = self._settings
        if s.ca_file is None:
            return None
        return ssl.create_default_context(cafile=str(s.ca_file))

    async def send(self, message: OutgoingMessage) -> DeliveryResult:
        s = self._settings
        mail = build_email(message, from_address=s.from_address, sent_at=self._clock())
        try:
            _, response = await aiosmtplib.send(
                to_bytes(mail),
                sender=s.from_address,
                recipients=[message.recipient],
                hostname=s.host,
                port=s.port,
                username=s.username,
                password=s.password.get_secret_value() if s.password else None,
                use_tls=s.tls == "implicit",
                # False, not None: "none" must not upgrade behind the operator's back either.
                start_tls=s.tls == "starttls",
                validate_certs=s.validate_certs,
                tls_context=self._tls_context(),
                timeout=s.timeout_seconds,
            )
        except aiosmtplib.SMTPRecipientsRefused as error:
            refused = error.recipients[0]
            return _result(message, refused.code, f"recipient refused: {refused.message}")
        except (aiosmtplib.SMTPAuthenticationError, aiosmtplib.SMTPNotSupported) as error:
            return DeliveryResult.transient(message, f"SMTP set-up: {error}")
        except aiosmtplib.SMTPResponseException as error:
            return _result(message, error.code, f"{type(error).__name__}: {error.message}")
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as error:
            # Connection refused, reset, DNS, TLS handshake, timeouts: the way there, not us.
            return DeliveryResult.transient(message, f"{type(error).__name__}: {error}")
        return DeliveryResult.ok(message, f"accepted: {response}")


def _result(message: OutgoingMessage, code: int, reason: str) -> DeliveryResult:
    reason = f"{code} {reason}"
    match classify_smtp_code(code):
        case DeliveryStatus.PERMANENT:
            return DeliveryResult.permanent(message, reason)
        case DeliveryStatus.TRANSIENT:
            return DeliveryResult.transient(message, reason)
        case DeliveryStatus.DELIVERED:
            # An exception with a success code would be a library bug; do not lose the mail.
            return DeliveryResult.transient(message, reason)


class EmlFolderChannel:
    """The embedded default: each email becomes ``<message_id>.eml`` in a folder, so nothing
    leaves the machine and a person can open the letters in any mail client. Sending the same
    message again leaves the first file as it is."""

    def __init__(self, folder: Path, *, from_address: str, clock: Clock = utc_now) -> None:
        self._folder = folder
        self._from_address = from_address
        self._clock = clock

    def path_of(self, message: OutgoingMessage) -> Path:
        return self._folder / f"{message.message_id}.eml"

    async def send(self, message: OutgoingMessage) -> DeliveryResult:
        mail = build_email(message, from_address=self._from_address, sent_at=self._clock())
        path = self.path_of(message)
        try:
            written = await asyncio.to_thread(write_once, path, to_bytes(mail))
        except OSError as error:
            # A full disk or a missing permission passes; the message is not at fault.
            return DeliveryResult.transient(message, f"{type(error).__name__}: {error}")
        return DeliveryResult.ok(message, f"{'written' if written else 'already written'}: {path}")
