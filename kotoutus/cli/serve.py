"""`kotoutus run` and `kotoutus serve`: the system in one process, or one service of it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
import uvicorn

from shared.settings import Settings


def run(
    data_dir: Annotated[Path | None, typer.Option(help="Folder of the SQLite files.")] = None,
    host: Annotated[str | None, typer.Option()] = None,
    port: Annotated[int | None, typer.Option()] = None,
) -> None:
    """Run everything in one process on SQLite files (the embedded default)."""
    from kotoutus.embedded import EmbeddedSystem

    overrides: dict[str, Any] = {
        k: v for k, v in {"data_dir": data_dir, "host": host, "port": port}.items() if v
    }
    settings = Settings(**overrides)
    system = EmbeddedSystem(settings)
    typer.echo(
        f"Kotoutus (embedded) — data in {settings.data_dir.resolve()}\n"
        f"API docs: http://{settings.host}:{settings.port}/docs\n"
        "A token to call it: kotoutus token issue --role caseworker "
        f"--organisation municipality:{settings.municipality_code} --subject <you>"
    )
    uvicorn.run(system.api(), host=settings.host, port=settings.port, log_level="info")


def serve(
    service: Annotated[
        str, typer.Argument(help="intake, assessment, plans, notifications or readside")
    ],
    host: Annotated[str | None, typer.Option()] = None,
    port: Annotated[int | None, typer.Option()] = None,
) -> None:
    """Run one service (distributed mode: needs KOTOUTUS_DATABASE_URL and KOTOUTUS_AMQP_URL)."""
    from kotoutus.distributed import ReadSideProcess, ServiceProcess
    from kotoutus.registry import SERVICES
    from services.readside.service import READ_SIDE

    if service not in (*SERVICES, READ_SIDE):
        choices = ", ".join((*SERVICES, READ_SIDE))
        raise typer.BadParameter(f"choose one of {choices}", param_hint="SERVICE")
    settings = Settings()
    if not settings.distributed:
        typer.echo(
            "Set KOTOUTUS_DATABASE_URL and KOTOUTUS_AMQP_URL for distributed mode.", err=True
        )
        raise typer.Exit(2)
    process = (
        ReadSideProcess(settings) if service == READ_SIDE else ServiceProcess(settings, service)
    )
    uvicorn.run(
        process.api(),
        host=host or settings.host,
        port=port or settings.port,
        log_level="info",
        access_log=False,  # one line per request costs a service more CPU than its own work
    )
