"""The raw ceilings of this machine, measured in the same run as the paths they bound.

- ``ceiling.asyncpg_row_per_s``: plain asyncpg inserts of event-sized rows, one row per
  transaction (what storing one event, or applying one to a projection, is at best);
- ``ceiling.asyncpg_batch_row_per_s``: the same rows, 1000 per transaction (executemany:
  what a bulk load or a rebuild is at best);
- ``ceiling.publish_confirmed_per_s``: plain aio-pika publishing of persistent messages with
  publisher confirms, 100 in flight (one confirm awaited at a time is printed beside it);
- ``ceiling.es_command_per_s``: a plain eventsourcing application on PostgreSQL (the library
  without anything of ours): sequential get + one new event + save.

Run alone: `.venv/bin/python bench/ceilings.py [--quick]`.
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path
from uuid import UUID, uuid4

import aio_pika
import asyncpg
import psycopg
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event
from psycopg import sql

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import AMQP, TAG, database, run_alone, say
from shared.settings import Settings

# An event as stored: a topic and a JSON state of about 450 bytes.
STATE = b'{"provenance":{"actor":{"id":"caseworker:x","kind":"user"}},"data":"' + b"x" * 400 + b'"}'


async def asyncpg_rows(database_url: str, rows: int, per_transaction: int) -> float:
    connection = await asyncpg.connect(database_url)
    table = f"bench_rows_{per_transaction}"
    try:
        await connection.execute(
            f"CREATE TABLE {table} (id bigserial PRIMARY KEY, originator_id uuid,"
            " originator_version int, topic text, state bytea,"
            " UNIQUE (originator_id, originator_version))"
        )
        insert = (
            f"INSERT INTO {table} (originator_id, originator_version, topic, state)"
            " VALUES ($1, 1, 'bench:Event', $2)"
        )
        started = time.perf_counter()
        for first in range(0, rows, per_transaction):
            batch = [(uuid4(), STATE) for _ in range(min(per_transaction, rows - first))]
            async with connection.transaction():
                if per_transaction == 1:
                    await connection.execute(insert, *batch[0])
                else:
                    await connection.executemany(insert, batch)
        return rows / (time.perf_counter() - started)
    finally:
        await connection.execute(f"DROP TABLE IF EXISTS {table}")
        await connection.close()


async def publish_confirmed(messages: int, in_flight: int) -> float:
    connection = await aio_pika.connect(AMQP)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        exchange = await channel.declare_exchange(
            f"kt-bench-{TAG}-ceiling", aio_pika.ExchangeType.TOPIC, auto_delete=True
        )
        queue = await channel.declare_queue(exclusive=True)  # a store for what is published
        await queue.bind(exchange, "#")

        async def one(i: int) -> None:
            await exchange.publish(
                aio_pika.Message(
                    STATE, message_id=str(i), delivery_mode=aio_pika.DeliveryMode.PERSISTENT
                ),
                routing_key="bench.Event",
            )

        try:
            started = time.perf_counter()
            for first in range(0, messages, in_flight):
                await asyncio.gather(
                    *(one(i) for i in range(first, min(first + in_flight, messages)))
                )
            return messages / (time.perf_counter() - started)
        finally:
            await queue.delete(if_unused=False, if_empty=False)


class Counter(Aggregate):
    @event("Created")
    def __init__(self, note: str) -> None:
        self.note = note
        self.count = 0

    @event("Counted")
    def add(self, note: str) -> None:
        self.note = note
        self.count += 1


class PlainApplication(Application[UUID]):
    """The eventsourcing library as it comes: no transcodings, tracking or retries of ours."""


def es_commands(database_url: str, commands: int, aggregates: int = 1000) -> float:
    schema = f"bench_plain_{TAG}"
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    env = {
        **Settings(database_url=database_url).postgres,
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_SCHEMA": schema,
        "CREATE_TABLE": "y",
    }
    app = PlainApplication(env=env)
    try:
        note = "x" * 400
        ids = []
        for first in range(0, aggregates, 100):  # set-up, not timed
            created = [Counter(note) for _ in range(min(100, aggregates - first))]
            app.save(*created)
            ids += [c.id for c in created]
        started = time.perf_counter()
        for i in range(commands):
            counter: Counter = app.repository.get(ids[i % len(ids)])
            counter.add(note)
            app.save(counter)
        return commands / (time.perf_counter() - started)
    finally:
        app.close()
        with psycopg.connect(database_url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))


def measure(quick: bool, results: dict[str, float]) -> None:
    """Every ceiling, into ``results`` as each is measured (one failing leaves the others)."""
    with database("ceiling") as url:
        rows = 2000 if quick else 5000
        results["ceiling.asyncpg_row_per_s"] = asyncio.run(asyncpg_rows(url, rows, 1))
        batched = 50_000 if quick else 200_000
        results["ceiling.asyncpg_batch_row_per_s"] = asyncio.run(asyncpg_rows(url, batched, 1000))
        say(f"  asyncpg: {rows} rows one per transaction, {batched} rows 1000 per transaction")
        commands = 1000 if quick else 3000
        results["ceiling.es_command_per_s"] = es_commands(url, commands)
        say(f"  eventsourcing on PostgreSQL: {commands} commands (get + save) one by one")
    messages = 5000 if quick else 20_000
    awaited = asyncio.run(publish_confirmed(messages // 10, 1))
    results["ceiling.publish_confirmed_per_s"] = asyncio.run(publish_confirmed(messages, 100))
    say(
        f"  aio-pika: {messages} persistent messages, 100 confirms in flight; "
        f"awaiting each confirm: {awaited:.0f}/s"
    )


def main() -> None:
    run_alone(__doc__, measure)


if __name__ == "__main__":
    main()
