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

app = typer.Typer(help="Staff commands over the staff API (KOTOUTUS_API, or KOTOUTUS_HOST/PORT).")
token_app = typer.Typer(help="Staff tokens of the local issuer (when no OIDC issuer is set).")

ApiOption = Annotated[
    str | None,
    typer.Option(
        envvar="KOTOUTUS_API",
        help="Staff API base URL [default: http://KOTOUTUS_HOST:KOTOUTUS_PORT, as `kotoutus run`]",
        show_default=False,
    ),
]
DEFAULT_API: str | None = None  # from the settings, where `kotoutus run` listens


def _base(api: str | None) -> str:
    if api:
        return api.rstrip("/")
    settings = Settings()
    return f"http://{settings.host}:{settings.port}"


def _day(value: str | None) -> str | None:
    """A YYYY-MM-DD day, checked here so that a wrong one is a clear error, not a traceback."""
    if value is None:
        return None
    try:
        return date.fromisoformat(value).isoformat()
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a day (YYYY-MM-DD)") from None


def _json_object(value: str | None) -> dict[str, Any] | None:
    if value is None:
        return None
    try:
        found = json.loads(value)
    except json.JSONDecodeError as error:
        raise typer.BadParameter(f"not JSON: {error}") from None
    if not isinstance(found, dict):
        raise typer.BadParameter("a JSON object {…} is needed")
    return found


Day = Annotated[str, typer.Option(callback=_day, help="YYYY-MM-DD")]
DayArgument = Annotated[str, typer.Argument(callback=_day, help="YYYY-MM-DD")]
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


def _call(
    method: str, api: str | None, path: str, token: str, body: dict[str, Any] | None = None
) -> None:
    url = _base(api) + path
    headers = {"Authorization": f"Bearer {token}"}
    try:
        response = httpx.request(method, url, json=body, headers=headers, timeout=30)
    except httpx.HTTPError as error:
        typer.echo(f"cannot reach the staff API at {url}: {error}", err=True)
        raise typer.Exit(1) from None
    try:
        typer.echo(json.dumps(response.json(), indent=2, ensure_ascii=False))
    except ValueError:
        typer.echo(response.text)
    if response.is_error:
        raise typer.Exit(1)


@app.command("register")
def register(
    relationship_started_on: Day,
    token: TokenOption,
    given_names: Annotated[str | None, typer.Option()] = None,
    family_name: Annotated[str | None, typer.Option()] = None,
    identity_code: Annotated[
        str | None, typer.Option(help="Finnish personal identity code (gives the birth date)")
    ] = None,
    birth_date: Annotated[str | None, typer.Option(callback=_day, help="YYYY-MM-DD")] = None,
    sex: Annotated[str | None, typer.Option(help="female, male or other")] = None,
    migri_customer_number: Annotated[str | None, typer.Option()] = None,
    foreign_id: Annotated[str | None, typer.Option()] = None,
    unhcr_number: Annotated[str | None, typer.Option()] = None,
    email: Annotated[str | None, typer.Option()] = None,
    phone: Annotated[str | None, typer.Option()] = None,
    address: Annotated[str | None, typer.Option()] = None,
    jobseeker: Annotated[bool, typer.Option(help="Registered jobseeker?")] = False,
    mother_tongue: Annotated[str | None, typer.Option(help="ISO 639 code, e.g. uk")] = None,
    facts: Annotated[
        str | None,
        typer.Option(
            help='Any other facts of POST /clients as JSON, e.g. {"non_temporary_social_'
            'assistance": true, "residence_permit": {"type": "A", "first_permit_on": '
            '"2025-01-20"}} (the schema: docs/openapi.json, ClientFacts).',
        ),
    ] = None,
    api: ApiOption = DEFAULT_API,
) -> None:
    """Register a client with everything POST /clients takes."""
    from pydantic import ValidationError

    from shared.contracts.intake import ClientFacts

    personal: dict[str, Any] = {
        name: value
        for name, value in {
            "given_names": given_names,
            "family_name": family_name,
            "identity_code": identity_code,
            "birth_date": birth_date,
            "sex": sex,
            "migri_customer_number": migri_customer_number,
            "foreign_id": foreign_id,
            "unhcr_number": unhcr_number,
        }.items()
        if value is not None
    }
    contact = {k: v for k, v in {"email": email, "phone": phone, "address": address}.items() if v}
    if contact:
        personal["contact"] = contact
    given: dict[str, Any] = {"registered_jobseeker": jobseeker, "mother_tongue": mother_tongue}
    try:
        given.update(_json_object(facts) or {})
    except typer.BadParameter as error:
        raise typer.BadParameter(str(error.message), param_hint="--facts") from None
    try:
        ClientFacts.model_validate(given)  # a clear message here rather than the API's 422
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in e['loc']) or 'facts'}: {e['msg']}"
            for e in error.errors()
        )
        raise typer.BadParameter(problems, param_hint="--facts") from None
    body = {
        "relationship_started_on": relationship_started_on,
        "personal": personal,
        "facts": given,
    }
    _call("POST", api, "/clients", token, body)


