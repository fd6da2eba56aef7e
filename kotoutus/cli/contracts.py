"""`kotoutus contracts …`: the committed documents (AsyncAPI, OpenAPI, the national data
store's schema) written from the code, or checked against it."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import typer

app = typer.Typer(help="The committed contracts: AsyncAPI (events), OpenAPI (staff API).")

ASYNCAPI_PATH = Path("docs/asyncapi.json")
OPENAPI_PATH = Path("docs/openapi.json")
NATIONAL_DATA_STORE_SCHEMA_PATH = Path("docs/national-data-store.schema.json")


def _documents() -> dict[Path, Callable[[], str]]:
    from kotoutus import asyncapi, openapi
    from services.readside.reports.national_data_store import json_schema

    def national_data_store_schema() -> str:
        return json.dumps(json_schema(), indent=2, ensure_ascii=False) + "\n"

    return {
        ASYNCAPI_PATH: asyncapi.render,
        OPENAPI_PATH: openapi.render,
        NATIONAL_DATA_STORE_SCHEMA_PATH: national_data_store_schema,
    }


@app.command("write")
def contracts_write() -> None:
    """Regenerate the committed AsyncAPI (events) and OpenAPI (staff API) documents."""
    for path, render in _documents().items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(render(), encoding="utf-8")
        typer.echo(f"wrote {path}")


@app.command("check")
def contracts_check() -> None:
    """Fail if a committed contract document differs from what the code generates."""
    stale = False
    for path, render in _documents().items():
        if not path.exists() or path.read_text(encoding="utf-8") != render():
            typer.echo(f"{path} is out of date: run `make contracts` and commit it.", err=True)
            stale = True
        else:
            typer.echo(f"{path} matches the code")
    if stale:
        raise typer.Exit(1)
