"""The read side's database: PostgreSQL (a schema of its own) in distributed mode, a SQLite
file in embedded mode, through one SQLAlchemy engine.

Sync, not async: both delivery paths call projections from worker threads (the in-process
follower and the RabbitMQ consumer's handler), as they call the services' synchronous event
stores, so one code path serves both modes.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url

from shared.settings import Settings
from shared.sqlite_cache import PRAGMA


def engine_for(settings: Settings, name: str = "readside") -> Engine:
    """An engine for the store called ``name`` (its schema, or its SQLite file)."""
    if settings.database_url:
        url = make_url(settings.database_url).set(drivername="postgresql+psycopg")
        schema = settings.schema_for(name)
        # Pre-ping: a round trip per transaction, so that staff reading right after a server
        # restart are served (delivery would retry a failed transaction; a reader would not).
        engine = create_engine(url, pool_size=8, max_overflow=8, pool_pre_ping=True)
        with engine.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
        return engine.execution_options(schema_translate_map={None: schema})
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = create_engine(f"sqlite:///{settings.data_dir / f'{name}.sqlite'}")
    _serialise_sqlite_writers(engine)
    return engine


def _serialise_sqlite_writers(engine: Engine) -> None:
    """SQLite's driver would open transactions lazily, so a read-then-write could see a state
    another writer has already changed: begin every transaction IMMEDIATE instead (the
    recipe of SQLAlchemy's SQLite docs), and let readers run beside the writer (WAL)."""

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        # A name deleted on erasure is overwritten in the file, not merely unlinked.
        cursor.execute("PRAGMA secure_delete=ON")
        cursor.execute(PRAGMA)  # a small page cache (shared.sqlite_cache)
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")
