"""``kotoutus notifications``: failed messages and resending them, in either run mode.

The commands open the notifications store directly (SQLite in embedded mode, PostgreSQL in
distributed mode, from the same ``KOTOUTUS_*`` settings as the service); the running service's
dispatcher sees a resend in its log and sends the message.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Annotated

import typer

app = typer.Typer(help="Notifications: messages that could not be delivered, and resending.")


@contextlib.contextmanager
def _outbox() -> Iterator[object]:
    from services.notifications.outbox_app import OutboxApplication
    from shared.eventstore import store_env
    from shared.settings import Settings

    settings = Settings()
    application = OutboxApplication(settings, store_env(settings, "notifications"))
    try:
        yield application
    finally:
        application.close()


@app.command("failed")
def failed() -> None:
    """List failed messages: id, client, kind, recipient reference, attempts, reason."""
    from services.notifications.outbox_app import OutboxApplication

    with _outbox() as application:
        assert isinstance(application, OutboxApplication)
        found = application.failed_messages()
        for outbox, message in found:
            typer.echo(
                f"{message.message_id}\t{outbox.client_id}\t{message.kind}\t{message.recipient}"
                f"\t{message.total_attempts}\t{message.reason}"
            )
    typer.echo(f"{len(found)} failed message(s)", err=True)


@app.command("resend")
def resend(
    message_id: Annotated[str, typer.Argument(help="The failed message's id.")],
    actor: Annotated[
        str, typer.Option(envvar="KOTOUTUS_ACTOR", help="Who asks, e.g. caseworker:anna.virtanen.")
    ],
) -> None:
    """Send a failed message again (the running service sends it)."""
    from services.notifications.outbox_app import OutboxApplication
    from shared.clock import utc_now
    from shared.errors import DomainError
    from shared.values import Actor, ActorKind, OrganisationKind, Provenance

    with _outbox() as application:
        assert isinstance(application, OutboxApplication)
        provenance = Provenance(
            actor=Actor(id=actor, kind=ActorKind.USER),
            organisation=application.settings.organisation(OrganisationKind.MUNICIPALITY),
            occurred_at=utc_now(),
        )
        try:
            message = application.resend(message_id, provenance)
        except DomainError as error:
            typer.echo(error.message(), err=True)
            raise typer.Exit(1) from None
    typer.echo(f"{message.message_id}\t{message.state}\t{message.send_at.isoformat()}")
