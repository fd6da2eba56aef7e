"""A rendered message as an ``OutgoingMessage`` for a channel, and the partners' JSON body."""

from __future__ import annotations

import json

from services.notifications.delivery.message import Attachment, OutgoingMessage
from services.notifications.delivery.templates import MessageContext, Rendered

KIND_HEADER = "X-Kotoutus-Kind"


def email(
    rendered: Rendered,
    *,
    message_id: str,
    recipient: str,
    attachments: tuple[Attachment, ...] = (),
) -> OutgoingMessage:
    return OutgoingMessage(
        message_id=message_id,
        channel="email",
        recipient=recipient,
        language=rendered.language,
        subject=rendered.subject,
        text=rendered.text,
        html=rendered.html,
        attachments=attachments,
        headers=((KIND_HEADER, rendered.kind.value),),
    )


def sms(rendered: Rendered, *, message_id: str, recipient: str) -> OutgoingMessage:
    return OutgoingMessage(
        message_id=message_id,
        channel="sms",
        recipient=recipient,
        language=rendered.language,
        subject=rendered.subject,
        text=rendered.text,
    )


def webhook(
    rendered: Rendered, context: MessageContext, *, message_id: str, url: str
) -> OutgoingMessage:
    """A partner notice: the facts as data for their systems, and the rendered text for a
    person. ``message_id`` is in the body too, so a receiver that logs bodies can deduplicate.
    """
    body = {
        "type": rendered.kind.value,
        "message_id": message_id,
        "language": rendered.language,
        "subject": rendered.subject,
        "text": rendered.text,
        "data": context.model_dump(mode="json"),
    }
    return OutgoingMessage(
        message_id=message_id,
        channel="webhook",
        recipient=url,
        language=rendered.language,
        subject=rendered.subject,
        # Sorted keys and no spaces: the same notice is the same bytes, and so the same
        # signature input, on every attempt.
        text=json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":")),
        headers=((KIND_HEADER, rendered.kind.value),),
    )
