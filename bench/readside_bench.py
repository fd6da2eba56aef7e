"""Benchmark of the read side's projections on PostgreSQL against the raw ceiling, in one run.

(a) Ceiling: plain asyncpg inserts of event-sized rows, one row per transaction (what live
    application is: one transaction per event), and 1000 rows per transaction with
    executemany (what a rebuild could be at best).
(b) Kotoutus: a real history (clients registered through intake in embedded mode, delivered
    to the other services, then replayed), applied to the projections on PostgreSQL
    - live: one event at a time, as delivery does (inbox row, event row, name, caseload fold);
    - rebuild: all projections dropped and built again from the same history.

Run: `.venv/bin/python bench/readside_bench.py [--clients 300]` (PostgreSQL on 127.0.0.1:5432).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from uuid import uuid4

import asyncpg
import psycopg
from psycopg import sql

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from kotoutus.embedded import EmbeddedSystem
from kotoutus.registry import READ_SIDE
from services.intake.application import IntakeApplication
from services.intake.model import ClientFacts, PermitType, PersonalDetails, ResidencePermit
from services.readside.projector import Projector
from shared.clock import utc_now
from shared.contracts import PublicEvent
from shared.replay import replay
from shared.settings import Settings
from shared.values import Actor, ActorKind, Provenance

PG_ADMIN = os.environ.get("KOTOUTUS_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
ROW = b'{"event_type":"ClientRegistered","data":"' + b"x" * 700 + b'"}'


async def ceiling(database_url: str, rows: int, per_transaction: int) -> float:
    connection = await asyncpg.connect(database_url)
    try:
        await connection.execute(
            "CREATE TABLE bench_rows (message_id uuid PRIMARY KEY, client_id uuid, body bytea)"
        )
        started = time.perf_counter()
        for first in range(0, rows, per_transaction):
            batch = [(uuid4(), uuid4(), ROW) for _ in range(min(per_transaction, rows - first))]
            async with connection.transaction():
                await connection.executemany("INSERT INTO bench_rows VALUES ($1, $2, $3)", batch)
        return rows / (time.perf_counter() - started)
    finally:
        await connection.execute("DROP TABLE IF EXISTS bench_rows")
        await connection.close()


def recorded_history(clients: int) -> list[PublicEvent]:
    """Clients registered in an assessment group (their path runs to a reminder), with a
    worker each; every service's reactions delivered; then the history replayed."""
    with tempfile.TemporaryDirectory() as folder:
        system = EmbeddedSystem(Settings(data_dir=Path(folder)))
        try:
            intake = system.nodes["intake"].app
            assert isinstance(intake, IntakeApplication)
            staff = Actor(id="bench", kind=ActorKind.USER)
            for number in range(clients):
                provenance = Provenance(
                    actor=staff, organisation="municipality:320", occurred_at=utc_now()
                )
                client = intake.register_client(
                    client_id=uuid4(),
                    provenance=provenance,
                    personal=PersonalDetails(given_names="Bench", family_name=f"Mark {number}"),
                    facts=ClientFacts(
                        home_municipality="320",
                        mother_tongue="uk",
                        non_temporary_social_assistance=True,
                        residence_permit=ResidencePermit(
                            type=PermitType.A, first_permit_on=date.today().replace(day=1)
                        ),
                    ),
                    relationship_started_on=date.today(),
                    source="bench",
                )
                intake.assign_worker(client.id, provenance=provenance, worker=f"w{number % 7}")
            system.deliver_all()
            nodes = {name: (node.service, node.app) for name, node in system.nodes.items()}
            return list(replay(nodes, personal=True))
        finally:
            system.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=300)
    args = parser.parse_args()

    database = f"kotoutus_bench_{uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
    url = PG_ADMIN.rsplit("/", 1)[0] + f"/{database}"
    try:
        history = recorded_history(args.clients)
        rows = len(history)
        one_per_tx = asyncio.run(ceiling(url, rows, 1))
        batched = asyncio.run(ceiling(url, rows, 1000))

        settings = Settings(
            database_url=url,
            schema_prefix="bench_",
            master_key=base64.b64encode(os.urandom(32)).decode(),
        )
        projector = READ_SIDE.build(settings)
        assert isinstance(projector, Projector)
        started = time.perf_counter()
        for event in history:
            projector.apply(event)
        live = rows / (time.perf_counter() - started)
        started = time.perf_counter()
        projector.rebuild(history)
        rebuild = rows / (time.perf_counter() - started)
        projector.engine.dispose()

        print(f"history: {args.clients} clients, {rows} public events")
        for label, rate, ceiling_rate in (
            ("ceiling asyncpg 1 row/tx", one_per_tx, None),
            ("ceiling asyncpg 1000 rows/tx", batched, None),
            ("live apply (1 event/tx)", live, one_per_tx),
            ("rebuild (all in one tx)", rebuild, batched),
        ):
            ratio = f"  ratio {rate / ceiling_rate:.3f}" if ceiling_rate else ""
            print(f"{label:32} {rate:8.0f} /s{ratio}")
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database))
            )


if __name__ == "__main__":
    main()
