"""Inconsistencies of our own records met at run time, reported loudly and counted.

A message or request that meets one is not at fault: it is retried (or answered 503), and the
operator is told what to do. The counts are per place (a consumer, the API), ready for a
metric, and ``/health`` shows them.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter

log = logging.getLogger("kotoutus.inconsistency")

_lock = threading.Lock()
_counts: Counter[str] = Counter()

ADVICE = "run `kotoutus doctor` to find the cause and `kotoutus doctor --repair` to mend it"


def report(where: str, error: BaseException) -> None:
    with _lock:
        _counts[where] += 1
    log.error("INCONSISTENCY in %s: %s: %s; %s", where, type(error).__name__, error, ADVICE)


def counts() -> dict[str, int]:
    with _lock:
        return dict(_counts)
