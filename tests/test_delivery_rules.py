"""Delivery rules that need no server: send windows, reminder days, back-off, and retries
against a scripted channel (the thing under test is the retry loop, not the channel)."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time

import pytest
from pydantic import ValidationError

from services.notifications.delivery.message import (
    DeliveryResult,
    DeliveryStatus,
    OutgoingMessage,
    PermanentDeliveryError,
    classify_http_status,
    classify_smtp_code,
    message_id_for,
)
from services.notifications.delivery.retry import (
    RetryPolicy,
    backoff_delay,
    deliver_with_retries,
    retry_delay,
)
from services.notifications.delivery.send_window import (
    SendHours,
    earliest_client_send,
    earliest_staff_send,
    reminder_days,
)
from shared.clock import HELSINKI

T, P, D = DeliveryStatus.TRANSIENT, DeliveryStatus.PERMANENT, DeliveryStatus.DELIVERED


def hki(*args: int) -> datetime:
    return datetime(*args, tzinfo=HELSINKI)


STAFF_CASES = [
    # Friday evening → Monday morning.
    (hki(2025, 3, 14, 17, 0), hki(2025, 3, 17, 8, 0)),
    # Inside the window: unchanged.
    (hki(2025, 3, 14, 9, 30), hki(2025, 3, 14, 9, 30)),
    # Early on a working day → the same morning.
    (hki(2025, 3, 12, 6, 15), hki(2025, 3, 12, 8, 0)),
    # Exactly at closing → next working day.
    (hki(2025, 3, 12, 16, 0), hki(2025, 3, 13, 8, 0)),
    # Christmas Eve, Christmas Day, Boxing Day (Wed–Fri 2025) → Monday 29 December.
    (hki(2025, 12, 23, 18, 0), hki(2025, 12, 29, 8, 0)),
    (hki(2025, 12, 24, 10, 0), hki(2025, 12, 29, 8, 0)),
    # Midsummer Eve (Friday 20 June 2025) → Monday 23 June.
    (hki(2025, 6, 19, 16, 30), hki(2025, 6, 23, 8, 0)),
    (hki(2025, 6, 20, 9, 0), hki(2025, 6, 23, 8, 0)),
    # Independence Day, Friday 6 December 2024 → Monday 9 December.
    (hki(2024, 12, 5, 17, 0), hki(2024, 12, 9, 8, 0)),
    (hki(2024, 12, 6, 12, 0), hki(2024, 12, 9, 8, 0)),
    # Easter: Good Friday to Easter Monday 2025 → Tuesday 22 April.
    (hki(2025, 4, 17, 20, 0), hki(2025, 4, 22, 8, 0)),
]


@pytest.mark.parametrize(("at", "expected"), STAFF_CASES)
def test_staff_messages_wait_for_working_hours(at: datetime, expected: datetime) -> None:
    sent = earliest_staff_send(at)
    assert sent == expected
    assert sent.tzinfo is HELSINKI
    assert sent >= at


CLIENT_CASES = [
    # 23:30 → 08:00 the next day, weekends included.
    (hki(2025, 3, 14, 23, 30), hki(2025, 3, 15, 8, 0)),
    (hki(2025, 3, 15, 7, 59), hki(2025, 3, 15, 8, 0)),
    (hki(2025, 3, 15, 19, 59), hki(2025, 3, 15, 19, 59)),
    (hki(2025, 3, 15, 20, 0), hki(2025, 3, 16, 8, 0)),
    # Holidays do not matter to clients.
    (hki(2025, 12, 24, 12, 0), hki(2025, 12, 24, 12, 0)),
    # The night the clocks go forward (30 March 2025): 08:00 is in summer time.
    (hki(2025, 3, 29, 23, 30), datetime(2025, 3, 30, 5, 0, tzinfo=UTC)),
]


@pytest.mark.parametrize(("at", "expected"), CLIENT_CASES)
def test_client_messages_not_at_night(at: datetime, expected: datetime) -> None:
    assert earliest_client_send(at) == expected


def test_send_window_takes_any_zone_but_answers_in_helsinki_time() -> None:
    # 05:00 UTC on a winter Friday is 07:00 in Helsinki.
    sent = earliest_staff_send(datetime(2025, 3, 14, 5, 0, tzinfo=UTC))
    assert (sent.date(), sent.time()) == (date(2025, 3, 14), time(8, 0))
    with pytest.raises(ValueError, match="aware"):
        earliest_client_send(datetime(2025, 3, 14, 12, 0))


def test_send_hours_are_configurable() -> None:
    late = SendHours(start=time(9), end=time(21))
    assert earliest_client_send(hki(2025, 3, 14, 20, 30), late) == hki(2025, 3, 14, 20, 30)
    assert earliest_client_send(hki(2025, 3, 14, 8, 30), late) == hki(2025, 3, 14, 9, 0)
    with pytest.raises(ValidationError):
        SendHours(start=time(16), end=time(8))


def test_reminder_days_at_offsets() -> None:
    # Due Monday 31 March 2025: 14 days before is a Monday, 3 days before a Friday.
    assert reminder_days(date(2025, 3, 31), as_of=date(2025, 3, 1)) == (
        date(2025, 3, 17),
        date(2025, 3, 28),
        date(2025, 3, 31),
    )


def test_reminder_on_a_day_off_moves_earlier() -> None:
    # Due Wednesday 26 March: three days before is a Sunday → Friday 21 March.
    assert reminder_days(date(2025, 3, 26), as_of=date(2025, 3, 1), offsets=(3,)) == (
        date(2025, 3, 21),
    )
    # Due Monday 29 December 2025: three days before is Boxing Day; Christmas Day and
    # Christmas Eve are off too → Tuesday 23 December.
    assert reminder_days(date(2025, 12, 29), as_of=date(2025, 12, 1), offsets=(3,)) == (
        date(2025, 12, 23),
    )


def test_reminder_days_skip_the_past_and_never_repeat() -> None:
    assert reminder_days(date(2025, 3, 31), as_of=date(2025, 3, 20)) == (
        date(2025, 3, 28),
        date(2025, 3, 31),
    )
    # A Sunday and a Saturday offset both move to Friday: one reminder.
    assert reminder_days(date(2025, 3, 31), as_of=date(2025, 3, 1), offsets=(1, 2)) == (
        date(2025, 3, 28),
    )
    assert reminder_days(date(2025, 3, 31), as_of=date(2025, 4, 1)) == ()
    with pytest.raises(ValueError):
        reminder_days(date(2025, 3, 31), as_of=date(2025, 3, 1), offsets=(-1,))


def test_backoff_is_full_jitter_under_an_exponential_ceiling() -> None:
    policy = RetryPolicy(base_seconds=1, factor=2, cap_seconds=10, max_attempts=10)
    rng = random.Random(6)
    for attempt, ceiling in [(1, 1), (2, 2), (3, 4), (4, 8), (5, 10), (60, 10), (10_000, 10)]:
        delays = [backoff_delay(policy, attempt, rng) for _ in range(200)]
        assert all(0 <= d <= ceiling for d in delays)
        # Spread over the whole range, not bunched at the ceiling.
        assert min(delays) < ceiling * 0.1 and max(delays) > ceiling * 0.9
    # The same seed gives the same delays: the function is pure in its arguments.
    assert backoff_delay(policy, 3, random.Random(1)) == backoff_delay(policy, 3, random.Random(1))
    with pytest.raises(ValueError):
        backoff_delay(policy, 0, rng)


def test_retry_after_is_honoured_up_to_the_cap() -> None:
    policy = RetryPolicy(base_seconds=1, cap_seconds=30)
    message = sample_sms()
    asked = DeliveryResult.transient(message, "429", retry_after=20)
    assert retry_delay(policy, 1, asked, random.Random(0)) == 20
    greedy = DeliveryResult.transient(message, "429", retry_after=86_400)
    assert retry_delay(policy, 1, greedy, random.Random(0)) == 30


def sample_sms(message_id: str = "m-1") -> OutgoingMessage:
    return OutgoingMessage(
        message_id=message_id,
        channel="sms",
        recipient="+358401234567",
        language="fi",
        subject="Muistutus",
        text="Hei",
    )


class Scripted:
    """A channel that answers from a script; the retry loop is what is under test here."""

    def __init__(self, *answers: DeliveryStatus | Exception) -> None:
        self.answers = list(answers)
        self.sent: list[str] = []

    async def send(self, message: OutgoingMessage) -> DeliveryResult:
        self.sent.append(message.message_id)
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return DeliveryResult(message_id=message.message_id, status=answer, reason=answer.value)


async def test_retries_stop_at_success_permanent_failure_or_the_limit() -> None:
    policy = RetryPolicy(base_seconds=1, cap_seconds=8, max_attempts=4)
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    outcome = await deliver_with_retries(Scripted(T, T, D), sample_sms(), policy, sleep=sleep)
    assert (outcome.status, outcome.attempts, outcome.gave_up) == (D, 3, False)
    assert len(waits) == 2 and waits[0] <= 1 and waits[1] <= 2

    waits.clear()
    outcome = await deliver_with_retries(Scripted(T, P, D), sample_sms(), policy, sleep=sleep)
    assert (outcome.status, outcome.attempts, outcome.reason) == (P, 2, "permanent")
    assert len(waits) == 1

    waits.clear()
    outcome = await deliver_with_retries(Scripted(T, T, T, T), sample_sms(), policy, sleep=sleep)
    assert (outcome.status, outcome.attempts, outcome.gave_up) == (T, 4, True)
    assert len(waits) == 3  # no pointless wait after the last attempt

    raised = Scripted(PermanentDeliveryError("gateway: number unknown"))
    outcome = await deliver_with_retries(raised, sample_sms(), policy, sleep=sleep)
    assert (outcome.status, outcome.reason, outcome.attempts) == (P, "gateway: number unknown", 1)


def test_failures_are_classified() -> None:
    http = {200: D, 202: D, 301: P, 400: P, 401: P, 404: P, 408: T, 410: P, 429: T, 500: T}
    assert {code: classify_http_status(code) for code in http} == http
    smtp = {250: D, 251: D, 354: D, 421: T, 450: T, 451: T, 550: P, 553: P, -1: T}
    assert {code: classify_smtp_code(code) for code in smtp} == smtp


def test_messages_are_checked_for_their_channel() -> None:
    assert message_id_for("reminder", "x:y", "14") == message_id_for("reminder", "x:y", "14")
    assert message_id_for("a", "bc") != message_id_for("ab", "c")
    with pytest.raises(ValidationError):
        sample_sms("../etc/passwd")
    with pytest.raises(ValidationError, match="single line"):
        OutgoingMessage(
            message_id="m",
            channel="email",
            recipient="a@example.org",
            language="fi",
            subject="Hi\r\nBcc: everyone@example.org",
            text="",
        )
    with pytest.raises(ValidationError, match="JSON"):
        OutgoingMessage(
            message_id="m",
            channel="webhook",
            recipient="https://partner.example/hook",
            language="fi",
            subject="Notice",
            text="[1, 2]",
        )
