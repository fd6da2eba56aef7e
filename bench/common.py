"""What the benchmarks share: where PostgreSQL and RabbitMQ are, a throw-away database and
deployment per part (each cleaned up, whatever happens), followers of a store's log, and the
small arithmetic of the reports."""

from __future__ import annotations

import base64
import contextlib
import os
import shutil
import signal
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import date
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import psycopg
from psycopg import sql

from shared.settings import Settings

ROOT = Path(__file__).resolve().parent.parent

PG_ADMIN = os.environ.get("KOTOUTUS_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
AMQP = os.environ.get("KOTOUTUS_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
TAG = uuid4().hex[:8]  # this run's: every database, schema and broker name carries it


def terminate_as_interrupt() -> None:
    """`timeout` and CI stop a run with SIGTERM: unwind as on Ctrl-C, so that every part's
    clean-up (processes, databases, queues) still runs."""

    def interrupt(signum: int, _: Any) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, interrupt)


def run_alone(doc: str | None, measure: Callable[[bool, dict[str, float]], None]) -> None:
    """A part run on its own (`python bench/<part>.py [--quick]`): its figures, printed."""
    import argparse

    parser = argparse.ArgumentParser(description=(doc or "").split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    terminate_as_interrupt()
    results: dict[str, float] = {}
    measure(args.quick, results)
    for key, value in results.items():
        print(f"{key:36} {value:10.1f}")


@contextlib.contextmanager
def database(part: str) -> Iterator[str]:
    """A PostgreSQL database of its own for one part, dropped afterwards; yields its URL."""
    name = f"kotoutus_bench_{TAG}_{part}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield f"{PG_ADMIN.rsplit('/', 1)[0]}/{name}"
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


@contextlib.contextmanager
def folder(part: str) -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix=f"kotoutus-bench-{TAG}-{part}-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@contextlib.contextmanager
def deployment(part: str) -> Iterator[tuple[Settings, Path]]:
    """Distributed settings of one part: its database, its broker prefix (exchanges and
    queues deleted afterwards), a work folder with the local token issuer's key."""
    from tests.support import delete_broker_names

    with database(part) as url, folder(part) as work:
        settings = Settings(
            database_url=url,
            amqp_url=AMQP,
            amqp_prefix=f"kt-bench-{TAG}-{part}",
            master_key=base64.b64encode(os.urandom(32)).decode(),
            token_signing_key=work / "token-signing-key.pem",
        )
        try:
            yield settings, work
        finally:
            delete_broker_names(AMQP, settings.amqp_prefix)


def bearer(settings: Settings) -> dict[str, str]:
    """A caseworker of the default municipality, with a token of ``settings``'s local issuer."""
    from shared.auth.tokens import LocalIssuer

    token = LocalIssuer(settings).issue(
        subject="bench:caller", roles=["caseworker"], organisation="municipality:320"
    )
    return {"Authorization": f"Bearer {token}"}


def registration(day: date | None = None) -> dict[str, object]:
    """A POST /clients body: a group the law assigns an assessment, so the thread runs on to
    a reminder. Today's start (a past one would also trip the overdue timer)."""
    return {
        "client_id": str(uuid4()),
        "relationship_started_on": (day or date.today()).isoformat(),
        "personal": {"given_names": "Bench", "family_name": "Mark"},
        "facts": {
            "non_temporary_social_assistance": True,
            "residence_permit": {"type": "A", "first_permit_on": "2025-01-15"},
        },
    }


class LogFollower:
    """Reads a store's notification log on from where it last stopped (a store's log is
    written in order), counting the notifications whose topic ends in ``suffix`` and keeping
    the first (key, value) ``pick`` makes of each."""

    def __init__(
        self, app: Any, suffix: str, pick: Callable[[Any, Any], tuple[Any, Any]] | None = None
    ) -> None:
        self.app = app
        self.suffix = suffix
        self.pick = pick
        self.position = 0
        self.count = 0
        self.found: dict[Any, Any] = {}

    def poll(self) -> int:
        while batch := self.app.recorder.select_notifications(self.position + 1, 1000):
            for notification in batch:
                self.position = notification.id
                if notification.topic.endswith(self.suffix):
                    self.count += 1
                    if self.pick is not None:
                        key, value = self.pick(self.app, notification)
                        self.found.setdefault(key, value)
        return self.count


def client_and_time(app: Any, notification: Any) -> tuple[UUID, float]:
    """A reminder's client and its record time (seconds since the epoch)."""
    event = app.mapper.to_domain_event(notification)
    return event.client_id, event.timestamp.timestamp()


def wait_until(done: Callable[[], bool], timeout: float, what: str, every: float = 0.1) -> float:
    """Polls ``done`` until true; returns the time it was first seen true (time.time())."""
    deadline = time.monotonic() + timeout
    while True:
        if done():
            return time.time()
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not done within {timeout:.0f} s")
        time.sleep(every)


def percentile(values: Iterable[float], share: float) -> float:
    ordered = sorted(values)
    if not ordered:
        raise ValueError("no values")
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def say(text: str) -> None:
    print(text, flush=True)
