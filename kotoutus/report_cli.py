"""`kotoutus report …`: the reports the law asks the municipality for, read from the read side
on this machine, each read written to the access log under the operating-system user."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Annotated
from uuid import UUID

import typer

from kotoutus import compensation_cli
from kotoutus.report_access import log_access, read_side
from shared.settings import Settings

app = typer.Typer(help="Reports the law asks for: the national data store, compensation.")


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
    after: Annotated[int, typer.Option(min=0, help="Only records after this change position")] = 0,
    client_id: Annotated[UUID | None, typer.Option(help="One client only")] = None,
    check: Annotated[
        bool, typer.Option("--check", help="Report what Decree 874/2024 requires that is missing")
    ] = False,
    purpose: Annotated[str | None, typer.Option(help="Why, for the access log")] = None,
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
            typer.echo(
                f"{report.clients} clients in the national data store: {report.complete} "
                f"complete, {report.incomplete} missing items"
            )
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


compensation_cli.register(app)
