"""Two registries learn of each newcomer at the same moment: how many messages are lost?

For each of N new persons, Migri's residence permit and the wellbeing county's non-temporary
social assistance (each would register the person) are published to intake's inbound exchange
back to back, in both orders, with publisher confirms. Intake runs as its own process on
PostgreSQL and RabbitMQ. Printed: messages confirmed by the broker, receipts stored, messages
dead-lettered, clients registered, and persons left without a client or without both facts.

`--code DIR` runs intake from another checkout (e.g. an earlier commit, to count before a fix);
the messages and the count are the same.

Run: `.venv/bin/python bench/intake_pairs.py [--pairs 335] [--code DIR]`.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from uuid import uuid4

import httpx
import psycopg
from psycopg import sql

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from shared.identity import IdentifierKind, lookup_digest
from tests.support import delete_broker_names, free_port, queue_depth
from tests.test_intake_nothing_lost import pair, person_code, publish

PG_ADMIN = os.environ.get("KOTOUTUS_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
AMQP = os.environ.get("KOTOUTUS_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")


def count(database_url: str, schema: str, master: bytes, persons: int) -> dict[str, int]:
    """Receipts, registrations and persons served, read from intake's own tables."""
    from shared.crypto import derive

    secret = derive(master, "kotoutus identifier lookup")
    with psycopg.connect(database_url, autocommit=True) as conn:
        topics = [
            str(row[0])
            for row in conn.execute(
                sql.SQL("SELECT topic FROM {}.intake_events").format(sql.Identifier(schema))
            )
        ]
        tables = {
            str(row[0])
            for row in conn.execute(
                "SELECT table_schema || '.' || table_name FROM information_schema.tables"
            )
        }
        # The lookups: beside the events (this version) or beside the keys (earlier ones).
        keys_schema = schema.replace("intake", "intake_keys")
        where = next(
            s
            for s in (f"{schema}.identifier_lookup", f"{keys_schema}.identifier_lookup")
            if s in tables
        )
        owners = {
            str(row[0]): str(row[1])
            for row in conn.execute(
                sql.SQL("SELECT digest, client_id::text FROM {}.{}").format(
                    *map(sql.Identifier, where.split("."))
                )
            )
        }
    served = sum(
        lookup_digest(secret, IdentifierKind.IDENTITY_CODE, person_code(n)) in owners
        for n in range(persons)
    )
    return {
        "receipts": sum(t.endswith("InboundReceipt.Received") for t in topics),
        "clients registered": sum(t.endswith("Client.Registered") for t in topics),
        "persons with a lookup": served,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pairs", type=int, default=335)
    parser.add_argument("--code", type=Path, default=Path(__file__).resolve().parent.parent)
    parser.add_argument("--seconds", type=float, default=120, help="longest wait for the end")
    args = parser.parse_args()

    tag = uuid4().hex[:8]
    database = f"kotoutus_pairs_{tag}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
    database_url = f"{PG_ADMIN.rsplit('/', 1)[0]}/{database}"
    prefix = f"kt-pairs-{tag}"
    master = os.urandom(32)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("KOTOUTUS_")}
    env.update(
        KOTOUTUS_DATABASE_URL=database_url,
        KOTOUTUS_AMQP_URL=AMQP,
        KOTOUTUS_AMQP_PREFIX=prefix,
        KOTOUTUS_SCHEMA_PREFIX=f"p{tag}_",
        KOTOUTUS_MASTER_KEY=base64.b64encode(master).decode(),
        KOTOUTUS_DATA_DIR=tempfile.mkdtemp(),
        PYTHONPATH=str(args.code),
    )
    log = Path(tempfile.mkdtemp()) / "intake.log"
    process = subprocess.Popen(
        [sys.executable, "-m", "kotoutus.cli", "serve", "intake", "--port", str(port)],
        cwd=args.code,
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).is_success:
                    break
            except httpx.HTTPError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise SystemExit(f"intake did not start: {log.read_text()[-2000:]}") from None
            time.sleep(0.2)

        from shared.settings import Settings

        settings = Settings(amqp_url=AMQP, amqp_prefix=prefix, database_url=database_url)
        bodies = [b for n in range(args.pairs) for b in pair(n, tag)]
        started = time.perf_counter()
        publish(settings, bodies)
        dead_letter_queue = f"{prefix}.intake.inbound.dead-letter"
        schema = f"p{tag}_intake"
        deadline = time.monotonic() + args.seconds
        while True:
            found = count(database_url, schema, master, args.pairs)
            dead = queue_depth(settings, dead_letter_queue)
            if found["receipts"] + dead >= len(bodies) or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        elapsed = time.perf_counter() - started
        print(f"code: {args.code}")
        print(f"persons: {args.pairs}; messages confirmed by the broker: {len(bodies)}")
        for name, value in found.items():
            print(f"{name}: {value}")
        print(f"dead-lettered: {dead}")
        print(f"persons without a client: {args.pairs - found['persons with a lookup']}")
        print(f"took {elapsed:.1f} s")
        print(json.dumps({"lost": len(bodies) - found["receipts"], "dead": dead}))
    finally:
        process.terminate()
        process.wait(timeout=30)
        delete_broker_names(AMQP, prefix)
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database))
            )


if __name__ == "__main__":
    main()
