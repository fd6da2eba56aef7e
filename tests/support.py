"""Helpers for tests: bounded waiting, service processes, RabbitMQ clean-up."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import zlib
from collections.abc import Callable, Coroutine, Iterable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, TypeVar
from uuid import UUID

import aio_pika
import httpx

from kotoutus.bootstrap import inbound, subscriptions
from shared.auth.tokens import LocalIssuer
from shared.compression.codec import FORMAT, HEADER, MARK, decompress, dictionary_id
from shared.contracts.clients import Eligibility
from shared.contracts.events import EligibilityDetermined, EligibilityDeterminedData
from shared.messaging.topology import Topology
from shared.service import message_id
from shared.settings import Settings
from shared.values import Actor, ActorKind

T = TypeVar("T")
MUNICIPALITY = "municipality:320"
# One local-issuer key for the whole session: conftest points every Settings at it (and
# env_for the service processes), so a token made here is good in embedded and distributed tests.
TOKEN_KEY = Path(tempfile.mkdtemp(prefix="kotoutus-test-")) / "token-signing-key.pem"


def token_for(
    settings: Settings, role: str, organisation: str = MUNICIPALITY, subject: str = "anna.virtanen"
) -> str:
    """A token of ``settings``'s local issuer for ``subject`` in ``role`` of ``organisation``."""
    return LocalIssuer(settings).issue(subject=subject, roles=[role], organisation=organisation)


def bearer(
    role: str = "caseworker", organisation: str = MUNICIPALITY, subject: str = "anna.virtanen"
) -> dict[str, str]:
    """Headers of a caller with a token of the session's test key."""
    settings = Settings(token_signing_key=TOKEN_KEY)
    return {"Authorization": f"Bearer {token_for(settings, role, organisation, subject)}"}


ACTOR = bearer()  # a caseworker of the default municipality
SUPERVISOR = bearer("supervisor", subject="sanna.lahtinen")
AUDITOR = bearer("auditor", "valvira", subject="aino.auditor")
INTEGRATION = bearer("integration", subject="integration:dvv")
INTERVIEW = {
    "interviewer": "official:maria.korhonen",
    "interviewer_is_official": True,
    "language": "uk",
    "interpreter": {"kind": "professional", "language": "uk"},
    "client_understands_language": True,
}
# What the initial interview covers and tells (Government Decree 869/2024 §2(1), §2(3)),
# for tests that complete an assessment of 2025 or later.
DECREE = {
    "covered": {
        "literacy": {"code": "literate_latin"},
        "finnish_swedish": {"code": "none"},
        "education_and_work_history": {"code": "vocational"},
        "plan_need": {"code": "needed"},
        "study_and_work_skills": {"note": "studied by distance learning"},
        "employment_education_needs": {"note": "work as a bus driver"},
        "special_skills": {"note": "driving licence"},
        "life_situation": {"note": "two children at school"},
        "other_service_needs": {"note": "civic orientation"},
    },
    "told": ["service_goals", "plan_and_process", "plan_obligations", "personal_data"],
}


