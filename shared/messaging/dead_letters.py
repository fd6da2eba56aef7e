"""Dead letters: what could not be handled, with the reason and the original body intact —
in a SQLite file in embedded mode, in a queue per consumer on RabbitMQ."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Awaitable, Callable, Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import aio_pika

from shared.clock import utc_now
from shared.messaging.erasure import ErasedPerson
from shared.messaging.topology import Topology

REASON_HEADER = "x-kotoutus-reason"
# When the message became a dead letter (ISO 8601): its retention clock (class dead_letters).
DEAD_LETTERED_AT_HEADER = "x-kotoutus-dead-lettered-at"


class DeadLetterArchive(Protocol):
    def erase_person(self, person: ErasedPerson) -> int:
        """Puts every dead letter naming ``person`` in its erased form, or removes it; returns
        how many were changed."""

    def purge(self, *, before: datetime, dry_run: bool = False) -> int:
        """Deletes the dead letters made before ``before`` (their retention class ran out);
        returns how many went (with ``dry_run``: how many would)."""


@dataclass(frozen=True)
class DeadLetter:
    consumer: str
    message_id: str
    routing_key: str
    reason: str
    body: bytes
    dead_lettered_at: datetime


class SQLiteDeadLetters:
    def __init__(self, path: Path) -> None:
        self.path = path
        with self._connect() as conn:
            conn.execute(
                "CREATE TABLE IF NOT EXISTS dead_letters ("
                " consumer TEXT NOT NULL, message_id TEXT NOT NULL, routing_key TEXT NOT NULL,"
                " reason TEXT NOT NULL, body BLOB NOT NULL, dead_lettered_at TEXT NOT NULL,"
                " PRIMARY KEY (consumer, message_id))"
            )

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        """A connection for one transaction, closed afterwards."""
        connection = sqlite3.connect(self.path, timeout=30)
        try:
            # Deleted and rewritten bodies are overwritten in the file, not left in free pages
            # (the rollback journal is a separate file, unlinked after each commit).
            connection.execute("PRAGMA secure_delete = ON")
            with connection:
                yield connection
        finally:
            connection.close()

    def erase_person(self, person: ErasedPerson) -> int:
        changed = 0
        with self._connect() as conn:
            rows = conn.execute("SELECT consumer, message_id, body FROM dead_letters").fetchall()
            for consumer, message_id, stored in rows:
                body = bytes(stored)
                if not person.named_in(consumer, body):
                    continue
                kept = person.erased_form(consumer, body)
                if kept is None:
                    conn.execute(
                        "DELETE FROM dead_letters WHERE consumer = ? AND message_id = ?",
                        (consumer, message_id),
                    )
                elif kept != body:
                    conn.execute(
                        "UPDATE dead_letters SET body = ? WHERE consumer = ? AND message_id = ?",
                        (kept, consumer, message_id),
                    )
                else:
                    continue
                changed += 1
        return changed

    def purge(self, *, before: datetime, dry_run: bool = False) -> int:
        cutoff = before.astimezone(UTC).isoformat()
        with self._connect() as conn:
            # Compared as times (ISO 8601 with an offset, as ``add`` writes), not as text.
            older = "julianday(dead_lettered_at) < julianday(?)"
            if dry_run:
                row = conn.execute(
                    f"SELECT count(*) FROM dead_letters WHERE {older}", (cutoff,)
                ).fetchone()
                return int(row[0])
            return conn.execute(f"DELETE FROM dead_letters WHERE {older}", (cutoff,)).rowcount

    def add(
        self,
        consumer: str,
        message_id: str,
        routing_key: str,
        body: bytes,
        reason: str,
        *,
        at: datetime | None = None,
    ) -> None:
        made = (at or utc_now()).astimezone(UTC).isoformat()
        with self._connect() as conn:
            # The same message failing again after a restart stays one dead letter.
            conn.execute(
                "INSERT OR IGNORE INTO dead_letters VALUES (?, ?, ?, ?, ?, ?)",
                (consumer, message_id, routing_key, reason, body, made),
            )

    def remove(self, consumer: str, message_id: str) -> None:
        with self._connect() as conn:
            conn.execute(
                "DELETE FROM dead_letters WHERE consumer = ? AND message_id = ?",
                (consumer, message_id),
            )

    def all(self) -> list[DeadLetter]:
        with self._connect() as conn:
            rows = conn.execute(
                "SELECT consumer, message_id, routing_key, reason, body, dead_lettered_at"
                " FROM dead_letters ORDER BY dead_lettered_at"
            ).fetchall()
        return [
            DeadLetter(c, m, k, r, bytes(b), datetime.fromisoformat(t)) for c, m, k, r, b, t in rows
        ]


@dataclass(frozen=True)
class QueuedDeadLetter:
    message_id: str
    reason: str
    routing_key: str
    body: bytes


class BrokerDeadLetters:
    """The dead-letter queue of one consumer on RabbitMQ: list it, and send a message back to
    where it first went once the cause is fixed. Reading puts every message back."""

    def __init__(self, amqp_url: str, topology: Topology, consumer: str) -> None:
        self.amqp_url = amqp_url
        self.consumer = consumer
        self.queue = topology.dead_letter_queue(consumer).name
        self.exchange = topology.dead_letters.name

    async def _each(
        self, decide: Callable[[aio_pika.abc.AbstractIncomingMessage], Awaitable[bool]]
    ) -> None:
        """Calls ``decide`` on each message; True acknowledges it, False puts it back."""
        connection = await aio_pika.connect(self.amqp_url)
        async with connection:
            channel = await connection.channel(publisher_confirms=True)
            queue = await channel.get_queue(self.queue, ensure=True)
            held = []
            while (message := await queue.get(fail=False, no_ack=False)) is not None:
                held.append(message)
                if len(held) > 100_000:
                    break
            for message in held:
                if await decide(message):
                    await message.ack()
                else:
                    await message.nack(requeue=True)

    async def all(self) -> list[QueuedDeadLetter]:
        found: list[QueuedDeadLetter] = []

        async def note(message: aio_pika.abc.AbstractIncomingMessage) -> bool:
            found.append(_queued(message))
            return False

        await self._each(note)
        return found

    async def resubmit(self, message_ids: set[str] | None) -> list[str]:
        """Publishes the chosen messages (all when None) to their first exchange again."""
        sent: list[str] = []
        connection = await aio_pika.connect(self.amqp_url)
        async with connection:
            channel = await connection.channel(publisher_confirms=True)

            async def send(message: aio_pika.abc.AbstractIncomingMessage) -> bool:
                if message_ids is not None and message.message_id not in message_ids:
                    return False
                headers = dict(message.headers or {})
                exchange_name = str(headers.get("x-original-exchange") or "")
                routing_key = str(headers.get("x-original-routing-key") or "")
                if not exchange_name:
                    deaths: Any = headers.get("x-death") or [{}]
                    exchange_name = str(deaths[0].get("exchange", ""))
                    routing_key = str((deaths[0].get("routing-keys") or [""])[0])
                for key in [k for k in headers if k.startswith(("x-kotoutus-", "x-death"))]:
                    headers.pop(key)
                exchange = await channel.get_exchange(exchange_name, ensure=False)
                await exchange.publish(
                    aio_pika.Message(
                        message.body,
                        headers=headers,
                        message_id=message.message_id,
                        content_type=message.content_type,
                        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                    ),
                    routing_key=routing_key,
                )
                sent.append(message.message_id or "")
                return True

            await self._each(send)
        return sent

    async def erase_person(self, person: ErasedPerson) -> int:
        changed = 0
        connection = await aio_pika.connect(self.amqp_url)
        async with connection:
            channel = await connection.channel(publisher_confirms=True)
            exchange = await channel.get_exchange(self.exchange, ensure=False)

            async def erase(message: aio_pika.abc.AbstractIncomingMessage) -> bool:
                nonlocal changed
                if not person.named_in(self.consumer, message.body):
                    return False
                kept = person.erased_form(self.consumer, message.body)
                if kept == message.body:
                    return False
                if kept is not None:  # the erased form goes back to the queue first
                    await exchange.publish(
                        aio_pika.Message(
                            kept,
                            headers=dict(message.headers or {}),
                            message_id=message.message_id,
                            content_type=message.content_type,
                            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                        ),
                        routing_key=self.consumer,
                    )
                changed += 1
                return True

            await self._each(erase)
        return changed

    async def purge(self, *, before: datetime, dry_run: bool = False) -> int:
        gone = 0

        async def old(message: aio_pika.abc.AbstractIncomingMessage) -> bool:
            nonlocal gone
            made = dead_lettered_at(message)
            if made is None or made >= before:  # undated: kept, never guessed
                return False
            gone += 1
            return not dry_run

        await self._each(old)
        return gone


def dead_lettered_at(message: aio_pika.abc.AbstractIncomingMessage) -> datetime | None:
    """When the message became a dead letter: our header, or the broker's own record."""
    headers = message.headers or {}
    stamped = headers.get(DEAD_LETTERED_AT_HEADER)
    if isinstance(stamped, bytes):
        stamped = stamped.decode()
    if isinstance(stamped, str):
        try:
            return datetime.fromisoformat(stamped)
        except ValueError:
            return None
    deaths: Any = headers.get("x-death") or [{}]
    when = deaths[0].get("time") if isinstance(deaths[0], dict) else None
    if isinstance(when, datetime):
        return when if when.tzinfo else when.replace(tzinfo=UTC)
    return None


