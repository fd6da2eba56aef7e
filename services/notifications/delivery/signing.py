"""Webhook signatures: HMAC-SHA256 over ``<timestamp>.<body>``, keyed with the partner's secret.

The timestamp is inside the signed bytes so a captured request cannot be replayed later: the
receiver checks that the timestamp is recent and the signature matches. Partners verify with
``verify_signature`` or its equivalent in their own language (documented in the docstring).
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime, timedelta

SIGNATURE_HEADER = "X-Kotoutus-Signature"
TIMESTAMP_HEADER = "X-Kotoutus-Timestamp"
IDEMPOTENCY_HEADER = "Idempotency-Key"


def signature(secret: bytes, timestamp: int, body: bytes) -> str:
    """``sha256=`` and the lowercase hex HMAC-SHA256 of ``f"{timestamp}."`` + body."""
    digest = hmac.new(secret, f"{timestamp}.".encode("ascii") + body, hashlib.sha256)
    return f"sha256={digest.hexdigest()}"


def verify_signature(
    secret: bytes,
    *,
    timestamp: str,
    body: bytes,
    signature_header: str,
    now: datetime,
    tolerance: timedelta = timedelta(minutes=5),
) -> bool:
    """What a receiver does: the timestamp is an integer within ``tolerance`` of ``now`` and
    the signature matches, compared in constant time."""
    if not timestamp.isdigit():
        return False
    if abs(now.timestamp() - int(timestamp)) > tolerance.total_seconds():
        return False
    return hmac.compare_digest(signature(secret, int(timestamp), body), signature_header)
