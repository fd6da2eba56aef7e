"""Benchmark of the distributed thread against this machine's raw ceiling, in one run.

(a) Ceiling: plain asyncpg inserts of event-sized rows, one row per transaction; plain aio-pika
    publishing with publisher confirms, awaited one by one and 100 in flight.
(b) Kotoutus: the four services as OS processes on PostgreSQL and RabbitMQ.
    - throughput: N registrations posted by C concurrent callers; registrations per second
      through the whole thread (POST → … → reminder scheduled in notifications' store);
    - latency: registrations at a moderate steady rate; time from sending the POST to the
      record time of the ReminderScheduled event, p50 and p99.

Run: `make bench` (PostgreSQL on 127.0.0.1:5432 and RabbitMQ on 127.0.0.1:5672).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path
from uuid import UUID, uuid4

import aio_pika
import asyncpg
import httpx
import psycopg
from psycopg import sql

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from kotoutus.bootstrap import build_application
from kotoutus.registry import SERVICES
from shared.auth.tokens import LocalIssuer
from shared.settings import Settings
from tests.support import ServiceProcesses, delete_broker_names

PG_ADMIN = os.environ.get("KOTOUTUS_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
AMQP = os.environ.get("KOTOUTUS_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
EVENT_STATE = (
    b'{"provenance":{"actor":{"id":"caseworker:x","kind":"user"}},"data":"' + b"x" * 400 + b'"}'
)


async def ceiling_asyncpg(database_url: str, rows: int) -> float:
    connection = await asyncpg.connect(database_url)
    try:
        await connection.execute(
            "CREATE TABLE bench_events (id bigserial PRIMARY KEY, originator_id uuid,"
            " originator_version int, topic text, state bytea,"
            " UNIQUE (originator_id, originator_version))"
        )
        started = time.perf_counter()
        for _ in range(rows):
            async with connection.transaction():
                await connection.execute(
                    "INSERT INTO bench_events (originator_id, originator_version, topic, state) "
                    "VALUES ($1, 1, 'bench:Event', $2)",
                    uuid4(),
                    EVENT_STATE,
                )
        return rows / (time.perf_counter() - started)
    finally:
        await connection.execute("DROP TABLE IF EXISTS bench_events")
        await connection.close()


async def ceiling_aio_pika(messages: int, in_flight: int) -> float:
    connection = await aio_pika.connect(AMQP)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        exchange = await channel.declare_exchange(
            f"bench-{uuid4().hex[:8]}", "topic", auto_delete=True
        )
        queue = await channel.declare_queue(exclusive=True)
        await queue.bind(exchange, "#")
        body = EVENT_STATE

        async def one(i: int) -> None:
            await exchange.publish(
                aio_pika.Message(
                    body, message_id=str(i), delivery_mode=aio_pika.DeliveryMode.PERSISTENT
                ),
                routing_key="bench.Event",
            )

        started = time.perf_counter()
        for first in range(0, messages, in_flight):
            await asyncio.gather(*(one(i) for i in range(first, min(first + in_flight, messages))))
        rate = messages / (time.perf_counter() - started)
        await queue.delete(if_unused=False, if_empty=False)
        return rate


def scheduled_at(settings: Settings) -> dict[UUID, datetime]:
    """Record time of each client's first ReminderScheduled, from notifications' own store."""
    app = build_application(settings, SERVICES["notifications"])
    found: dict[UUID, datetime] = {}
    try:
        position = 0
        while batch := app.recorder.select_notifications(position + 1, 1000):
            for notification in batch:
                position = notification.id
                if notification.topic.endswith("ReminderScheduled"):
                    event = app.mapper.to_domain_event(notification)
                    found.setdefault(event.client_id, event.timestamp)  # type: ignore[attr-defined]
        return found
    finally:
        app.close()


def registration(day: str | None = None) -> dict[str, object]:
    day = day or date.today().isoformat()  # a past start would also trip the overdue timer
    return {
        "client_id": str(uuid4()),
        "relationship_started_on": day,
        "personal": {"given_names": "Bench", "family_name": "Mark"},
        # A group the law assigns an assessment: the thread runs to a reminder.
        "facts": {
            "non_temporary_social_assistance": True,
            "residence_permit": {"type": "A", "first_permit_on": "2025-01-15"},
        },
    }


async def post_all(
    url: str, bodies: list[dict[str, object]], concurrency: int, headers: dict[str, str]
) -> dict[UUID, float]:
    sent: dict[UUID, float] = {}
    queue: asyncio.Queue[dict[str, object]] = asyncio.Queue()
    for body in bodies:
        queue.put_nowait(body)

    async def caller(client: httpx.AsyncClient) -> None:
        while not queue.empty():
            body = queue.get_nowait()
            sent[UUID(str(body["client_id"]))] = time.time()
            response = await client.post(f"{url}/clients", json=body)
            response.raise_for_status()

    async with httpx.AsyncClient(headers=headers, timeout=60) as client:
        await asyncio.gather(*(caller(client) for _ in range(concurrency)))
    return sent


async def post_steady(
    url: str, count: int, rate: float, headers: dict[str, str]
) -> dict[UUID, float]:
    sent: dict[UUID, float] = {}
    async with httpx.AsyncClient(headers=headers, timeout=60) as client:
        tasks = []
        start = time.perf_counter()
        for i in range(count):
            await asyncio.sleep(max(0.0, start + i / rate - time.perf_counter()))
            body = registration()
            sent[UUID(str(body["client_id"]))] = time.time()
            tasks.append(asyncio.create_task(client.post(f"{url}/clients", json=body)))
        for response in await asyncio.gather(*tasks):
            response.raise_for_status()
    return sent


def wait_for(settings: Settings, clients: set[UUID], timeout: float) -> dict[UUID, datetime]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = scheduled_at(settings)
        if clients <= found.keys():
            return found
        time.sleep(0.2)
    raise SystemExit(f"only {len(clients & scheduled_at(settings).keys())}/{len(clients)} arrived")


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=3000, help="ceiling: asyncpg inserts")
    parser.add_argument("--messages", type=int, default=5000, help="ceiling: aio-pika publishes")
    parser.add_argument("--registrations", type=int, default=1000, help="throughput run")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--steady", type=int, default=300, help="latency run: registrations")
    parser.add_argument("--rate", type=float, default=20.0, help="latency run: per second")
    args = parser.parse_args()

    name = f"kotoutus_bench_{uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    database_url = f"{PG_ADMIN.rsplit('/', 1)[0]}/{name}"
    work = Path(tempfile.mkdtemp(prefix="kotoutus-bench-"))
    settings = Settings(
        database_url=database_url,
        amqp_url=AMQP,
        amqp_prefix=f"bench-{uuid4().hex[:8]}",
        master_key=base64.b64encode(os.urandom(32)).decode(),
        token_signing_key=work / "token-signing-key.pem",  # the local issuer, as in the tests
    )
    token = LocalIssuer(settings).issue(
        subject="bench:caller", roles=["caseworker"], organisation="municipality:320"
    )
    headers = {"Authorization": f"Bearer {token}"}
    processes = ServiceProcesses(settings, work)
    try:
        insert_rate = asyncio.run(ceiling_asyncpg(database_url, args.rows))
        publish_one = asyncio.run(ceiling_aio_pika(args.messages // 5, 1))
        publish_many = asyncio.run(ceiling_aio_pika(args.messages, 100))
        print("raw ceiling (same machine, same run)")
        print(f"  asyncpg insert, 1 row per transaction  {insert_rate:9.0f} rows/s")
        print(f"  aio-pika publish, confirm awaited      {publish_one:9.0f} msg/s")
        print(f"  aio-pika publish, 100 confirms in flight {publish_many:7.0f} msg/s")

        for service in ("intake", "assessment", "plans", "notifications"):
            processes.start(service, wait=False)
        for service in ("intake", "assessment", "plans", "notifications"):
            processes.wait_ready(service)
        intake = processes.url("intake")
        asyncio.run(post_all(intake, [registration() for _ in range(20)], 4, headers))  # warm-up
        wait_for(settings, set(), 1)

        bodies = [registration() for _ in range(args.registrations)]
        started = time.time()
        sent = asyncio.run(post_all(intake, bodies, args.concurrency, headers))
        posted = time.time()
        arrived = wait_for(settings, set(sent), timeout=600)
        finished = max(arrived[c] for c in sent).timestamp()
        api_rate = len(sent) / (posted - started)
        thread_rate = len(sent) / (finished - started)
        print(f"kotoutus, distributed: {len(sent)} registrations, {args.concurrency} callers")
        print(f"  POST /clients accepted                 {api_rate:9.0f} /s")
        print(f"  through the thread (reminder stored)   {thread_rate:9.0f} /s")
        # Each registration stores 5 events in 3 stores and crosses the broker twice.
        print(f"  ratio to asyncpg 1-row transactions    {thread_rate / insert_rate:9.3f}")
        print(f"  ratio to aio-pika confirmed publishes  {thread_rate / publish_many:9.3f}")

        sent = asyncio.run(post_steady(intake, args.steady, args.rate, headers))
        arrived = wait_for(settings, set(sent), timeout=600)
        latencies = [(arrived[c].timestamp() - t) * 1000 for c, t in sent.items()]
        print(f"kotoutus, distributed: latency at {args.rate:.0f}/s, {len(sent)} registrations")
        print(f"  POST → reminder scheduled  p50 {percentile(latencies, 0.5):7.1f} ms")
        print(f"  POST → reminder scheduled  p99 {percentile(latencies, 0.99):7.1f} ms")
        print(
            f"  (mean {statistics.fmean(latencies):.1f} ms, max {max(latencies):.1f} ms, "
            f"at {datetime.now(UTC):%Y-%m-%d %H:%M} UTC)"
        )
    finally:
        processes.stop_all()
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
        delete_broker_names(AMQP, settings.amqp_prefix)


if __name__ == "__main__":
    main()
