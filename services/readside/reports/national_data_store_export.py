"""Reads the national data-store records out of the read side: the export (per client, since a
date, or after a change position) and the completeness report for supervisors."""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime, time
from itertools import groupby
from uuid import UUID

from pydantic import BaseModel, Field
from sqlalchemy import Engine, select

from services.readside.identities import identities
from services.readside.names import NameSeal
from services.readside.reports.national_data_store import ClientRecord, client_record, missing_items
from services.readside.tables import caseload, client_changes, events
from shared.clock import HELSINKI
from shared.contracts import CONTRACTS, parse_event

CHUNK = 200  # clients read per round


def _since_instant(since: date | datetime) -> datetime:
    """A day starts at midnight in Finland; an instant without a zone is taken as UTC."""
    if isinstance(since, datetime):
        return since if since.tzinfo else since.replace(tzinfo=UTC)
    return datetime.combine(since, time(), tzinfo=HELSINKI)


def changed_clients(
    engine: Engine,
    *,
    client_id: UUID | None = None,
    since: date | datetime | None = None,
    after: int = 0,
) -> list[tuple[UUID, int]]:
    """The clients to export, with their change positions, in position order."""
    query = select(client_changes.c.client_id, client_changes.c.position).where(
        client_changes.c.position > after
    )
    if client_id is not None:
        query = query.where(client_changes.c.client_id == str(client_id))
    # A restricted client (GDPR Art. 18) is left out until lifted; the lifting is a change of
    # the client, so the next export "after N" brings the record.
    restricted = select(caseload.c.client_id).where(caseload.c.restricted.is_(True))
    query = query.where(client_changes.c.client_id.not_in(restricted))
    if since is not None:
        recent = select(events.c.client_id).where(events.c.recorded_at >= _since_instant(since))
        query = query.where(client_changes.c.client_id.in_(recent))
    with engine.connect() as connection:
        rows = connection.execute(query.order_by(client_changes.c.position)).all()
    return [(UUID(found), int(position)) for found, position in rows]


def records(
    engine: Engine,
    seal: NameSeal,
    *,
    client_id: UUID | None = None,
    since: date | datetime | None = None,
    after: int = 0,
) -> Iterator[ClientRecord]:
    """Each client's record in change-position order: the same call gives the same lines
    until something changes (idempotent); erased clients and clients outside the store give
    none."""
    chosen = changed_clients(engine, client_id=client_id, since=since, after=after)
    for start in range(0, len(chosen), CHUNK):
        part = dict(chosen[start : start + CHUNK])
        known = identities(engine, seal, part)
        with engine.connect() as connection:
            stored = connection.execute(
                select(events.c.client_id, events.c.body)
                .where(events.c.client_id.in_([str(found) for found in part]))
                .order_by(events.c.client_id)
            ).all()
        histories = {
            UUID(found): [parse_event(row.body, CONTRACTS) for row in rows]
            for found, rows in groupby(stored, key=lambda row: row.client_id)
        }
        for found, position in part.items():
            record = client_record(found, histories.get(found, []), known.get(found), position)
            if record is not None:
                yield record


class ClientCompleteness(BaseModel):
    client_id: UUID
    given_names: str | None
    family_name: str | None
    municipality: str | None
    missing: list[str] = Field(description="The decree's items still missing, '<record>: <field>'")


class Completeness(BaseModel):
    """Which of Decree 874/2024's items the town's records lack, before 1 Jan 2027."""

    clients: int = Field(description="Clients whose data the national data store must hold")
    complete: int
    incomplete: int
    missing_by_item: dict[str, int] = Field(
        description="How many records lack each item (e.g. 'review: makers')"
    )
    incomplete_clients: list[ClientCompleteness]

    def csv(self) -> str:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["client_id", "given_names", "family_name", "municipality", "missing"])
        for client in self.incomplete_clients:
            for item in client.missing:
                writer.writerow(
                    [
                        client.client_id,
                        client.given_names or "",
                        client.family_name or "",
                        client.municipality or "",
                        item,
                    ]
                )
        return out.getvalue()


def completeness(engine: Engine, seal: NameSeal, organisation: str | None = None) -> Completeness:
    total = 0
    by_item: Counter[str] = Counter()
    incomplete: list[ClientCompleteness] = []
    for record in records(engine, seal):
        if organisation is not None and record.municipality != organisation:
            continue
        total += 1
        missing = missing_items(record)
        if missing:
            by_item.update(
                f"{where.split(' ', 1)[0]}: {field}"
                for where, field in (item.split(": ", 1) for item in missing)
            )
            incomplete.append(
                ClientCompleteness(
                    client_id=record.client_id,
                    given_names=record.person.given_names,
                    family_name=record.person.family_name,
                    municipality=record.municipality,
                    missing=missing,
                )
            )
    return Completeness(
        clients=total,
        complete=total - len(incomplete),
        incomplete=len(incomplete),
        missing_by_item=dict(sorted(by_item.items())),
        incomplete_clients=incomplete,
    )
