"""`kotoutus report …`: the reports the law asks the municipality for — the national data
store's records, and the state's compensation (as the staff API's ``/reports/compensation``
routes give it) — read from the read side on this machine, each read written to the access
log under the operating-system user. Their texts are in the language of ``--lang``, or else
of the environment's locale (``LANGUAGE``, ``LC_ALL``, ``LC_MESSAGES``, ``LANG``, as gettext
reads them), or else English."""

from __future__ import annotations

import getpass
import json
import os
from collections.abc import Iterable
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated
from uuid import UUID

import typer

from services.readside.projector import Projector
from shared import i18n
from shared.clock import utc_now
from shared.settings import Settings

app = typer.Typer(help="Reports the law asks for: the national data store, compensation.")


# --- what every report shares ---


def log_access(settings: Settings, what: str, purpose: str | None, clients: Iterable[UUID]) -> None:
    """One access-log row per client the report named (one with none if it named nobody)."""
    from shared.auth.access_log import AccessEntry, AccessLog

    log = AccessLog.for_settings(settings)
    try:
        now = utc_now()
        named: list[str | None] = [str(client) for client in clients] or [None]
        log.append(
            *(
                AccessEntry(
                    at=now,
                    actor=f"os:{getpass.getuser()}",
                    role="cli",
                    organisation=None,
                    client_id=client,
                    what=what,
                    purpose=purpose,
                    source="cli",
                    outcome=200,
                )
                for client in named
            )
        )
    finally:
        log.close()


class Language(StrEnum):
    FI = "fi"
    SV = "sv"
    EN = "en"


LanguageOption = Annotated[
    Language | None,
    typer.Option(
        "--lang", help="Language of the texts: fi, sv or en (default: the locale, e.g. LANG)."
    ),
]


def language_of(chosen: Language | None) -> str:
    """``--lang``, or the language gettext would take from the environment: ``LANGUAGE``'s
    list unless the locale is C, then the locale of ``LC_ALL``, ``LC_MESSAGES`` or ``LANG``
    (``fi_FI.UTF-8`` is Finnish); English when none of them is one of ours."""
    if chosen is not None:
        return chosen.value
    locale = next(
        (os.environ[name] for name in ("LC_ALL", "LC_MESSAGES", "LANG") if os.environ.get(name)),
        "",
    )
    if _tag(locale) in ("", "c", "posix"):
        return i18n.DEFAULT_LANGUAGE
    wanted = [*os.environ.get("LANGUAGE", "").split(":"), locale]
    return i18n.negotiate(",".join(_tag(name) for name in wanted if name))


def _tag(locale: str) -> str:
    """``sv_FI.UTF-8@euro`` as a language tag (``sv-fi``)."""
    return locale.split(".")[0].split("@")[0].replace("_", "-").lower()


def warn(text: str, language: str) -> None:
    typer.echo(i18n.text("report.cli.warning", language, text=text), err=True)


def read_side(settings: Settings) -> Projector:
    from services.readside.service import projector

    return projector(settings)


# --- the national data store (681/2023 §76; Decree 874/2024) ---


def _moment(text: str) -> date | datetime:
    try:
        return date.fromisoformat(text) if len(text) == 10 else datetime.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(
            "a day (2026-12-01) or an instant (2026-12-01T08:00:00+02:00)", param_hint="--since"
        ) from None


@app.command("national-data-store")
def national_data_store(
    since: Annotated[
        str | None, typer.Option(help="Only clients whose data changed from this day or instant")
    ] = None,
    after: Annotated[
        int, typer.Option(min=0, max=2**31 - 1, help="Only records after this change position")
    ] = 0,
    client_id: Annotated[UUID | None, typer.Option(help="One client only")] = None,
    check: Annotated[
        bool, typer.Option("--check", help="Report what Decree 874/2024 requires that is missing")
    ] = False,
    purpose: Annotated[str | None, typer.Option(help="Why, for the access log")] = None,
    lang: LanguageOption = None,
) -> None:
    """The national integration data store's records as NDJSON on standard output (one client
    per line, docs/national-data-store.schema.json), or with --check what is still missing
    (exit status 1 when anything is)."""
    from services.readside.reports import national_data_store_export as export

    settings = Settings()
    projector = read_side(settings)
    try:
        if check:
            report = export.completeness(projector.engine, projector.seal)
            log_access(
                settings,
                "kotoutus report national-data-store --check",
                purpose,
                (client.client_id for client in report.incomplete_clients),
            )
            summary = i18n.text(
                "report.national_data_store.summary",
                language_of(lang),
                clients=report.clients,
                complete=report.complete,
                incomplete=report.incomplete,
            )
            typer.echo(summary)
            for item, count in report.missing_by_item.items():
                typer.echo(f"  {count:6d}  {item}")
            for client in report.incomplete_clients:
                name = " ".join(filter(None, (client.given_names, client.family_name)))
                for item in client.missing:
                    typer.echo(f"{client.client_id}\t{name}\t{item}")
            if report.incomplete:
                raise typer.Exit(1)
            return
        records = list(
            export.records(
                projector.engine,
                projector.seal,
                client_id=client_id,
                since=_moment(since) if since else None,
                after=after,
            )
        )
        log_access(
            settings,
            "kotoutus report national-data-store",
            purpose,
            (record.client_id for record in records),
        )
        for record in records:
            typer.echo(record.model_dump_json())
        if records:
            typer.echo(json.dumps({"next_after": records[-1].position}), err=True)
    finally:
        projector.engine.dispose()


# --- the state's compensation (681/2023 §61; Decree 872/2024), every person named logged ---


class Format(StrEnum):
    JSON = "json"
    CSV = "csv"


YearOption = Annotated[
    int | None, typer.Option(min=2025, max=2100, help="The calendar year (default: this year).")
]
FormatOption = Annotated[Format, typer.Option(help="json, or csv (one row per person and year).")]
PurposeOption = Annotated[str | None, typer.Option(help="Why, for the access log.")]


def compensation(
    year: YearOption = None,
    format: FormatOption = Format.JSON,
    purpose: PurposeOption = None,
    lang: LanguageOption = None,
) -> None:
    """The calculated compensation of a year (681/2023 §61; Decree 872/2024): per person and
    in total, with the persons whose facts are missing and the conditions of §59(1)."""
    from services.readside.reports import compensation as reports
    from shared.clock import HELSINKI

    settings = Settings()
    chosen = year or utc_now().astimezone(HELSINKI).year
    projector = read_side(settings)
    try:
        report = reports.compensation_report(
            projector.engine,
            projector.seal,
            chosen,
            reports.Municipality.of(settings),
            language_of(lang),
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
        warn(warning, report.language)


def compensation_old_law(
    format: FormatOption = Format.JSON, purpose: PurposeOption = None, lang: LanguageOption = None
) -> None:
    """The initial assessments organised under the old Act 1386/2010 (§50), to claim by
    31 Dec 2026 (681/2023 §102(1) as amended by 1100/2024)."""
    from services.readside.reports import compensation as reports
    from shared.clock import HELSINKI
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
            language_of(lang),
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
    warn(report.warning, report.language)


def register_compensation(app: typer.Typer) -> None:
    """Adds the compensation commands to the ``report`` group ``app``."""
    app.command("compensation")(compensation)
    app.command("compensation-old-law")(compensation_old_law)


register_compensation(app)
