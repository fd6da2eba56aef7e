"""The one interface every channel offers, and a router that picks the channel by message."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from services.notifications.delivery.message import ChannelKind, DeliveryResult, OutgoingMessage


class Channel(Protocol):
    """Anything that can try once to deliver a message. A delivery failure is a result, not an
    exception, so the caller can record it; retrying is the caller's business (see ``retry``).
    """

    async def send(self, message: OutgoingMessage) -> DeliveryResult: ...


class SmsChannel(Channel, Protocol):
    """An SMS gateway adapter. Operators plug in their provider's; the default writes files."""


class ChannelRouter:
    """Sends each message over the channel its ``channel`` field names."""

    def __init__(self, channels: Mapping[ChannelKind, Channel]) -> None:
        self._channels = dict(channels)

    async def send(self, message: OutgoingMessage) -> DeliveryResult:
        channel = self._channels.get(message.channel)
        if channel is None:
            # Configuration, not the message, is at fault: a later attempt may find it fixed.
            return DeliveryResult.transient(message, f"no {message.channel} channel configured")
        return await channel.send(message)
