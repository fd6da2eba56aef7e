"""An ``OutgoingMessage`` as an RFC 5322 email: plain text, an HTML alternative, attachments."""

from __future__ import annotations

from datetime import datetime
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime

from services.notifications.delivery.message import OutgoingMessage


def email_message_id(message: OutgoingMessage, domain: str) -> str:
    """The ``Message-ID`` of a message: a pure function of its id, so a resend after a crash
    carries the same Message-ID and mail clients and archives show it once."""
    return f"<{message.message_id}@{domain}>"


# CPython's header folding drops the space where it splits a long non-Latin subject into two
# RFC 2047 encoded words ("2025: التقييم" arrives as "2025:التقييم"). Headers are therefore not
# folded below the RFC 5322 hard limit of 998; mail clients decode the longer encoded word.
_WIRE = policy.SMTP.clone(max_line_length=998)


def to_bytes(mail: EmailMessage) -> bytes:
    """The message as it goes on the wire and into ``.eml`` files: CRLF, 7-bit headers."""
    return mail.as_bytes(policy=_WIRE)


def build_email(message: OutgoingMessage, *, from_address: str, sent_at: datetime) -> EmailMessage:
    if message.channel != "email":
        raise ValueError(f"{message.message_id} is for the {message.channel} channel")
    domain = from_address.rpartition("@")[2] or "localhost"
    mail = EmailMessage()
    mail["From"] = from_address
    mail["To"] = message.recipient
    mail["Subject"] = message.subject
    mail["Date"] = format_datetime(sent_at)
    mail["Message-ID"] = email_message_id(message, domain)
    # RFC 3834: out-of-office replies and list robots must not answer a machine.
    mail["Auto-Submitted"] = "auto-generated"
    for name, value in message.headers:
        mail[name] = value
    mail.set_content(message.text)
    if message.html is not None:
        mail.add_alternative(message.html, subtype="html")
    for attachment in message.attachments:
        maintype, _, subtype = attachment.content_type.partition("/")
        mail.add_attachment(
            attachment.content, maintype=maintype, subtype=subtype, filename=attachment.filename
        )
    # RFC 3282: lets mail clients pick fonts and screen readers pick a voice. Set last: turning
    # the message multipart moves every Content-* header into the first part.
    mail["Content-Language"] = message.language
    return mail
