"""The ``kotoutus`` command."""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any
from uuid import UUID

import httpx
import typer
import uvicorn

from kotoutus import report_cli
from services.notifications import cli as notifications_cli
from shared.settings import Settings

if TYPE_CHECKING:
    from shared.eventstore import ServiceApplication
    from shared.service import Service

app = typer.Typer(help="Kotoutus: the event-sourced backbone of municipal integration services.")
contracts_app = typer.Typer(help="The committed contracts: AsyncAPI (events), OpenAPI (staff API).")
clients_app = typer.Typer(help="Staff commands over the API (embedded default URL).")
app.add_typer(contracts_app, name="contracts")
dead_letters_app = typer.Typer(help="Messages that could not be handled, with their reasons.")
token_app = typer.Typer(help="Staff tokens of the local issuer (when no OIDC issuer is set).")
app.add_typer(clients_app, name="clients")
app.add_typer(dead_letters_app, name="dead-letters")
app.add_typer(token_app, name="token")
app.add_typer(notifications_cli.app, name="notifications")
app.add_typer(report_cli.app, name="report")

ASYNCAPI_PATH = Path("docs/asyncapi.json")
OPENAPI_PATH = Path("docs/openapi.json")
NATIONAL_DATA_STORE_SCHEMA_PATH = Path("docs/national-data-store.schema.json")
DEFAULT_API = "http://127.0.0.1:8000"

ApiOption = Annotated[str, typer.Option(envvar="KOTOUTUS_API", help="Staff API base URL.")]
TokenOption = Annotated[
    str,
    typer.Option(
        envvar="KOTOUTUS_TOKEN", help="Your bearer token (`kotoutus token issue` makes one)."
    ),
]


@app.command()
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


@app.command()
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
    from shared.messaging.topology import READ_SIDE

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


@contracts_app.command("write")
def contracts_write() -> None:
    """Regenerate the committed AsyncAPI (events) and OpenAPI (staff API) documents."""
    for path, render in _documents().items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(render(), encoding="utf-8")
        typer.echo(f"wrote {path}")


@contracts_app.command("check")
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


@clients_app.command("register")
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


@clients_app.command("start-assessment")
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


@clients_app.command("complete-assessment")
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


@clients_app.command("reminders")
def reminders(client_id: UUID, token: TokenOption, api: ApiOption = DEFAULT_API) -> None:
    """List a client's reminders."""
    _call("GET", f"{api}/clients/{client_id}/reminders", token)


@app.command()
def handover(
    token: TokenOption,
    apply: Annotated[
        bool, typer.Option("--apply", help="Carry it out (without: a dry run that only reports).")
    ] = False,
    api: ApiOption = DEFAULT_API,
) -> None:
    """Hand the TE office's integration clients over as on 1 Jan 2025 (idempotent)."""
    _call("POST", f"{api}/handover/2025", token, {"dry_run": not apply})


@app.command("import-te")
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


@app.command()
def doctor(
    repair: Annotated[
        bool, typer.Option("--repair", help="Mend what is found (each repair checked again).")
    ] = False,
) -> None:
    """Check our own records for inconsistencies; exit 1 if any is left.

    Identifier lookups that name a client of whom no event is stored (left by versions that
    claimed identifiers before storing the client, when a crash came between) make every
    later message about that person fail. With --repair each is released, once it is
    confirmed that no event of that client exists; the dead letters it caused can then be
    resubmitted (`kotoutus dead-letters resubmit intake.inbound`)."""
    from services.intake.application import IntakeApplication
    from shared.eventstore import store_env

    settings = Settings()
    intake = IntakeApplication(settings, store_env(settings, "intake"))
    try:
        found = intake.repair_orphan_lookups(apply=repair)
    finally:
        intake.close()
    for lookup in found:
        done = "released" if repair else "names no stored client"
        typer.echo(f"intake: identifier lookup of client {lookup.client_id}: {done}")
    if not found:
        typer.echo("intake: every identifier lookup names a stored client")
    elif repair:
        typer.echo(
            f"intake: {len(found)} orphan lookups released; resubmit their dead letters with"
            " `kotoutus dead-letters resubmit intake.inbound`"
        )
    else:
        typer.echo(f"intake: {len(found)} orphan lookups; mend with `kotoutus doctor --repair`")
        raise typer.Exit(1)


audit_app = typer.Typer(help="Auditors: is the stored history as it was written?")
app.add_typer(audit_app, name="audit")


@audit_app.command("verify")
def audit_verify() -> None:
    """Walk every service's hash chain; name the first altered event, exit 1 if any."""
    from kotoutus.registry import SERVICES
    from shared.audit import HashChain
    from shared.eventstore import store_env

    settings = Settings()
    altered = False
    for name, service in SERVICES.items():
        application = service.application(settings, store_env(settings, name))
        try:
            result = HashChain(application).verify()
        finally:
            application.close()
        if result.intact:
            typer.echo(f"{name}: {result.checked} events, chain intact")
        else:
            altered = True
            typer.echo(
                f"{name}: ALTERED at notification {result.first_altered}: {result.detail}",
                err=True,
            )
    if altered:
        raise typer.Exit(1)


