"""Retries with exponential back-off and full jitter, up to a limit.

Full jitter (a delay drawn uniformly from zero to the exponential ceiling) rather than a fixed
doubling: after an outage every pending notification would otherwise hit the mail server or a
partner's endpoint in the same second. The delay is a pure function of the attempt number and
a random source the caller passes, so tests and replays can fix it.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable

from pydantic import BaseModel, ConfigDict, Field

from services.notifications.delivery.channel import Channel
from services.notifications.delivery.message import (
    DeliveryError,
    DeliveryResult,
    DeliveryStatus,
    OutgoingMessage,
)


class RetryPolicy(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    base_seconds: float = Field(default=2.0, gt=0, description="Ceiling of the first delay.")
    factor: float = Field(default=2.0, ge=1)
    cap_seconds: float = Field(default=300.0, gt=0, description="No single delay is longer.")
    max_attempts: int = Field(default=5, ge=1, description="Attempts in all, the first included.")


def backoff_delay(policy: RetryPolicy, attempt: int, rng: random.Random) -> float:
    """Seconds to wait after failed attempt number ``attempt`` (1-based): uniform in
    [0, min(cap, base · factor^(attempt-1))]."""
    if attempt < 1:
        raise ValueError("attempts are counted from 1")
    # min() before the power would overflow for absurd attempt numbers; cap the exponent too.
    ceiling = min(policy.cap_seconds, policy.base_seconds * policy.factor ** min(attempt - 1, 64))
    return rng.uniform(0.0, ceiling)


def retry_delay(
    policy: RetryPolicy, attempt: int, result: DeliveryResult, rng: random.Random
) -> float:
    """The back-off delay, but never shorter than a Retry-After the far end asked for (itself
    capped, so a hostile or broken receiver cannot park a message for days)."""
    delay = backoff_delay(policy, attempt, rng)
    if result.retry_after is not None:
        delay = max(delay, min(result.retry_after, policy.cap_seconds))
    return delay


class DeliveryOutcome(BaseModel):
    """The final word on a message after retries: what to record."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    message_id: str
    status: DeliveryStatus
    reason: str
    attempts: int = Field(ge=1)
    results: tuple[DeliveryResult, ...] = Field(description="Every attempt's result, in order.")
    gave_up: bool = Field(description="Transient to the last, with no attempts left.")

    @property
    def delivered(self) -> bool:
        return self.status is DeliveryStatus.DELIVERED


async def _attempt(channel: Channel, message: OutgoingMessage) -> DeliveryResult:
    try:
        return await channel.send(message)
    except DeliveryError as error:
        return DeliveryResult(
            message_id=message.message_id, status=error.status, reason=str(error) or repr(error)
        )


async def deliver_with_retries(
    channel: Channel,
    message: OutgoingMessage,
    policy: RetryPolicy,
    *,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    rng: random.Random | None = None,
) -> DeliveryOutcome:
    """Send, and on a transient failure wait and send again, up to ``policy.max_attempts``. A
    permanent failure stops at once: asking again would only be refused again.

    The waits happen in this coroutine, so they last only as long as the process: keep the
    policy short here and use ``retry_delay`` with a durable timer for waits that must survive
    a restart.
    """
    rng = rng if rng is not None else random.Random()
    results: list[DeliveryResult] = []
    for attempt in range(1, policy.max_attempts + 1):
        result = await _attempt(channel, message)
        results.append(result)
        if result.status is not DeliveryStatus.TRANSIENT:
            break
        if attempt < policy.max_attempts:
            await sleep(retry_delay(policy, attempt, result, rng))
    last = results[-1]
    return DeliveryOutcome(
        message_id=message.message_id,
        status=last.status,
        reason=last.reason,
        attempts=len(results),
        results=tuple(results),
        gave_up=last.status is DeliveryStatus.TRANSIENT,
    )
