"""SMS: the gateway is the operator's choice, so only the interface is fixed here (``SmsChannel``
in ``channel``); the default writes each message as a text file, for the embedded mode."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

from services.notifications.delivery.files import write_once
from services.notifications.delivery.message import DeliveryResult, OutgoingMessage
from shared.clock import Clock, utc_now

# E.164: a plus, a country code and at most fifteen digits in all.
_E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")


class SmsFileChannel:
    """Writes ``<message_id>.txt`` with the number, language, time and text; once per id."""

    def __init__(self, folder: Path, *, clock: Clock = utc_now) -> None:
        self._folder = folder
        self._clock = clock

    def path_of(self, message: OutgoingMessage) -> Path:
        return self._folder / f"{message.message_id}.txt"

    async def send(self, message: OutgoingMessage) -> DeliveryResult:
        if message.channel != "sms":
            raise ValueError(f"{message.message_id} is for the {message.channel} channel")
        number = re.sub(r"[ ()-]", "", message.recipient)
        if not _E164.match(number):
            # No gateway would take it either: asking again will not help.
            return DeliveryResult.permanent(message, f"not an E.164 number: {message.recipient}")
        content = (
            f"To: {number}\n"
            f"Language: {message.language}\n"
            f"Date: {self._clock().isoformat()}\n"
            f"Message-Id: {message.message_id}\n"
            f"\n{message.text}\n"
        )
        path = self.path_of(message)
        try:
            written = await asyncio.to_thread(write_once, path, content.encode("utf-8"))
        except OSError as error:
            return DeliveryResult.transient(message, f"{type(error).__name__}: {error}")
        return DeliveryResult.ok(message, f"{'written' if written else 'already written'}: {path}")
