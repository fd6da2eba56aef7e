"""The dead letters' own retention (class ``dead_letters``, clock ``row_written``): a message
that could not be applied keeps its body — personal data — only until the class runs out, then
goes from the deployment's archive (the SQLite file embedded, the dead-letter queues on
RabbitMQ). Intake's retention round deletes them, as it purges the access log."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, time

from shared.clock import HELSINKI
from shared.messaging.dead_letters import DeadLetterArchive
from shared.retention.classes import RetentionClass
from shared.retention.schedule import written_before
from shared.retention.watch import business_day

DEAD_LETTERS = "dead_letters"

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DeadLettersDue:
    written_before: date  # dead letters made before this Finnish day have run out
    letters: int  # how many (a dry run) or how many went


def _cutoff(cls: RetentionClass, now: datetime) -> tuple[date, datetime]:
    day = written_before(cls.period, business_day(now))
    return day, datetime.combine(day, time.min, HELSINKI)


def dead_letters_due(
    archive: DeadLetterArchive, cls: RetentionClass, now: datetime
) -> DeadLettersDue:
    """What a purge would delete now (a dry run)."""
    day, moment = _cutoff(cls, now)
    return DeadLettersDue(day, archive.purge(before=moment, dry_run=True))


def purge_dead_letters(
    archive: DeadLetterArchive, cls: RetentionClass, now: datetime
) -> DeadLettersDue:
    day, moment = _cutoff(cls, now)
    gone = archive.purge(before=moment)
    if gone:
        log.info("retention: %d dead letter(s) made before %s deleted by %s", gone, day, cls.rule)
    return DeadLettersDue(day, gone)
