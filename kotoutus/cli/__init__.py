"""The ``kotoutus`` command: its groups and commands, each in the module of its job.

``serve`` runs the system, ``clients`` calls the staff API (with the local issuer's tokens),
``maintenance`` checks and mends our own records (doctor, audit, projections, dead letters),
``reports`` gives what the law asks of the municipality, and ``contracts`` keeps the committed
documents in step with the code."""

from __future__ import annotations

import typer

from kotoutus.cli import clients, contracts, maintenance, reports, retention, serve
from services.notifications import cli as notifications_cli

app = typer.Typer(help="Kotoutus: the event-sourced backbone of municipal integration services.")

# In the order ``kotoutus --help`` lists them: the commands, then the groups.
app.command()(serve.run)
app.command()(serve.serve)
app.command()(clients.handover)
app.command("import-te")(clients.import_te)
app.command()(maintenance.doctor)
app.add_typer(contracts.app, name="contracts")
app.add_typer(clients.app, name="clients")
app.add_typer(maintenance.dead_letters_app, name="dead-letters")
app.add_typer(clients.token_app, name="token")
app.add_typer(notifications_cli.app, name="notifications")
app.add_typer(reports.app, name="report")
app.add_typer(maintenance.audit_app, name="audit")
app.add_typer(maintenance.projections_app, name="projections")
app.add_typer(retention.app, name="retention")


def main() -> None:
    app()
