"""Notices to partner organisations: a signed JSON POST with httpx."""

from __future__ import annotations

from collections.abc import Mapping
from email.utils import parsedate_to_datetime

import httpx
from pydantic import SecretStr

from services.notifications.delivery.message import (
    DeliveryResult,
    DeliveryStatus,
    OutgoingMessage,
    classify_http_status,
)
from services.notifications.delivery.signing import (
    IDEMPOTENCY_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    signature,
)
from shared.clock import Clock, utc_now


class WebhookChannel:
    """POSTs ``message.text`` (a JSON object) to ``message.recipient``, signed with the secret
    configured for that URL. Each partner gets a secret of its own, so a leaked one lets no one
    forge notices to anyone else; a URL with no secret is not called at all.

    ``Idempotency-Key`` is the message id: a receiver that saw it already should answer 2xx
    and do nothing, which makes our retries safe.
    """

    def __init__(
        self,
        secrets: Mapping[str, SecretStr],
        *,
        timeout_seconds: float = 10.0,
        client: httpx.AsyncClient | None = None,
        clock: Clock = utc_now,
    ) -> None:
        self._secrets = dict(secrets)
        self._timeout = timeout_seconds
        self._client = client
        self._clock = clock

    async def send(self, message: OutgoingMessage) -> DeliveryResult:
        if message.channel != "webhook":
            raise ValueError(f"{message.message_id} is for the {message.channel} channel")
        secret = self._secrets.get(message.recipient)
        if secret is None:
            # Configuration, not the message: once the secret is set, a retry succeeds.
            return DeliveryResult.transient(message, f"no signing secret for {message.recipient}")
        body = message.text.encode("utf-8")
        # A fresh timestamp per attempt: the receiver's replay window counts from it.
        timestamp = int(self._clock().timestamp())
        headers = {
            **dict(message.headers),
            "Content-Type": "application/json; charset=utf-8",
            "Content-Language": message.language,
            TIMESTAMP_HEADER: str(timestamp),
            SIGNATURE_HEADER: signature(secret.get_secret_value().encode(), timestamp, body),
            IDEMPOTENCY_HEADER: message.message_id,
        }
        try:
            if self._client is not None:
                response = await self._post(self._client, message.recipient, body, headers)
            else:
                async with httpx.AsyncClient(timeout=self._timeout) as client:
                    response = await self._post(client, message.recipient, body, headers)
        except httpx.TransportError as error:
            # Connection refused, DNS, TLS, timeouts: the way there, not the message.
            return DeliveryResult.transient(message, f"{type(error).__name__}: {error}")
        reason = f"HTTP {response.status_code} {response.reason_phrase}".strip()
        match classify_http_status(response.status_code):
            case DeliveryStatus.DELIVERED:
                return DeliveryResult.ok(message, reason)
            case DeliveryStatus.PERMANENT:
                return DeliveryResult.permanent(message, reason)
            case DeliveryStatus.TRANSIENT:
                return DeliveryResult.transient(
                    message, reason, retry_after=self._retry_after(response)
                )

    async def _post(
        self, client: httpx.AsyncClient, url: str, body: bytes, headers: dict[str, str]
    ) -> httpx.Response:
        # Redirects are not followed: a partner's endpoint should be configured exactly, and a
        # followed redirect would carry the signed notice somewhere nobody agreed to.
        return await client.post(
            url, content=body, headers=headers, timeout=self._timeout, follow_redirects=False
        )

    def _retry_after(self, response: httpx.Response) -> float | None:
        value = response.headers.get("Retry-After")
        if value is None:
            return None
        if value.strip().isdigit():
            return float(value)
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        return max(0.0, (when - self._clock()).total_seconds())
