"""Our own records checked and mended: `kotoutus doctor`, `audit …` (the hash chains and the
public history), `projections rebuild` and `dead-letters …`."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING, Annotated, Any
from uuid import UUID

import typer

from shared.settings import Settings

if TYPE_CHECKING:
    from shared.eventstore import ServiceApplication
    from shared.service import Service

audit_app = typer.Typer(help="Auditors: is the stored history as it was written?")
projections_app = typer.Typer(help="The read side's projections (caseload, timeline, names).")
dead_letters_app = typer.Typer(help="Messages that could not be handled, with their reasons.")


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
    from kotoutus.bootstrap import build_application
    from kotoutus.registry import SERVICES
    from services.intake.application import IntakeApplication

    intake = build_application(Settings(), SERVICES["intake"])
    assert isinstance(intake, IntakeApplication)
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


@audit_app.command("verify")
def audit_verify() -> None:
    """Walk every service's hash chain; name the first altered event, exit 1 if any."""
    from kotoutus.bootstrap import build_application
    from kotoutus.registry import SERVICES
    from shared.audit import HashChain

    settings = Settings()
    altered = False
    for name, service in SERVICES.items():
        application = build_application(settings, service)
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
    from kotoutus.bootstrap import build_application
    from kotoutus.registry import SERVICES

    nodes = {
        name: (service, build_application(settings, service)) for name, service in SERVICES.items()
    }
    try:
        yield nodes
    finally:
        for _, application in nodes.values():
            application.close()


@projections_app.command("rebuild")
def projections_rebuild(
    names: Annotated[
        list[str] | None,
        typer.Argument(help="timeline, names, caseload, statistics (default: all)"),
    ] = None,
) -> None:
    """Drop the projections and build them again from every service's history."""
    from services.readside.service import projector as build_projector
    from services.readside.tables import PROJECTIONS
    from shared.replay import replay

    chosen = names or list(PROJECTIONS)
    unknown = set(chosen) - set(PROJECTIONS)
    if unknown:
        raise typer.BadParameter(f"choose from {', '.join(PROJECTIONS)}", param_hint="NAMES")
    settings = Settings()
    projector = build_projector(settings)
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