class BrokerDeadLetterArchive:
    """Every consumer's dead-letter queue of one deployment, for erasure."""

    def __init__(self, amqp_url: str, topology: Topology, consumers: Collection[str]) -> None:
        self.queues = [BrokerDeadLetters(amqp_url, topology, c) for c in consumers]

    def erase_person(self, person: ErasedPerson) -> int:
        """Synchronous, as the commands that call it: runs in their worker thread."""

        async def each() -> int:
            return sum([await queue.erase_person(person) for queue in self.queues])

        return asyncio.run(each())

    def purge(self, *, before: datetime, dry_run: bool = False) -> int:
        async def each() -> int:
            return sum([await q.purge(before=before, dry_run=dry_run) for q in self.queues])

        return asyncio.run(each())


def _queued(message: aio_pika.abc.AbstractIncomingMessage) -> QueuedDeadLetter:
    headers = message.headers or {}
    reason = headers.get(REASON_HEADER)
    if reason is None:
        deaths: Any = headers.get("x-death") or [{}]
        reason = f"broker: {deaths[0].get('reason', 'unknown')}"
    return QueuedDeadLetter(
        message_id=message.message_id or "",
        reason=str(reason),
        routing_key=str(headers.get("x-original-routing-key") or message.routing_key or ""),
        body=message.body,
    )
