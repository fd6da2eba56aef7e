"""Intake's retention timer: the client's identity and contact details (the sealed ``personal``
part of every client event) go when the ``client_identity`` class runs out, counted from the
closure of the client relationship; legal holds on the client stop the clock
(``shared.retention``). When it runs out the key is destroyed, the identifier lookups go, and
``RecordsExpired`` says what went, under which rule, when.

The same round purges the deployment's access log past its own class (``access_log``): intake
runs in every deployment, once, so the log's retention job runs there."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any
from uuid import UUID

from services.intake.application import IntakeApplication
from shared.auth.access_log import AccessLog
from shared.clock import utc_now
from shared.retention.access_log import ACCESS_LOG, purge_access_log
from shared.retention.classes import Clock, EndsIn, RetentionClass, retention_classes
from shared.retention.clocks import ClockState, Due
from shared.retention.dead_letters import DEAD_LETTERS, purge_dead_letters
from shared.retention.report import RetentionReport, retention_report
from shared.retention.watch import RetentionWatch, business_day
from shared.values import Provenance

IDENTITY = "client_identity"  # the class of everything intake seals
SERVICE = "intake"
CLOSURES = ("Client.Closed", "Client.MarkedDuplicate")


def _day(event: Any) -> date:
    return business_day(event.provenance.occurred_at)


def clocks_of(classes: dict[str, RetentionClass]) -> Callable[..., None]:
    """Reads intake's stored events into the clocks of the classes intake holds."""
    on_closure = [
        c.name for c in classes.values() if c.owner == SERVICE and c.clock is Clock.CLIENT_CLOSED
    ]

    def read(state: ClockState, client_id: UUID, name: str, decode: Callable[[], Any]) -> None:
        if name in CLOSURES:
            day = _day(decode())
            for retention_class in on_closure:
                state.start(client_id, retention_class, day)
        elif name == "Client.LegalHoldPlaced":
            event = decode()
            state.hold(client_id, event.hold_id, event.reason, _day(event))
        elif name == "Client.LegalHoldLifted":
            event = decode()
            state.lift(client_id, event.hold_id, _day(event))
        elif name == "Client.RecordsExpired":
            state.expired(client_id, decode().retention_class)
        elif name == "Client.Erased":
            state.gone(client_id)

    return read


def retention_watch(
    app: IntakeApplication,
    clock: Callable[[], datetime] = utc_now,
    poll_seconds: float = 3600.0,
    access_log: AccessLog | None = None,
    *,
    sweep_access_log: bool = True,
    sweep_dead_letters: bool = True,
) -> RetentionWatch:
    """The watch of intake's classes, and on each round the purges of the access log (the
    running system's log, opened here when not given) and of the deployment's dead letters."""
    classes = retention_classes(app.settings)

    def expire(item: Due, today: date) -> bool:
        # The organisation whose records they are: the one answering for the client.
        organisation = app.responsible_organisation(item.client_id) or _municipality(app)
        return app.expire_records(
            item.client_id,
            provenance=Provenance.system(SERVICE, organisation, clock()),
            retention_class=item.retention_class,
            rule=item.rule,
            expired_on=today,
            forgets_personal=item.retention_class == IDENTITY,
        )

    sweeps: list[Callable[[datetime], object]] = []
    log_class = classes.get(ACCESS_LOG)
    if sweep_access_log and log_class is not None and log_class.ends_in is EndsIn.DELETION:
        purging = log_class

        def purge(now: datetime) -> None:
            if access_log is not None:
                purge_access_log(access_log, purging, now)
                return
            log = AccessLog.for_settings(app.settings)  # once a round: nothing held between
            try:
                purge_access_log(log, purging, now)
            finally:
                log.close()

        sweeps.append(purge)
    letters_class = classes.get(DEAD_LETTERS)
    archive = app.dead_letters
    if (
        sweep_dead_letters
        and archive is not None
        and letters_class is not None
        and letters_class.ends_in is EndsIn.DELETION
    ):
        expiring, letters = letters_class, archive
        sweeps.append(lambda now: purge_dead_letters(letters, expiring, now))
    # The classes whose clocks intake runs (the access log's is a sweep, not a client clock).
    clocked = {
        name: cls
        for name, cls in classes.items()
        if cls.owner == SERVICE and cls.clock is Clock.CLIENT_CLOSED
    }

    def destroy(client_id: UUID, retention_class: str) -> None:
        if retention_class == IDENTITY:
            app.keys.erase(client_id)  # idempotent

    return RetentionWatch(
        app,
        clocked,
        clocks_of(classes),
        expire,
        clock=clock,
        poll_seconds=poll_seconds,
        sweeps=sweeps,
        destroy=destroy,
    )


def _municipality(app: IntakeApplication) -> str:
    return f"municipality:{app.settings.municipality_code}"


# --- the report: `kotoutus retention report|apply`, GET /retention/due ---


def intake_report(
    app: IntakeApplication,
    access_log: AccessLog,
    *,
    now: datetime | None = None,
    apply: bool = False,
    visible: Callable[[UUID], bool] = lambda _: True,
) -> RetentionReport:
    """Intake's classes and the access log: what would go (a dry run) or, applied, what went."""
    moment = now or utc_now()
    watch = retention_watch(
        app, clock=lambda: moment, sweep_access_log=False, sweep_dead_letters=False
    )
    return retention_report(
        [watch],
        retention_classes(app.settings),
        access_log,
        moment=moment,
        apply=apply,
        visible=visible,
        dead_letters=app.dead_letters,
    )
