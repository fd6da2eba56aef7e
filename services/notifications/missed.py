"""A missed appointment: may the client be charged for its interpreting (681/2023 §32a(1))?

Pure: the rule book, the appointment's letter and what staff report come in; the decision
comes out. The letter is the booking notice the law asks for: when the appointment is
interpreted, it says that a fee may be charged and how to cancel (``schedule_appointment``
records that it did, and in which language).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from services.notifications.delivery.templates import AppointmentPurpose
from services.notifications.letters import Message, MessageState
from shared.clock import HELSINKI
from shared.law.rulebook import NoRuleInForceError, Rule, RuleBook, RuleRef

MISSED_FEE = "appointment.missed_fee"
CENT = Decimal("0.01")
# The request asks "under 18?" (notifications knows no birth dates): the age the law in force
# names must be the age asked, or the answer would be wrong.
ASKED_MIN_AGE = 18
# §32a(1) covers guidance (§10), the assessment (§14), drawing up the plan (§20) and its
# review (§22); a purpose added later is not covered until named here.
COVERED = frozenset(
    {
        AppointmentPurpose.GUIDANCE,
        AppointmentPurpose.INITIAL_ASSESSMENT,
        AppointmentPurpose.INTEGRATION_PLAN,
        AppointmentPurpose.PLAN_REVIEW,
    }
)


class NoFee(StrEnum):
    """A condition of §32a(1) that failed, so no fee may be charged."""

    NO_LAW = "no_fee_in_law"  # no act in force on the appointment's day allowed one
    NOT_COVERED = "purpose_not_covered"
    NOT_INTERPRETED = "not_interpreted"
    ACCEPTABLE_REASON = "acceptable_reason"
    CANCELLED_IN_ADVANCE = "cancelled_in_advance"
    NO_COST = "no_interpreting_cost"
    NOT_TOLD_AT_BOOKING = "not_told_at_booking"  # no notice of fee and cancelling, sent before
    NOT_IN_CLIENT_LANGUAGE = "notice_not_in_client_language"
    UNREASONABLE = "unreasonable"
    CLIENT_UNDER_AGE = "client_under_18"


@dataclass(frozen=True)
class MissedReport:
    """What staff know of the miss; whether the client is a minor included."""

    acceptable_reason: bool
    cancelled_in_advance: bool
    client_under_18: bool
    unreasonable: bool
    interpreting_cost_eur: Decimal


@dataclass(frozen=True)
class FeeDecision:
    fee_may_be_charged: bool
    amount_eur: Decimal
    reasons: tuple[NoFee, ...]
    legal_basis: tuple[RuleRef, ...]


def max_fee(rule: Rule) -> Decimal:
    return Decimal(str(rule.value("max_euros"))).quantize(CENT)


def fee_rule(book: RuleBook, starts_at: datetime) -> Rule | None:
    """The rule in force on the appointment's day (in Finland), if any."""
    try:
        return book.in_force(MISSED_FEE, starts_at.astimezone(HELSINKI).date())
    except NoRuleInForceError:
        return None


def fee_notice(
    language: str, languages: Sequence[str], interpreter_language: str | None
) -> dict[str, Any]:
    """What a letter records of its notice: the language, and whether the client is known to
    read it (a language of theirs, or the one they are interpreted in); not an English or
    official-language fallback."""
    return {
        "language": language,
        "in_client_language": language in languages or language == interpreter_language,
    }


def decide(
    book: RuleBook,
    letter: Message,
    purpose: AppointmentPurpose,
    starts_at: datetime,
    report: MissedReport,
) -> FeeDecision:
    """Each failing condition is a reason; the fee is the cost, capped by the rule."""
    rule = fee_rule(book, starts_at)
    if rule is not None and rule.value("min_age") != ASKED_MIN_AGE:
        raise RuntimeError(f"{rule.id} ({rule.law}) names an age the request does not ask")
    reasons: list[NoFee] = []
    if rule is None:
        reasons.append(NoFee.NO_LAW)
    if purpose not in COVERED:
        reasons.append(NoFee.NOT_COVERED)
    interpreted = bool(letter.facts.get("interpreted"))
    if not interpreted:
        reasons.append(NoFee.NOT_INTERPRETED)
    if report.acceptable_reason:
        reasons.append(NoFee.ACCEPTABLE_REASON)
    if report.cancelled_in_advance:
        reasons.append(NoFee.CANCELLED_IN_ADVANCE)
    if report.interpreting_cost_eur <= 0:
        reasons.append(NoFee.NO_COST)
    if interpreted:
        notice = letter.facts.get("fee_notice")
        sent_before = (
            letter.state is MessageState.SENT
            and letter.sent_at is not None
            and letter.sent_at <= starts_at
        )
        if not notice or not sent_before:
            reasons.append(NoFee.NOT_TOLD_AT_BOOKING)
        elif not notice.get("in_client_language"):
            reasons.append(NoFee.NOT_IN_CLIENT_LANGUAGE)
    if report.unreasonable:
        reasons.append(NoFee.UNREASONABLE)
    if report.client_under_18:
        reasons.append(NoFee.CLIENT_UNDER_AGE)
    allowed = rule is not None and not reasons
    amount = min(report.interpreting_cost_eur, max_fee(rule)) if rule and allowed else Decimal(0)
    return FeeDecision(
        fee_may_be_charged=allowed,
        amount_eur=amount.quantize(CENT),
        reasons=tuple(reasons),
        legal_basis=(rule.ref,) if rule is not None else (),
    )