@app.command("start-assessment")
def start_assessment(
    client_id: UUID,
    started_on: DayArgument,
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
    _call("POST", api, f"/clients/{client_id}/assessment/start", token, body)


@app.command("complete-assessment")
def complete_assessment(
    client_id: UUID,
    completed_on: DayArgument,
    reason: Annotated[str, typer.Option(help="Why a plan is (not) needed.")],
    token: TokenOption,
    plan_needed: Annotated[bool, typer.Option("--plan-needed/--no-plan-needed")] = True,
    api: ApiOption = DEFAULT_API,
) -> None:
    """Complete a client's initial assessment and decide whether a plan is needed."""
    body = {"completed_on": completed_on, "plan_needed": plan_needed, "reason": reason}
    _call("POST", api, f"/clients/{client_id}/assessment/complete", token, body)


@app.command("reminders")
def reminders(client_id: UUID, token: TokenOption, api: ApiOption = DEFAULT_API) -> None:
    """List a client's reminders."""
    _call("GET", api, f"/clients/{client_id}/reminders", token)


def handover(
    token: TokenOption,
    apply: Annotated[
        bool, typer.Option("--apply", help="Carry it out (without: a dry run that only reports).")
    ] = False,
    api: ApiOption = DEFAULT_API,
) -> None:
    """Hand the TE office's integration clients over as on 1 Jan 2025 (idempotent)."""
    _call("POST", api, "/handover/2025", token, {"dry_run": not apply})


def import_te(
    export_file: Annotated[
        Path,
        typer.Argument(help="The TE office's JSON export.", exists=True, dir_okay=False),
    ],
    token: Annotated[
        str,
        typer.Option(envvar="KOTOUTUS_TOKEN", help="A token of the integration role."),
    ],
    api: ApiOption = DEFAULT_API,
    assessment_api: Annotated[str | None, typer.Option(help="Distributed: assessment URL.")] = None,
    plans_api: Annotated[str | None, typer.Option(help="Distributed: plans URL.")] = None,
) -> None:
    """Import the TE office's records with their original authors and dates (idempotent)."""
    from pydantic import ValidationError

    from kotoutus.te_import import TeExport, import_export

    try:
        export = TeExport.model_validate_json(export_file.read_bytes())
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "the file"
        raise typer.BadParameter(
            f"not a TE export: {where}: {first['msg']} ({error.error_count()} problems)",
            param_hint="EXPORT_FILE",
        ) from None
    base = _base(api)
    with httpx.Client(timeout=60) as http:
        try:
            report = import_export(
                export,
                http,
                token=token,
                intake=base,
                assessment=assessment_api or base,
                plans=plans_api or base,
            )
        except httpx.HTTPError as error:
            typer.echo(f"cannot reach the staff API at {base}: {error}", err=True)
            raise typer.Exit(1) from None
    typer.echo(report.model_dump_json(indent=2))
    if report.skipped:
        raise typer.Exit(1)
