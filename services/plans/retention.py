"""Plans' retention timer: the plan's contents (class ``plan_contents``) are due for the archive
when the class's period has run from the day the plan ended. The class ends in archiving: the
report names each plan due, for the town's archive to take (Act 906/2019); Kotoutus deletes
nothing of it. Intake's legal holds, recorded in plans' own store (``shared.retention.holds``),
stop the clock, as they do every other."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date, datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID

from shared.clock import utc_now
from shared.retention.classes import retention_classes
from shared.retention.clocks import ClockState, Due
from shared.retention.holds import read_holds
from shared.retention.watch import RetentionWatch

if TYPE_CHECKING:
    from services.plans.application import PlansApplication

log = logging.getLogger(__name__)

SERVICE = "plans"
RETENTION_CLASS = "plan_contents"  # shared/retention/retention.toml


def read(state: ClockState, _: UUID, name: str, decode: Callable[[], Any]) -> None:
    """Feeds the clocks from the plans' stored events: a plan's end starts its clock."""
    if read_holds(state, name, decode) or name != "IntegrationPlan.Ended":
        return
    ended = decode()
    state.start(ended.client_id, RETENTION_CLASS, ended.ended_on)


def plan_retention_watch(
    app: PlansApplication,
    clock: Callable[[], datetime] = utc_now,
    poll_seconds: float = 3600.0,
) -> RetentionWatch:
    classes = {
        name: cls
        for name, cls in retention_classes(app.settings).items()
        if name == RETENTION_CLASS and cls.owner == SERVICE
    }

    def expire(item: Due, today: date) -> bool:
        # Reached only by a town that makes the class end in deletion: no plan is deleted
        # here (the plan's record is the municipality's case file), so nothing goes.
        log.warning(
            "retention: plan contents of client %s are due (%s) but plans deletes nothing;"
            " the class ends in archiving",
            item.client_id,
            item.rule,
        )
        return False

    return RetentionWatch(app, classes, read, expire, clock=clock, poll_seconds=poll_seconds)
