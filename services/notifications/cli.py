"""``kotoutus notifications``: failed messages and resending them, in either run mode.

The commands open the notifications store directly (SQLite in embedded mode, PostgreSQL in
distributed mode, from the same ``KOTOUTUS_*`` settings as the service); the running service's
dispatcher sees a resend in its log and sends the message.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:  # the commands import the application only when run
    from services.notifications.application import NotificationsApplication

app = typer.Typer(help="Notifications: messages that could not be delivered, and resending.")


@contextlib.contextmanager
def _notifications() -> Iterator[NotificationsApplication]:
    from services.notifications.application import NotificationsApplication
    from shared.eventstore import store_env
    from shared.settings import Settings

    settings = Settings()
    application = NotificationsApplication(settings, store_env(settings, "notifications"))
    try:
        yield application
    finally:
        application.close()


@app.command("failed")
def failed() -> None:
    """List failed messages: id, client, kind, recipient reference, attempts, reason."""
    with _notifications() as application:
        found = application.failed_messages()
        for letters, message in found:
            typer.echo(
                f"{message.message_id}\t{letters.client_id}\t{message.kind}\t{message.recipient}"
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
    from shared.clock import utc_now
    from shared.errors import DomainError
    from shared.values import Actor, ActorKind, OrganisationKind, Provenance

    with _notifications() as application:
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
