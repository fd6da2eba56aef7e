"""Dead letters keep a message's body — personal data — only as long as their class
(``dead_letters``, a year by default, from the day the message was dead-lettered): intake's
retention round deletes those past it from the deployment's archive, the SQLite file embedded
and the dead-letter queues on RabbitMQ; the report counts them first."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime

import aio_pika
import pytest
from typer.testing import CliRunner

from kotoutus.cli import app as cli
from kotoutus.embedded import EmbeddedSystem
from services.intake.application import IntakeApplication
from services.intake.retention import retention_watch
from shared.clock import HELSINKI
from shared.messaging.dead_letters import (
    DEAD_LETTERED_AT_HEADER,
    REASON_HEADER,
    BrokerDeadLetters,
)
from shared.messaging.topology import Topology
from shared.settings import Settings


def at(day: str, hour: int = 12) -> datetime:
    return datetime.fromisoformat(f"{day}T{hour:02}:00").replace(tzinfo=HELSINKI)


@pytest.fixture
def town(embedded_settings: Settings) -> Iterator[EmbeddedSystem]:
    system = EmbeddedSystem(embedded_settings.model_copy(update={"retention_automatic": False}))
    yield system
    system.close()


def stored_ids(town: EmbeddedSystem) -> list[str]:
    """The dead letters in the data folder's file, read raw."""
    with sqlite3.connect(town.settings.data_dir / "dead-letters.sqlite") as connection:
        rows = connection.execute("SELECT message_id FROM dead_letters ORDER BY message_id")
        return [row[0] for row in rows]


def test_a_dead_letter_goes_a_year_after_it_was_made_not_before(town: EmbeddedSystem) -> None:
    letters = town.dead_letters
    # Made late on 2 Dec 2025 in Finland (UTC still 2 Dec): kept through 2 Dec 2026.
    letters.add(
        "intake.inbound", "old", "k", b'{"ssn": "131052-308T"}', "bad", at=at("2025-12-02", 23)
    )
    letters.add("intake.inbound", "new", "k", b"{}", "bad", at=at("2025-12-03", 0))
    intake = town.nodes["intake"].app
    assert isinstance(intake, IntakeApplication)
    env = {"KOTOUTUS_DATA_DIR": str(town.settings.data_dir)}

    dry = CliRunner().invoke(cli, ["retention", "report", "--on", "2026-12-03", "--json"], env=env)
    assert dry.exit_code == 0, dry.output
    report = json.loads(dry.output)
    assert report["dead_letters"] == {"written_before": "2025-12-03", "letters": 1}
    summary = {c["retention_class"]: c for c in report["classes"]}["dead_letters"]
    assert summary["watched"] and summary["due"] == 1
    assert stored_ids(town) == ["new", "old"]  # a dry run deletes nothing

    now = [at("2026-12-02")]
    watch = retention_watch(intake, clock=lambda: now[0])
    watch.fire()
    assert stored_ids(town) == ["new", "old"]  # its last day
    now[0] = at("2026-12-03")
    watch.fire()
    assert stored_ids(town) == ["new"]
    stored = (town.settings.data_dir / "dead-letters.sqlite").read_bytes()
    assert b"131052-308T" not in stored  # deleted, not left in a free page
    now[0] = at("2026-12-04")
    watch.fire()
    assert stored_ids(town) == []


async def _publish(
    channel: aio_pika.abc.AbstractChannel, queue: str, letters: dict[str, dict[str, str]]
) -> None:
    for message_id, headers in letters.items():
        await channel.default_exchange.publish(
            aio_pika.Message(
                b"{}", message_id=message_id, headers={REASON_HEADER: "bad", **headers}
            ),
            routing_key=queue,
        )


@pytest.mark.distributed
def test_on_rabbitmq_the_dead_letters_past_their_year_go_from_the_queue(
    distributed_settings: Settings,
) -> None:
    assert distributed_settings.amqp_url
    url = distributed_settings.amqp_url
    topology = Topology(distributed_settings.amqp_prefix, distributed_settings.delivery_limit)
    queue = topology.dead_letter_queue("intake.inbound").name
    letters = {
        "old": {DEAD_LETTERED_AT_HEADER: datetime(2025, 1, 5, 9, tzinfo=UTC).isoformat()},
        "new": {DEAD_LETTERED_AT_HEADER: datetime(2025, 6, 1, 9, tzinfo=UTC).isoformat()},
        # Dead-lettered by a version before the stamp: its age is unknown, so it is kept.
        "undated": {},
    }

    async def scenario() -> tuple[int, int, list[str]]:
        connection = await aio_pika.connect(url)
        async with connection:
            channel = await connection.channel()
            await channel.declare_queue(queue, durable=True)
            await _publish(channel, queue, letters)
        archive = BrokerDeadLetters(url, topology, "intake.inbound")
        before = datetime(2025, 3, 1, tzinfo=UTC)
        would = await archive.purge(before=before, dry_run=True)
        went = await archive.purge(before=before)
        left = sorted(d.message_id for d in await archive.all())
        return would, went, left

    would, went, left = asyncio.run(scenario())
    assert (would, went) == (1, 1)
    assert left == ["new", "undated"]