def eventually(probe: Callable[[], T | None], timeout: float = 30.0, what: str = "") -> T:
    """Polls ``probe`` until it returns something truthy; fails after ``timeout`` seconds.

    This bounds a wait for asynchronous delivery; it asserts nothing about speed."""
    deadline = time.monotonic() + timeout
    last: T | None = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what or probe}: last {last!r}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def env_for(settings: Settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KOTOUTUS_")}
    env.update(
        {
            "KOTOUTUS_DATABASE_URL": settings.database_url or "",
            "KOTOUTUS_AMQP_URL": settings.amqp_url or "",
            "KOTOUTUS_AMQP_PREFIX": settings.amqp_prefix,
            "KOTOUTUS_SCHEMA_PREFIX": settings.schema_prefix,
            "KOTOUTUS_DELIVERY_LIMIT": str(settings.delivery_limit),
            "KOTOUTUS_WAIT_SECONDS": str(settings.wait_seconds),
            "KOTOUTUS_WAIT_ROUNDS": str(settings.wait_rounds),
            "KOTOUTUS_LATE_ENTRY_GRACE_HOURS": str(settings.late_entry_grace_hours),
            "KOTOUTUS_TOKEN_SIGNING_KEY": str(settings.token_signing_key_path),
            "KOTOUTUS_MASTER_KEY": settings.master_key.get_secret_value()
            if settings.master_key
            else "",
        }
    )
    return env


class ServiceProcesses:
    """The services as separate OS processes, as in production."""

    def __init__(
        self, settings: Settings, log_dir: Path, extra_env: dict[str, str] | None = None
    ) -> None:
        self.settings = settings
        self.log_dir = log_dir
        self.extra_env = extra_env or {}  # settings that are not Settings' (e.g. delivery)
        self.ports: dict[str, int] = {}
        self.processes: dict[str, subprocess.Popen[bytes]] = {}

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}"

    def start(self, name: str, failpoint: str | None = None, wait: bool = True) -> None:
        port = self.ports.setdefault(name, free_port())
        env = {**env_for(self.settings), **self.extra_env}
        if failpoint:
            env["KOTOUTUS_FAILPOINT"] = failpoint
        log = (self.log_dir / f"{name}.log").open("ab")
        self.processes[name] = subprocess.Popen(
            [sys.executable, "-m", "kotoutus.cli", "serve", name, "--port", str(port)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        if wait:
            self.wait_ready(name)

    def wait_ready(self, name: str) -> None:
        def ready() -> bool:
            process = self.processes[name]
            if process.poll() is not None:
                raise AssertionError(f"{name} exited with {process.returncode}: {self.log(name)}")
            try:
                return httpx.get(f"{self.url(name)}/health", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        eventually(ready, timeout=60, what=f"{name} to start")

    def wait_exit(self, name: str, timeout: float = 30) -> int:
        return self.processes[name].wait(timeout=timeout)

    def kill(self, name: str) -> None:
        """SIGKILL: no shutdown of any kind, as a crash or the OOM killer would."""
        process = self.processes.pop(name)
        process.kill()
        process.wait()

    def stop(self, name: str) -> None:
        process = self.processes.pop(name, None)
        if process and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def stop_all(self) -> None:
        for name in list(self.processes):
            self.stop(name)

    def log(self, name: str) -> str:
        path = self.log_dir / f"{name}.log"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""


class Broker:
    """Synchronous peeks at RabbitMQ for tests: a tap on every event, reads of a queue."""

    def __init__(self, amqp_url: str, exchange: str) -> None:
        self.amqp_url = amqp_url
        self.exchange = exchange

    def _run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return asyncio.run(coroutine)

    def tap(self, queue: str) -> None:
        """Declares ``queue`` bound to every routing key of the events exchange."""

        async def declare() -> None:
            connection = await aio_pika.connect(self.amqp_url)
            async with connection:
                channel = await connection.channel()
                exchange = await channel.declare_exchange(
                    self.exchange, aio_pika.ExchangeType.TOPIC, durable=True
                )
                tap = await channel.declare_queue(queue, durable=False)
                await tap.bind(exchange, "#")

        self._run(declare())

    def drain(self, queue: str) -> list[aio_pika.abc.AbstractIncomingMessage]:
        """Takes every message now in ``queue`` (acknowledging them)."""

        async def take() -> list[aio_pika.abc.AbstractIncomingMessage]:
            taken = []
            connection = await aio_pika.connect(self.amqp_url)
            async with connection:
                channel = await connection.channel()
                source = await channel.get_queue(queue, ensure=False)
                while (message := await source.get(fail=False, no_ack=True)) is not None:
                    taken.append(message)
            return taken

        return self._run(take())

    def publish(self, body: bytes, routing_key: str, message_id: str) -> None:
        async def send() -> None:
            connection = await aio_pika.connect(self.amqp_url)
            async with connection:
                channel = await connection.channel(publisher_confirms=True)
                exchange = await channel.get_exchange(self.exchange, ensure=False)
                await exchange.publish(
                    aio_pika.Message(
                        body,
                        message_id=message_id,
                        content_type="application/json",
                        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                    ),
                    routing_key=routing_key,
                )

        self._run(send())


def events_broker(settings: Settings) -> Broker:
    return Broker(settings.amqp_url or "", f"{settings.amqp_prefix}.events")


def delete_broker_names(amqp_url: str, prefix: str) -> None:
    """Removes the exchanges and queues of one deployment prefix (and a test's tap)."""

    async def delete() -> None:
        topology = Topology(prefix, delivery_limit=1)
        connection = await aio_pika.connect(amqp_url)
        async with connection:
            queues = [f"{prefix}.tap"]
            for consumer in topology.consumers(subscriptions(), inbound()):
                queues += topology.queue_names(consumer)
            for queue in queues:
                channel = await connection.channel()
                with contextlib.suppress(aio_pika.exceptions.ChannelClosed):
                    await channel.queue_delete(queue)
            channel = await connection.channel()
            for exchange in (topology.events, topology.inbound, topology.dead_letters):
                await channel.exchange_delete(exchange.name)

    asyncio.run(delete())


def eligibility_determined(client_id: str, position: int) -> EligibilityDetermined:
    """An EligibilityDetermined (a group the law assigns an assessment) from a test source."""
    aggregate = UUID(client_id)
    return EligibilityDetermined(
        message_id=message_id("population-register-test", aggregate, 1),
        event_type="EligibilityDetermined",
        schema_version=1,
        source="population-register-test",
        position=position,
        aggregate_id=aggregate,
        aggregate_version=1,
        occurred_at=datetime(2025, 3, 1, 9, 0, tzinfo=UTC),
        recorded_at=datetime(2025, 3, 1, 9, 0, tzinfo=UTC),
        actor=Actor(id="integration:dvv", kind=ActorKind.INTEGRATION),
        organisation="municipality:320",
        data=EligibilityDeterminedData(
            client_id=aggregate,
            eligibility=Eligibility(
                in_scope=True, group="social_assistance", reasons=("group social_assistance",)
            ),
            decided_on=date.today(),  # a past day's assessment would already be overdue
            responsible_organisation="municipality:320",
        ),
    )


def queue_depth(settings: Settings, queue: str) -> int:
    async def depth() -> int:
        connection = await aio_pika.connect(settings.amqp_url or "")
        async with connection:
            channel = await connection.channel()
            declared = await channel.declare_queue(queue, passive=True)
            count = declared.declaration_result.message_count
            return int(count or 0)

    return asyncio.run(depth())


def reads_from(app: Any) -> list[int]:
    """Records where each read of ``app``'s log starts (its recorder, wrapped, still reads)."""
    starts: list[int] = []
    select = app.recorder.select_notifications

    def recorded(start: int, *args: Any, **kwargs: Any) -> Any:
        starts.append(start)
        return select(start, *args, **kwargs)

    app.recorder.select_notifications = recorded
    return starts


def files_decompressed(paths: Iterable[Path]) -> bytes:
    """What the files hold as a reader of them sees it: their bytes, and after them every
    value stored compressed (``shared.compression``) decompressed with the dictionaries of
    the SQLite files among them — wherever its bytes lie, in a live row, a freed page or the
    write-ahead log. A scan for plain personal data must not pass because a value is
    compressed."""
    files = [path for path in paths if path.is_file()]
    raw = [path.read_bytes() for path in files]
    dictionaries: dict[bytes, bytes] = {}
    for path, content in zip(files, raw, strict=True):
        if content[:16] == b"SQLite format 3\x00":
            with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
                dictionaries.update(sqlite_dictionaries(db))
    found = list(raw)
    for content in raw:
        for key, dictionary in dictionaries.items():
            start = content.find(MARK + FORMAT + key)
            while start >= 0:
                found.append(_inflated(content[start + HEADER :], dictionary))
                start = content.find(MARK + FORMAT + key, start + 1)
    return b"\n".join(found)


def _inflated(stream: bytes, dictionary: bytes) -> bytes:
    """As much of a DEFLATE stream as inflates (one cut by a page boundary, up to there)."""
    inflate = zlib.decompressobj(-15, zdict=dictionary)
    plain = b""
    for at in range(0, len(stream), 64):
        try:
            plain += inflate.decompress(stream[at : at + 64])
        except zlib.error:
            break
        if inflate.eof:
            break
    return plain


def sqlite_dictionaries(db: sqlite3.Connection) -> dict[bytes, bytes]:
    """The compression dictionaries a SQLite store holds, by id (none: an older store)."""
    tables = {row[0] for row in db.execute("SELECT name FROM sqlite_schema WHERE type='table'")}
    if "compression_dictionaries" not in tables:
        return {}
    rows = db.execute("SELECT dictionary FROM compression_dictionaries")
    return {dictionary_id(dictionary): dictionary for (dictionary,) in rows}


def dump_decompressed(dump: bytes) -> bytes:
    """A ``pg_dump --data-only`` as a reader of it sees it: the dump, and after it every bytea
    value stored compressed, decompressed with the dictionaries the dump holds."""
    hexes = [bytes.fromhex(h.decode()) for h in re.findall(rb"\\\\x([0-9a-f]+)", dump)]
    dictionaries = {dictionary_id(value): value for value in hexes}
    values = [decompress(v, dictionaries.get) for v in hexes if v[:2] == MARK + FORMAT]
    return b"\n".join([dump, *values])
