"""Event-store set-up shared by the services, and the exactly-once processing of messages.

Each service is one eventsourcing ``Application`` with a process recorder: PostgreSQL (a schema
of its own) in distributed mode, a SQLite file in embedded mode. Tracking is multi-row, one row
per upstream (source, position): it is the consumer's inbox, so a redelivered message is caught
by the primary key whatever order messages arrive in, and the effect and its tracking row are
written in one transaction — for a batch of messages, all their effects and a tracking row each
(``process_many``; the machinery is in ``shared.batching``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date
from typing import Any, ClassVar, TypeVar
from uuid import UUID

import psycopg
from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import (
    IntegrityError,
    JSONTranscoder,
    Mapper,
    Tracking,
    Transcoding,
)
from eventsourcing.utils import get_topic, strtobool
from psycopg import sql
from pydantic import BaseModel

from shared.batching import (
    TRACKINGS,
    Batch,
    BatchRepository,
    PostgresBatchRecorder,
    SQLiteBatchRecorder,
    batch_scope,
)
from shared.compression.codec import DictionaryCompressor
from shared.compression.dictionary import aggregates_of, event_store_dictionary
from shared.compression.tables import StoredDictionaries
from shared.contracts.envelope import PublicEvent
from shared.errors import ConcurrentUpdateError, NotFoundError
from shared.failpoints import failpoint
from shared.identity import STORED
from shared.law.deadlines import Deadline
from shared.law.rulebook import RuleBook, RuleRef, municipal_targets, rulebook
from shared.settings import Settings
from shared.sqlite_cache import SQLiteFactory
from shared.values import Actor, Provenance

# Optimistic-concurrency conflicts are retried this often before a command is answered 409.
MAX_ATTEMPTS = 10

A = TypeVar("A", bound=Aggregate)
R = TypeVar("R")


class DateAsISO(Transcoding):
    type = date
    name = "date_iso"

    def encode(self, obj: date) -> str:
        return obj.isoformat()

    def decode(self, data: str) -> date:
        return date.fromisoformat(data)


# The name a value object is stored under is part of every stored event that holds one: a
# class moved since it was first stored keeps the name it was stored under (current → stored).
STORED_NAMES: dict[str, str] = {
    "shared.contracts.intake.PersonalDetails": "shared.contracts.clients.PersonalDetails",
    "shared.contracts.intake.ClientFacts": "shared.contracts.clients.ClientFacts",
    "shared.contracts.intake.Eligibility": "shared.contracts.clients.Eligibility",
    "shared.contracts.plans.ReviewContent": "shared.contracts.records.ReviewContent",
}


def stored_name(model: type[BaseModel]) -> str:
    current = f"{model.__module__}.{model.__qualname__}"
    return STORED_NAMES.get(current, current)


def pydantic_transcoding(model: type[BaseModel]) -> Transcoding:
    """A transcoding that stores a frozen pydantic value object as its JSON-ready dict."""

    class _ModelTranscoding(Transcoding):
        type = model
        name = stored_name(model)

        def encode(self, obj: BaseModel) -> dict[str, Any]:
            return obj.model_dump(mode="json")

        def decode(self, data: dict[str, Any]) -> BaseModel:
            # History is read as it was written: input checks added since do not refuse it.
            return model.model_validate(data, context={STORED: True})

    return _ModelTranscoding()


VALUE_OBJECTS: tuple[type[BaseModel], ...] = (Actor, Provenance, RuleRef, Deadline)


# Seconds a command waits for a pooled connection before it fails; with the library's
# retries, a command rides out a database restart of about this long.
DATABASE_WAIT_SECONDS = 30


def store_env(settings: Settings, service: str) -> dict[str, str]:
    """The eventsourcing library's settings for one service's store."""
    env = {"SINGLE_ROW_TRACKING": "n"}
    if settings.database_url:
        schema = settings.schema_for(service)
        _create_schema(settings, schema)
        env.update(settings.postgres)
        env.update(
            {
                "PERSISTENCE_MODULE": "eventsourcing.postgres",
                "PROCESS_RECORDER_TOPIC": get_topic(PostgresBatchRecorder),
                "POSTGRES_SCHEMA": schema,
                "POSTGRES_POOL_SIZE": "4",
                "POSTGRES_MAX_OVERFLOW": "4",
                # No ping before each use of a pooled connection (a round trip per query): a
                # connection cut by a server restart fails its query, which is tried again
                # on another — the library's queries by the library, ours by
                # ``shared.batching.retried`` (tests/test_outages.py restarts the server).
                "POSTGRES_PRE_PING": "n",
                # How long a command waits for a connection (the library's default, stated:
                # intake's key store waits as long, see DATABASE_WAIT_SECONDS).
                "POSTGRES_CONNECT_TIMEOUT": str(DATABASE_WAIT_SECONDS),
                "CREATE_TABLE": "y",
            }
        )
    else:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        env.update(
            {
                "PERSISTENCE_MODULE": get_topic(SQLiteFactory),  # the library's, small caches
                "PROCESS_RECORDER_TOPIC": get_topic(SQLiteBatchRecorder),
                "SQLITE_DBNAME": str(settings.data_dir / f"{service}.sqlite"),
                "SQLITE_LOCK_TIMEOUT": "30",
            }
        )
    return env


def _create_schema(settings: Settings, schema: str) -> None:
    assert settings.database_url
    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))


Policy = Callable[[Any, PublicEvent], Sequence[Aggregate]]
"""Reacts to a public event: returns the aggregates whose new events are the effect."""


def _unique(events: Sequence[PublicEvent]) -> list[PublicEvent]:
    """``events`` each once (by upstream source and position), in their order."""
    seen: set[tuple[str, int]] = set()
    unique = []
    for event in events:
        if (event.source, event.position) not in seen:
            seen.add((event.source, event.position))
            unique.append(event)
    return unique


class ServiceApplication(Application[UUID]):
    """Base of every service's application: value-object transcodings, tracking, retries."""

    service_name: ClassVar[str]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        # The library names a subclass's tables after the class. A subclass of a service's
        # application (e.g. one that adds work to it) must keep that service's store.
        parent = cls.__mro__[1]
        named = "name" in cls.__dict__
        super().__init_subclass__(**kwargs)
        if (
            not named
            and parent is not ServiceApplication
            and issubclass(parent, ServiceApplication)
        ):
            cls.name = parent.name

    def __init__(
        self, settings: Settings, env: dict[str, str], book: RuleBook | None = None
    ) -> None:
        # Built before the recorder (the mapper is the library's first step); given its
        # dictionary once the store is there to keep it.
        self.compressor = DictionaryCompressor()
        super().__init__(env)
        self.settings = settings
        self.book = book or rulebook()
        self._listeners: list[Callable[[], None]] = []
        self._keep_dictionaries(compress=settings.compress_stored_events)

    def _keep_dictionaries(self, *, compress: bool) -> None:
        """Reads the store's dictionaries (what was compressed reads back whatever the
        setting is now); compressing, adds this version's and writes with it."""
        stored = StoredDictionaries(self.recorder)
        dictionary = None
        if compress:
            dictionary = event_store_dictionary(
                self.mapper.transcoder,
                aggregates_of(type(self)),
                [*self.book.all(), *municipal_targets().all()],
            )
            stored.add(dictionary)
        self.compressor.use(dictionary, stored.all)

    def construct_mapper(self) -> Mapper[UUID]:
        # Ours, not the library's from the environment (its COMPRESSOR_TOPIC, CIPHER_TOPIC):
        # the store's compression is this one, with its dictionaries.
        return Mapper(self.construct_transcoder(), compressor=self.compressor)

    def on_recorded(self, listener: Callable[[], None]) -> None:
        """Calls ``listener`` (from the writing thread) after new events are stored, so that
        followers of the log wake at once instead of at their next poll."""
        self._listeners.append(listener)

    def _notify(self, recordings: list[Any]) -> None:
        super()._notify(recordings)
        if recordings:
            for listener in self._listeners:
                listener()

    def construct_recorder(self) -> Any:
        return self.factory.process_recorder()

    def construct_repository(self) -> BatchRepository:
        """The library's repository (its settings as it reads them), with a batch's view."""
        maxsize = self.env.get(self.AGGREGATE_CACHE_MAXSIZE)
        return BatchRepository(
            event_store=self.events,
            snapshot_store=self.snapshots,
            cache_maxsize=int(maxsize) if maxsize else None,
            fastforward=strtobool(self.env.get(self.AGGREGATE_CACHE_FASTFORWARD, "y")),
            fastforward_skipping=strtobool(
                self.env.get(self.AGGREGATE_CACHE_FASTFORWARD_SKIPPING, "n")
            ),
            deepcopy_from_cache=strtobool(self.env.get(self.DEEPCOPY_FROM_AGGREGATE_CACHE, "y")),
        )

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        transcoder.register(DateAsISO())
        for model in VALUE_OBJECTS:
            transcoder.register(pydantic_transcoding(model))

    # --- commands ---

    def load(self, aggregate_id: UUID, kind: type[A]) -> A:
        try:
            aggregate: Aggregate = self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            raise NotFoundError(f"{kind.__name__} {aggregate_id}") from None
        if not isinstance(aggregate, kind):
            raise NotFoundError(f"{kind.__name__} {aggregate_id}")
        return aggregate

    def stored(self, aggregate_id: UUID, kind: type[A]) -> A | None:
        """The aggregate, or None if none is stored: one read, where ``in`` and then
        ``load`` take two (on every message's path). Another kind under that id is an error,
        not an absence."""
        try:
            aggregate: Aggregate = self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            return None
        if not isinstance(aggregate, kind):
            raise NotFoundError(f"{kind.__name__} {aggregate_id}")
        return aggregate

    def update(self, aggregate_id: UUID, kind: type[A], decide: Callable[[A], object]) -> A:
        """Load, decide, save; on a concurrent write, decide again on the new state."""
        return self.decide(aggregate_id, kind, decide)[0]

    def decide(self, aggregate_id: UUID, kind: type[A], decide: Callable[[A], R]) -> tuple[A, R]:
        """As ``update``, also returning what the (last) decision answered."""
        for _ in range(MAX_ATTEMPTS):
            aggregate = self.load(aggregate_id, kind)
            answer = decide(aggregate)
            try:
                self.save(aggregate)
            except IntegrityError:
                continue
            return aggregate, answer
        raise ConcurrentUpdateError(f"{kind.__name__} {aggregate_id}")

    # --- messages ---

    def process(self, event: PublicEvent, policy: Policy) -> bool:
        """Applies ``policy`` to ``event`` exactly once. Returns False for a duplicate."""
        return self.process_many([event], policy) == 1

    def process_many(self, events: Sequence[PublicEvent], policy: Policy) -> int:
        """Applies ``policy`` to each of ``events`` exactly once, in one transaction: the new
        events of them all and a tracking row each, stored all or nothing (an error of any
        message raises, and nothing is stored). Each message sees what the earlier ones did.
        Returns how many were new (not tracked already, nor repeated within ``events``).

        The first turn does not ask which messages were handled before (a query per batch):
        a message tracked already fails the batch's insert of its tracking row (the primary
        key), nothing of the batch is stored, and the next turns ask first. So does any error
        of the first turn, so that a duplicate is skipped before its handler can refuse it."""
        checked = False
        for _ in range(MAX_ATTEMPTS):
            fresh = self._untracked(events) if checked else _unique(events)
            if not fresh:
                return 0
            with self.batch() as batch:
                try:
                    new_events = [e for event in fresh for e in batch.keep(*policy(self, event))]
                except Exception:
                    if checked:
                        raise
                    checked = True  # a duplicate's handler may refuse what it did before
                    continue
                trackings = [Tracking(event.source, event.position) for event in fresh]
                failpoint("batch.before_commit")  # decided, nothing stored
                try:
                    recordings = self.events.put(new_events, **{TRACKINGS: trackings})
                except IntegrityError:
                    # A message of the batch handled before or concurrently, or a concurrent
                    # version of an aggregate: the next turn decides again on what was stored.
                    checked = True
                    continue
            self._notify(recordings)
            return len(fresh)
        first = events[0]
        raise ConcurrentUpdateError(
            f"{first.event_type} {first.message_id} (a batch of {len(events)})"
        )

    @contextmanager
    def batch(self) -> Iterator[Batch]:
        """Reads and decisions of one batch, in this thread: each load sees what the batch has
        kept (``Batch.keep``) of the aggregates so far."""
        repository = self.repository
        assert isinstance(repository, BatchRepository)
        with batch_scope(repository) as batch:
            yield batch

    def _untracked(self, events: Sequence[PublicEvent]) -> list[PublicEvent]:
        """``events`` not tracked yet, each once, in their order."""
        unique = _unique(events)
        done = self.tracked([Tracking(e.source, e.position) for e in unique])
        return [e for e in unique if (e.source, e.position) not in done]

    def tracked(self, trackings: Sequence[Tracking]) -> set[tuple[str, int]]:
        """Which of exactly these upstream positions were processed (the library's own check
        uses the highest), as (source, position) pairs."""
        recorder = self.recorder
        if not isinstance(recorder, (PostgresBatchRecorder, SQLiteBatchRecorder)):
            raise TypeError(f"no tracking lookup for {type(recorder).__name__}")
        return recorder.tracked(trackings)

    def is_tracked(self, tracking: Tracking) -> bool:
        """Exactly this upstream position was processed."""
        return bool(self.tracked([tracking]))

    def note_responsibility(
        self, message: PublicEvent, client_id: UUID, organisation: str, reason: str
    ) -> Aggregate:
        """Remembers the latest transfer of ``client_id`` (see shared.responsibility)."""
        from shared.responsibility import LatestResponsibility

        provenance = Provenance(
            actor=message.actor, organisation=message.organisation, occurred_at=message.occurred_at
        )
        record = self.stored(LatestResponsibility.create_id(client_id), LatestResponsibility)
        if record is not None:
            record.note(
                provenance=provenance,
                organisation=organisation,
                reason=reason,
                legal_basis=message.legal_basis,
                position=message.position,
            )
            return record
        return LatestResponsibility(
            client_id=client_id,
            provenance=provenance,
            organisation=organisation,
            reason=reason,
            legal_basis=message.legal_basis,
            position=message.position,
        )

    def latest_responsibility(self, client_id: UUID) -> Any:
        from shared.responsibility import LatestResponsibility

        return self.stored(LatestResponsibility.create_id(client_id), LatestResponsibility)

    def responsible_organisation(self, client_id: UUID) -> str | None:
        """Who answers for ``client_id`` now, as this service knows it (None: not known here).

        Access checks ask this; each service answers from its own records. The base answer is
        the latest transfer this service heard of; services override it with their cases."""
        latest = self.latest_responsibility(client_id)
        return str(latest.organisation) if latest is not None else None

    def processing_restricted(self, client_id: UUID) -> bool:
        """Whether ``client_id``'s processing is restricted (GDPR Art. 18), as this service
        recorded intake's decision (``shared.restriction_record``); intake overrides it with
        its own record of the client."""
        from shared.restriction_record import ProcessingRestriction

        record = self.stored(ProcessingRestriction.create_id(client_id), ProcessingRestriction)
        return record is not None and record.restricted

    def tracked_position(self, upstream: str) -> int:
        return self.recorder.max_tracking_id(upstream) or 0  # type: ignore[attr-defined]