@audit_app.command("replay")
def audit_replay(
    as_of: Annotated[
        str | None, typer.Option(help="ISO instant, e.g. 2024-12-31T23:59:59+02:00")
    ] = None,
    client: Annotated[UUID | None, typer.Option(help="Only this client's history.")] = None,
) -> None:
    """Print the public history across all services as NDJSON, as known at --as-of."""
    from datetime import datetime

    from shared.replay import replay

    moment = datetime.fromisoformat(as_of) if as_of else None
    if moment is not None and moment.tzinfo is None:
        raise typer.BadParameter("give the instant with its time zone", param_hint="--as-of")
    with _histories(Settings()) as nodes:
        for event in replay(nodes, as_of=moment, client_id=client):
            typer.echo(event.model_dump_json())


@contextlib.contextmanager
def _histories(settings: Settings) -> Iterator[dict[str, tuple[Service, ServiceApplication]]]:
    """Every service's store, opened to read its history (either mode)."""
    from kotoutus.registry import SERVICES
    from shared.eventstore import store_env

    nodes = {
        name: (service, service.application(settings, store_env(settings, name)))
        for name, service in SERVICES.items()
    }
    try:
        yield nodes
    finally:
        for _, application in nodes.values():
            application.close()


projections_app = typer.Typer(help="The read side's projections (caseload, timeline, names).")
app.add_typer(projections_app, name="projections")


@projections_app.command("rebuild")
def projections_rebuild(
    names: Annotated[
        list[str] | None, typer.Argument(help="timeline, names, caseload (default: all)")
    ] = None,
) -> None:
    """Drop the projections and build them again from every service's history."""
    from services.readside.database import engine_for
    from services.readside.names import NameSeal
    from services.readside.projector import Projector
    from services.readside.tables import PROJECTIONS
    from shared.crypto import master_key
    from shared.replay import replay

    chosen = names or list(PROJECTIONS)
    unknown = set(chosen) - set(PROJECTIONS)
    if unknown:
        raise typer.BadParameter(f"choose from {', '.join(PROJECTIONS)}", param_hint="NAMES")
    settings = Settings()
    projector = Projector(engine_for(settings), NameSeal(master_key(settings)))
    with _histories(settings) as nodes:
        total = sum(app.recorder.max_notification_id() or 0 for _, app in nodes.values())
        with typer.progressbar(length=total, label="events", file=sys.stderr) as bar:
            # Names are personal: the rebuild reads them from the sealed events, so a person
            # erased meanwhile stays erased.
            projector.rebuild(replay(nodes, personal=True), chosen, progress=bar.update)
    projector.engine.dispose()
    typer.echo(f"rebuilt {', '.join(chosen)}")


ConsumerArgument = Annotated[
    str, typer.Argument(help="assessment, plans, notifications, or intake.inbound")
]


def _broker_dead_letters(consumer: str) -> Any:
    from shared.messaging.dead_letters import BrokerDeadLetters
    from shared.messaging.topology import Topology

    settings = Settings()
    if not settings.amqp_url:
        return None
    return BrokerDeadLetters(settings.amqp_url, Topology.of(settings), consumer)


@dead_letters_app.command("list")
def dead_letters_list(consumer: ConsumerArgument) -> None:
    """List dead letters: id, routing key, reason, and the start of the body."""
    import asyncio

    from shared.messaging.dead_letters import SQLiteDeadLetters

    queue = _broker_dead_letters(consumer)
    if queue is not None:
        letters = [
            (d.message_id, d.routing_key, d.reason, d.body) for d in asyncio.run(queue.all())
        ]
    else:
        store = SQLiteDeadLetters(Settings().data_dir / "dead-letters.sqlite")
        letters = [
            (d.message_id, d.routing_key, d.reason, d.body)
            for d in store.all()
            if d.consumer == consumer
        ]
    for message_id, routing_key, why, body in letters:
        typer.echo(f"{message_id}\t{routing_key}\t{why}\t{body[:200].decode(errors='replace')}")
    typer.echo(f"{len(letters)} dead letter(s) for {consumer}", err=True)


@dead_letters_app.command("resubmit")
def dead_letters_resubmit(
    consumer: ConsumerArgument,
    message_ids: Annotated[list[str] | None, typer.Argument(help="Which; all if none.")] = None,
) -> None:
    """Send dead letters back to where they first went (after the cause is fixed)."""
    import asyncio

    chosen = set(message_ids) if message_ids else None
    queue = _broker_dead_letters(consumer)
    if queue is None:
        from kotoutus.embedded import EmbeddedSystem

        system = EmbeddedSystem(Settings())
        try:
            sent = system.resubmit(consumer, chosen)
        finally:
            system.close()
    else:
        sent = asyncio.run(queue.resubmit(chosen))
    for message_id in sent:
        typer.echo(message_id)
    typer.echo(f"{len(sent)} message(s) resubmitted", err=True)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
