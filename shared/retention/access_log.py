"""The access log's own retention (class ``access_log``, clock ``row_written``): the reads
logged before the cutoff go, through the log's one way to delete (``AccessLog.purge``), which
logs the deletion itself."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time

from shared.auth.access_log import AccessLog
from shared.clock import HELSINKI
from shared.retention.classes import RetentionClass
from shared.retention.schedule import written_before
from shared.retention.watch import business_day

ACCESS_LOG = "access_log"


@dataclass(frozen=True)
class AccessLogDue:
    written_before: date  # reads logged before this Finnish day have run out
    reads: int  # how many (a dry run) or how many went


def cutoff(cls: RetentionClass, now: datetime) -> date:
    return written_before(cls.period, business_day(now))


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time.min, HELSINKI)


def access_log_due(log: AccessLog, cls: RetentionClass, now: datetime) -> AccessLogDue:
    """What a purge would delete now (a dry run)."""
    day = cutoff(cls, now)
    return AccessLogDue(day, log.count_before(_start_of(day)))


def purge_access_log(log: AccessLog, cls: RetentionClass, now: datetime) -> AccessLogDue:
    day = cutoff(cls, now)
    return AccessLogDue(day, log.purge(before=_start_of(day), rule=cls.rule, now=now))
