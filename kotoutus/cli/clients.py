"""Staff commands over the staff API (`kotoutus clients …`, `handover`, `import-te`), and the
local issuer's tokens to call it with (`kotoutus token issue`)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Annotated, Any
from uuid import UUID

import httpx
import typer

from shared.settings import Settings

app = typer.Typer(help="Staff commands over the API (embedded default URL).")
token_app = typer.Typer(help="Staff tokens of the local issuer (when no OIDC issuer is set).")

DEFAULT_API = "http://127.0.0.1:8000"

ApiOption = Annotated[str, typer.Option(envvar="KOTOUTUS_API", help="Staff API base URL.")]
TokenOption = Annotated[
    str,
    typer.Option(
        envvar="KOTOUTUS_TOKEN", help="Your bearer token (`kotoutus token issue` makes one)."
    ),
]


@token_app.command("issue")
def token_issue(
    role: Annotated[str, typer.Option(help="caseworker, supervisor, auditor or integration")],
    organisation: Annotated[str, typer.Option(help="e.g. municipality:320")],
    subject: Annotated[str, typer.Option(help="Who, e.g. anna.virtanen")],
    hours: Annotated[float, typer.Option(min=0.01, max=24 * 31, help="Valid for this long.")] = 8,
) -> None:
    """Print a token of the local issuer (its key is in the data folder)."""
    from datetime import timedelta

    from shared.auth.roles import Role
    from shared.auth.tokens import LocalIssuer

    settings = Settings()
    if settings.oidc_issuer:
        typer.echo(f"Tokens come from {settings.oidc_issuer} in this deployment.", err=True)
        raise typer.Exit(2)
    if role not in {r.value for r in Role}:
        raise typer.BadParameter(f"choose one of {', '.join(Role)}", param_hint="--role")
    token = LocalIssuer(settings).issue(
        subject=subject, roles=[role], organisation=organisation, lifetime=timedelta(hours=hours)
    )
    typer.echo(token)


def _call(method: str, url: str, token: str, body: dict[str, Any] | None = None) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    response = httpx.request(method, url, json=body, headers=headers, timeout=30)
    typer.echo(json.dumps(response.json(), indent=2, ensure_ascii=False))
    if response.is_error:
        raise typer.Exit(1)


@app.command("register")
def register(
    given_names: Annotated[str, typer.Option()],
    family_name: Annotated[str, typer.Option()],
    relationship_started_on: Annotated[str, typer.Option(help="YYYY-MM-DD")],
    token: TokenOption,
    jobseeker: Annotated[bool, typer.Option(help="Registered jobseeker?")] = False,
    mother_tongue: Annotated[str | None, typer.Option()] = None,
    api: ApiOption = DEFAULT_API,
) -> None:
    """Register a client."""
    body = {
        "relationship_started_on": date.fromisoformat(relationship_started_on).isoformat(),
        "personal": {"given_names": given_names, "family_name": family_name},
        "facts": {"registered_jobseeker": jobseeker, "mother_tongue": mother_tongue},
    }
    _call("POST", f"{api}/clients", token, body)


@app.command("start-assessment")
def start_assessment(
    client_id: UUID,
    started_on: str,
    language: Annotated[str, typer.Option(help="Language of the interview (ISO 639).")],
    interviewer: Annotated[str, typer.Option(help="Who interviewed, e.g. anna.virtanen.")],
    token: TokenOption,
    interpreter_language: Annotated[
        str | None, typer.Option(help="A professional interpreter's language, if one is used.")
    ] = None,
    client_understands_language: Annotated[
        bool | None,
        typer.Option(
            help="The client understands the interview's language well enough "
            "(Government Decree 869/2024 §4(1))."
        ),
    ] = None,
    covered: Annotated[
        str | None,
        typer.Option(
            help='The matters of 869/2024 §2(1) covered, as JSON: {"literacy": {"code": '
            '"literate_latin"}, "life_situation": {"note": "…"}, …}.'
        ),
    ] = None,
    told: Annotated[
        list[str] | None,
        typer.Option(help="A matter of 869/2024 §2(3) told to the client (repeat the option)."),
    ] = None,
    api: ApiOption = DEFAULT_API,
) -> None:
    """Record the initial interview (by you, a public official)."""
    interpreter = (
        {"kind": "professional", "language": interpreter_language} if interpreter_language else None
    )
    try:
        matters = json.loads(covered) if covered else None
    except json.JSONDecodeError as error:
        raise typer.BadParameter(f"not JSON: {error}", param_hint="--covered") from None
    body = {
        "started_on": started_on,
        "interview": {
            "interviewer": interviewer,
            "interviewer_is_official": True,
            "language": language,
            "interpreter": interpreter,
            "client_understands_language": client_understands_language,
        },
        **({"covered": matters} if matters else {}),
        **({"told": told} if told else {}),
    }
    _call("POST", f"{api}/clients/{client_id}/assessment/start", token, body)


@app.command("complete-assessment")
def complete_assessment(
    client_id: UUID,
    completed_on: str,
    reason: Annotated[str, typer.Option(help="Why a plan is (not) needed.")],
    token: TokenOption,
    plan_needed: Annotated[bool, typer.Option("--plan-needed/--no-plan-needed")] = True,
    api: ApiOption = DEFAULT_API,
) -> None:
    """Complete a client's initial assessment and decide whether a plan is needed."""
    body = {"completed_on": completed_on, "plan_needed": plan_needed, "reason": reason}
    _call("POST", f"{api}/clients/{client_id}/assessment/complete", token, body)


@app.command("reminders")
def reminders(client_id: UUID, token: TokenOption, api: ApiOption = DEFAULT_API) -> None:
    """List a client's reminders."""
    _call("GET", f"{api}/clients/{client_id}/reminders", token)


def handover(
    token: TokenOption,
    apply: Annotated[
        bool, typer.Option("--apply", help="Carry it out (without: a dry run that only reports).")
    ] = False,
    api: ApiOption = DEFAULT_API,
) -> None:
    """Hand the TE office's integration clients over as on 1 Jan 2025 (idempotent)."""
    _call("POST", f"{api}/handover/2025", token, {"dry_run": not apply})


def import_te(
    export_file: Annotated[Path, typer.Argument(help="The TE office's JSON export.")],
    token: Annotated[
        str,
        typer.Option(envvar="KOTOUTUS_TOKEN", help="A token of the integration role."),
    ],
    api: ApiOption = DEFAULT_API,
    assessment_api: Annotated[str | None, typer.Option(help="Distributed: assessment URL.")] = None,
    plans_api: Annotated[str | None, typer.Option(help="Distributed: plans URL.")] = None,
) -> None:
    """Import the TE office's records with their original authors and dates (idempotent)."""
    from kotoutus.te_import import TeExport, import_export

    export = TeExport.model_validate_json(export_file.read_bytes())
    with httpx.Client(timeout=60) as http:
        report = import_export(
            export,
            http,
            token=token,
            intake=api,
            assessment=assessment_api or api,
            plans=plans_api or api,
        )
    typer.echo(report.model_dump_json(indent=2))
    if report.skipped:
        raise typer.Exit(1)
