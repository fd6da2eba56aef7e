"""`kotoutus retention report|apply`: what has run out by the retention classes (a dry run), and
its deletion — the rounds the running system makes by itself, once an hour, in intake's,
assessment's, notifications' and plans' processes. Both read those services' logs, the access
log and the dead letters directly (run where the services' stores are: the data folder, or the
database and the broker)."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Annotated

import typer

from shared.settings import Settings

app = typer.Typer(
    help="What runs out by the town's retention classes (KOTOUTUS_RETENTION_FILE); deletion."
)

OnOption = Annotated[
    str | None,
    typer.Option(
        "--on",
        help="The business day to ask about (YYYY-MM-DD) [default: today]",
        show_default=False,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="The whole report as JSON.")]


def _moment(on: str | None) -> datetime | None:
    from shared.clock import HELSINKI

    if on is None:
        return None
    try:
        return datetime.combine(date.fromisoformat(on), time(12), HELSINKI)
    except ValueError:
        raise typer.BadParameter(f"{on!r} is not a day (YYYY-MM-DD)") from None


def _run(*, apply: bool, on: str | None, as_json: bool) -> None:
    from kotoutus.bootstrap import build_application, dead_letter_archive
    from kotoutus.registry import SERVICES
    from services.assessment.application import AssessmentApplication
    from services.assessment.retention import findings_retention_watch
    from services.intake.application import IntakeApplication
    from services.intake.retention import retention_watch
    from services.notifications.application import NotificationsApplication
    from services.notifications.retention import letters_retention_watch
    from services.plans.application import PlansApplication
    from services.plans.retention import plan_retention_watch
    from shared.auth.access_log import AccessLog
    from shared.clock import utc_now
    from shared.retention.classes import retention_classes
    from shared.retention.report import retention_report

    if apply and on is not None:
        raise typer.BadParameter("apply deletes by today's date only", param_hint="--on")
    settings = Settings()
    moment = _moment(on) or utc_now()
    intake = build_application(settings, SERVICES["intake"])
    assessment = build_application(settings, SERVICES["assessment"])
    assert isinstance(intake, IntakeApplication)
    notifications = build_application(settings, SERVICES["notifications"])
    assert isinstance(assessment, AssessmentApplication)
    plans = build_application(settings, SERVICES["plans"])
    assert isinstance(notifications, NotificationsApplication)
    assert isinstance(plans, PlansApplication)
    log = AccessLog.for_settings(settings)
    try:
        watches = [
            retention_watch(intake, clock=lambda: moment, sweep_access_log=False),
            findings_retention_watch(assessment, clock=lambda: moment),
            letters_retention_watch(notifications, clock=lambda: moment),
            plan_retention_watch(plans, clock=lambda: moment),
        ]
        report = retention_report(
            watches,
            retention_classes(settings),
            log,
            moment=moment,
            apply=apply,
            dead_letters=dead_letter_archive(settings),
        )
    finally:
        log.close()
        plans.close()
        notifications.close()
        assessment.close()
        intake.close()
    if as_json:
        typer.echo(report.model_dump_json(indent=2))
        return
    verb = "went" if apply else "due"
    typer.echo(f"retention {'applied' if apply else 'report (dry run)'} for {report.as_of}")
    for summary in report.classes:
        held = f", {summary.held} held" if summary.held else ""
        if not summary.watched:
            held += " (no clock here: its records are kept elsewhere)"
        typer.echo(
            f"  {summary.retention_class}: {summary.due} {verb}{held} — {summary.period} from "
            f"{summary.clock.value}, ends in {summary.ends_in.value} ({summary.source})"
        )
    for item in report.clients:
        record = f" {item.record}" if item.record else ""
        typer.echo(
            f"  {verb}: client {item.client_id} {item.retention_class}{record}"
            f" (from {item.goes_on})"
        )
    if report.access_log is not None:
        typer.echo(
            f"  access log: {report.access_log.reads} reads logged before "
            f"{report.access_log.written_before} {verb}"
        )
    if report.dead_letters is not None:
        typer.echo(
            f"  dead letters: {report.dead_letters.letters} made before "
            f"{report.dead_letters.written_before} {verb}"
        )


@app.command("report")
def report(on: OnOption = None, as_json: JsonOption = False) -> None:
    """What would go on a day, per class and per client (every service's classes, the access
    log, the dead letters); nothing is deleted."""
    _run(apply=False, on=on, as_json=as_json)


@app.command("apply")
def apply(as_json: JsonOption = False) -> None:
    """Deletes what has run out today (keys destroyed, RecordsExpired recorded; the access
    log's rows past its class purged and the purge logged); a legal hold keeps a client's."""
    _run(apply=True, on=None, as_json=as_json)
