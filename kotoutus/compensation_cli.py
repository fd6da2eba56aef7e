"""`kotoutus report compensation` and `kotoutus report compensation-old-law`: the state's
compensation read from the read side on this machine (as the staff API's
``/reports/compensation`` routes give it), every person named written to the access log
under the operating-system user."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer

from kotoutus.report_access import log_access, read_side
from shared.settings import Settings


class Format(StrEnum):
    JSON = "json"
    CSV = "csv"


YearOption = Annotated[
    int | None, typer.Option(min=2025, max=2100, help="The calendar year (default: this year).")
]
FormatOption = Annotated[Format, typer.Option(help="json, or csv (one row per person and year).")]
PurposeOption = Annotated[str | None, typer.Option(help="Why, for the access log.")]


def compensation(
    year: YearOption = None, format: FormatOption = Format.JSON, purpose: PurposeOption = None
) -> None:
    """The calculated compensation of a year (681/2023 §61; Decree 872/2024): per person and
    in total, with the persons whose facts are missing and the conditions of §59(1)."""
    from services.readside.reports import compensation as reports
    from shared.clock import HELSINKI, utc_now

    settings = Settings()
    chosen = year or utc_now().astimezone(HELSINKI).year
    projector = read_side(settings)
    try:
        report = reports.compensation_report(
            projector.engine, projector.seal, chosen, reports.Municipality.of(settings)
        )
    finally:
        projector.engine.dispose()
    log_access(
        settings,
        f"kotoutus report compensation --year {chosen}",
        purpose,
        report.client_ids(),
    )
    typer.echo(report.csv() if format is Format.CSV else report.model_dump_json(indent=2), nl=False)
    if format is Format.JSON:
        typer.echo()
    for warning in report.warnings:
        typer.echo(f"warning: {warning}", err=True)


def compensation_old_law(format: FormatOption = Format.JSON, purpose: PurposeOption = None) -> None:
    """The initial assessments organised under the old Act 1386/2010 (§50), to claim by
    31 Dec 2026 (681/2023 §102(1) as amended by 1100/2024)."""
    from services.readside.reports import compensation as reports
    from shared.clock import HELSINKI, utc_now
    from shared.values import OrganisationKind

    settings = Settings()
    projector = read_side(settings)
    try:
        report = reports.old_law_report(
            projector.engine,
            projector.seal,
            reports.Municipality.of(settings),
            settings.organisation(OrganisationKind.MUNICIPALITY),
            settings.old_law_assessment_euros,
            utc_now().astimezone(HELSINKI).date(),
        )
    finally:
        projector.engine.dispose()
    log_access(
        settings,
        "kotoutus report compensation-old-law",
        purpose,
        report.client_ids(),
    )
    typer.echo(report.csv() if format is Format.CSV else report.model_dump_json(indent=2), nl=False)
    if format is Format.JSON:
        typer.echo()
    typer.echo(f"warning: {report.warning}", err=True)


def register(app: typer.Typer) -> None:
    """Adds the commands to the ``report`` group ``app``."""
    app.command("compensation")(compensation)
    app.command("compensation-old-law")(compensation_old_law)
