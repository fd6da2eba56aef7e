"""Many messages in one transaction: the store's side of a consumer's batch.

A consumer applies a batch of messages in one transaction: the handlers of every message, all
their new events, and one tracking row per message (its inbox entry), stored all or nothing.
Three parts make that possible here, used by ``ServiceApplication.process_many``:

- **Recorders** that write a tracking row for each message of the batch in the transaction of
  the new events (the library's process recorder takes one ``Tracking`` per insert): the
  ``trackings`` keyword of ``events.put`` carries them, for PostgreSQL and SQLite alike.
- **The batch's view of the aggregates** (``BatchRepository``): an aggregate one message of
  the batch changed is seen so by the next, before anything is stored — each load in a batch
  hands out a copy of the aggregate as the batch has left it, so a handler that fails or
  changes what it does not return leaves the batch's view as it was, as if each message had
  had a transaction of its own.
- **A cache for the length of a batch** (``batch_cache``): what a batch reads more than once
  and only it can change (a client's key), read once.

And one rule for every query of ours: a connection the server cut (a restart) fails its
query, which is tried again on another (``retried``), as the library does for its own — the
pool does not ping each connection before lending it (a round trip per query saved).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from copy import deepcopy
from functools import wraps
from typing import Any, TypeVar, cast
from uuid import UUID

import psycopg
from eventsourcing.application import Repository
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import (
    InterfaceError,
    OperationalError,
    StoredEvent,
    Tracking,
)
from eventsourcing.postgres import PostgresProcessRecorder
from eventsourcing.sqlite import SQLiteCursor, SQLiteProcessRecorder
from psycopg import Cursor, sql
from psycopg.rows import DictRow
from psycopg_pool import PoolTimeout

# The keyword of ``events.put`` that carries a batch's tracking rows to the recorder.
TRACKINGS = "trackings"

F = TypeVar("F", bound=Callable[..., Any])

ATTEMPTS = 10  # as the library's own retries: 10 attempts, 0.2 s apart
PAUSE = 0.2
# The library's wrappers of psycopg's errors, and psycopg's own (a pool of ours).
RETRIED = (InterfaceError, OperationalError, psycopg.InterfaceError, psycopg.OperationalError)


def retried(func: F) -> F:
    """``func`` tried again when its connection fails: a query on a connection the server
    cut (a restart) fails at once, and the next attempt takes another one — the pool drops a
    broken connection — or waits for a new one. The library retries its own queries so. A
    pool that found no connection in its whole wait (the server is down) is not waited for
    again here: the caller's retry decides. ``func`` must be safe to run again: one
    transaction of its own, or idempotent statements."""

    @wraps(func)
    def attempts(*args: Any, **kwargs: Any) -> Any:
        for attempt in range(1, ATTEMPTS + 1):
            try:
                return func(*args, **kwargs)
            except RETRIED as error:
                waited = isinstance(error, PoolTimeout) or isinstance(error.__cause__, PoolTimeout)
                if waited or attempt == ATTEMPTS:
                    raise
                time.sleep(PAUSE)
        raise AssertionError("unreachable")

    return cast(F, attempts)


def trackings_in(kwargs: dict[str, Any]) -> Sequence[Tracking]:
    found = kwargs.get(TRACKINGS)
    return found if isinstance(found, (list, tuple)) else ()


class PostgresBatchRecorder(PostgresProcessRecorder):
    """The library's process recorder, writing a tracking row per message of a batch."""

    def _insert_events(
        self, curs: Cursor[DictRow], stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> None:
        # In one order, so that two batches tracking the same messages wait for each other
        # rather than deadlock.
        trackings = sorted(
            trackings_in(kwargs), key=lambda t: (t.application_name, t.notification_id)
        )
        if trackings:
            self._check_has_multi_row_tracking_table(curs)
            curs.execute(
                sql.SQL(
                    "INSERT INTO {}.{} (application_name, notification_id)"
                    " SELECT * FROM unnest(%s::text[], %s::bigint[]) RETURNING 1"
                ).format(
                    sql.Identifier(self.datastore.schema),
                    sql.Identifier(self.tracking_table_name),
                ),
                (
                    [t.application_name for t in trackings],
                    [t.notification_id for t in trackings],
                ),
            )
            # Fetched at once: a row tracked already (the same message handled concurrently)
            # is a unique violation here, the library's IntegrityError, and the batch is
            # decided again; read later in the library's pipeline it could surface as
            # "pipeline aborted" instead, an error retried as an outage.
            curs.fetchall()
        super()._insert_events(curs, stored_events, **kwargs)

    @retried
    def tracked(self, trackings: Sequence[Tracking]) -> set[tuple[str, int]]:
        """Which of ``trackings`` are recorded: one query for a batch."""
        if not trackings:
            return set()
        query = sql.SQL(
            "SELECT application_name, notification_id FROM {}.{}"
            " WHERE (application_name, notification_id) IN"
            " (SELECT * FROM unnest(%s::text[], %s::bigint[]))"
        ).format(sql.Identifier(self.datastore.schema), sql.Identifier(self.tracking_table_name))
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(
                query,
                (
                    [t.application_name for t in trackings],
                    [t.notification_id for t in trackings],
                ),
            )
            return {(r["application_name"], int(r["notification_id"])) for r in curs.fetchall()}

    @retried
    def stored_ids(self, originator_ids: Sequence[UUID]) -> set[UUID]:
        """Which of ``originator_ids`` have stored events: one query for a batch (a batch's
        new aggregates then need no read each)."""
        if not originator_ids:
            return set()
        query = sql.SQL(
            "SELECT DISTINCT originator_id FROM {}.{} WHERE originator_id = ANY(%s::uuid[])"
        ).format(sql.Identifier(self.datastore.schema), sql.Identifier(self.events_table_name))
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(query, ([str(i) for i in originator_ids],))
            return {UUID(str(r["originator_id"])) for r in curs.fetchall()}


# Pairs per query: SQLite allows 32766 parameters since 3.32, 999 before.
_SQLITE_PAIRS = 400


class SQLiteBatchRecorder(SQLiteProcessRecorder):
    """The library's process recorder, writing a tracking row per message of a batch."""

    def _insert_events(
        self, c: SQLiteCursor, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        returning = super()._insert_events(c, stored_events, **kwargs)
        trackings = trackings_in(kwargs)
        if trackings:
            self._check_has_multi_row_tracking_table(c)
            c.executemany(
                "INSERT INTO tracking VALUES (?, ?)",
                [(t.application_name, t.notification_id) for t in trackings],
            )
        return returning

    @retried
    def tracked(self, trackings: Sequence[Tracking]) -> set[tuple[str, int]]:
        """Which of ``trackings`` are recorded."""
        found: set[tuple[str, int]] = set()
        with self.datastore.transaction(commit=False) as c:
            for start in range(0, len(trackings), _SQLITE_PAIRS):
                chunk = trackings[start : start + _SQLITE_PAIRS]
                values = ", ".join(["(?, ?)"] * len(chunk))
                c.execute(
                    "SELECT application_name, notification_id FROM tracking"
                    f" WHERE (application_name, notification_id) IN (VALUES {values})",
                    [v for t in chunk for v in (t.application_name, t.notification_id)],
                )
                found.update((str(r[0]), int(r[1])) for r in c.fetchall())
        return found

    @retried
    def stored_ids(self, originator_ids: Sequence[UUID]) -> set[UUID]:
        """Which of ``originator_ids`` have stored events."""
        found: set[UUID] = set()
        with self.datastore.transaction(commit=False) as c:
            for start in range(0, len(originator_ids), _SQLITE_PAIRS):
                chunk = originator_ids[start : start + _SQLITE_PAIRS]
                c.execute(
                    f"SELECT DISTINCT originator_id FROM {self.events_table_name}"
                    f" WHERE originator_id IN ({', '.join('?' * len(chunk))})",
                    [i.hex for i in chunk],
                )
                found.update(UUID(str(r[0])) for r in c.fetchall())
        return found


class Batch:
    """One batch's state, in the thread that applies it: the aggregates as its messages have
    left them so far, and what it reads once (see ``batch_cache``)."""

    def __init__(self, repository: BatchRepository) -> None:
        self.repository = repository
        self.aggregates: dict[UUID, Aggregate] = {}
        self.cache: dict[Any, Any] = {}

    def keep(self, *aggregates: Aggregate) -> list[Any]:
        """The pending events of ``aggregates``, which later messages of the batch see as
        changed."""
        events: list[Any] = []
        for aggregate in aggregates:
            events.extend(aggregate.collect_events())
            self.aggregates[aggregate.id] = aggregate
        return events


_current = threading.local()


def current_batch() -> Batch | None:
    """The batch this thread is applying, if it is applying one."""
    batch: Batch | None = getattr(_current, "batch", None)
    return batch


@contextmanager
def batch_scope(repository: BatchRepository) -> Iterator[Batch]:
    if current_batch() is not None:
        raise RuntimeError("a batch is being applied in this thread already")
    batch = Batch(repository)
    _current.batch = batch
    try:
        yield batch
    finally:
        _current.batch = None


def batch_cache(key: Any, load: Callable[[], Any]) -> Any:
    """``load()``, read once for the length of the batch this thread applies (every time
    outside one). For what only the batch itself can change, and then only through
    ``forget_cached``."""
    batch = current_batch()
    if batch is None:
        return load()
    if key not in batch.cache:
        batch.cache[key] = load()
    return batch.cache[key]


def remember(key: Any, value: Any) -> None:
    """Caches ``value`` under ``key`` for the batch this thread applies (nothing outside one):
    what the batch read for many at once, each found later without a read."""
    batch = current_batch()
    if batch is not None:
        batch.cache[key] = value


def forget_cached(key: Any) -> None:
    batch = current_batch()
    if batch is not None:
        batch.cache.pop(key, None)


def forget_cached_where(matches: Callable[[Any], bool]) -> None:
    """Forgets every cached entry whose key ``matches`` (what one write changed at once)."""
    batch = current_batch()
    if batch is not None:
        for key in [key for key in batch.cache if matches(key)]:
            del batch.cache[key]


class BatchRepository(Repository[UUID]):
    """The library's repository; inside a batch (``batch_scope``), the batch's view."""

    def get(self, aggregate_id: UUID, *, version: int | None = None, **kwargs: Any) -> Any:
        batch = current_batch()
        if batch is None or batch.repository is not self or version is not None:
            return super().get(aggregate_id, version=version, **kwargs)
        aggregate = batch.aggregates.get(aggregate_id)
        if aggregate is None:
            aggregate = super().get(aggregate_id, **kwargs)
            batch.aggregates[aggregate_id] = aggregate
        # A copy, as a load outside a batch gives a fresh object: what a handler changes
        # counts only once it returns the aggregate (``Batch.keep``).
        return deepcopy(aggregate)
