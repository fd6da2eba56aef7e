"""Fixtures: an embedded system on a temporary folder; for the distributed tests a database of
this test session, and per test its own schemas and RabbitMQ names (so reruns and leftovers
never collide), removed afterwards."""

from __future__ import annotations

import base64
import os
from collections.abc import Generator, Iterator
from pathlib import Path
from uuid import uuid4

import psycopg
import pytest
from psycopg import sql

from kotoutus.embedded import EmbeddedSystem
from shared.settings import Settings
from tests.support import TOKEN_KEY, ServiceProcesses, delete_broker_names

# Every Settings of the session verifies the tokens tests.support makes (see TOKEN_KEY).
os.environ["KOTOUTUS_TOKEN_SIGNING_KEY"] = str(TOKEN_KEY)

PG_ADMIN_URL = os.environ.get(
    "KOTOUTUS_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
AMQP_URL = os.environ.get("KOTOUTUS_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")


@pytest.fixture
def embedded_settings(tmp_path: Path) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        database_url=None,
        amqp_url=None,
        token_signing_key=TOKEN_KEY,
        # Tests of other things see a passed deadline marked at once; the grace for late
        # entries has its own tests (test_late_entry.py).
        late_entry_grace_hours=0,
    )


@pytest.fixture
def embedded(embedded_settings: Settings) -> Iterator[EmbeddedSystem]:
    system = EmbeddedSystem(embedded_settings)
    yield system
    system.close()


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    name = f"kotoutus_test_{uuid4().hex[:12]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    yield f"{base}/{name}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


@pytest.fixture
def distributed_settings(pg_database: str) -> Iterator[Settings]:
    tag = uuid4().hex[:10]
    settings = Settings(
        database_url=pg_database,
        amqp_url=AMQP_URL,
        amqp_prefix=f"kt-test-{tag}",
        schema_prefix=f"t{tag}_",
        delivery_limit=3,
        # A message about a person not yet known waits twice, briefly, then is dead-lettered.
        wait_seconds=0.5,
        wait_rounds=2,
        late_entry_grace_hours=0,
        token_signing_key=TOKEN_KEY,
        master_key=base64.b64encode(os.urandom(32)).decode(),
    )
    yield settings
    delete_broker_names(AMQP_URL, settings.amqp_prefix)


@pytest.fixture
def processes(distributed_settings: Settings, tmp_path: Path) -> Iterator[ServiceProcesses]:
    running = ServiceProcesses(distributed_settings, tmp_path)
    yield running
    running.stop_all()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """A failed test that ran service processes (the ``processes`` fixture or one of its
    own) shows each one's log, stopped or running (its last 4 000 characters): what a wait
    that timed out waited for is there, not in the assertion."""
    report: pytest.TestReport = yield
    if report.when == "call" and report.failed:
        arguments = getattr(item, "funcargs", {}).values()
        for running in (value for value in arguments if isinstance(value, ServiceProcesses)):
            for log in sorted(running.log_dir.glob("*.log")):
                report.sections.append((f"log of {log.stem}", running.log(log.stem)))
    return report
