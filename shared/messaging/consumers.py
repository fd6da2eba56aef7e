"""One consumer shape for every input of public events, whatever carries them.

A *consumer* is what a transport — RabbitMQ (``shared.messaging.consumer``) or the in-process
delivery of embedded mode (``shared.messaging.inprocess``) — hands public events to, parsed at
the transport's edge into their contract classes. It says which event types it takes, where it
is in each source's log, and handles a sequence of events exactly once each: a service through
its handler table and its application's tracking, the read side through its projections and
their inbox. The transports hand over batches (from the prefetch window on RabbitMQ, runs of
the log in-process), and a consumer stores a batch in one transaction, all or nothing: its
handlers do not know whether an event came alone.

A service's *handlers* are a table keyed by contract class, as cosmicpython's
``EVENT_HANDLERS``: each handler is typed with the contract it takes, so the type checker, not
an ``assert isinstance``, holds each handler to its event.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

from eventsourcing.domain import Aggregate

from shared.contracts.envelope import PublicEvent

if TYPE_CHECKING:
    from shared.eventstore import ServiceApplication

App = TypeVar("App")
E = TypeVar("E", bound=PublicEvent)

Handler = Callable[[App, E], Sequence[Aggregate]]


class Handlers(Generic[App]):
    """What a service does on each public event it takes: one handler per contract class.
    Called with the application and an event, it runs that event's handler (the shape the
    application's exactly-once ``process`` takes)."""

    def __init__(self) -> None:
        self._table: dict[type[PublicEvent], Callable[[App, Any], Sequence[Aggregate]]] = {}
        self._event_types: frozenset[str] = frozenset()  # asked for every event delivered

    def on(
        self, contract: type[E], handler: Callable[[App, E], Sequence[Aggregate]]
    ) -> Handlers[App]:
        if contract in self._table:
            raise ValueError(f"{contract.__name__} has a handler already")
        self._table[contract] = handler
        self._event_types = self._event_types | {contract.EVENT_TYPE}
        return self

    def __call__(self, app: App, event: PublicEvent) -> Sequence[Aggregate]:
        handler = self._table.get(type(event))
        if handler is None:
            raise LookupError(f"no handler for {event.event_type}")
        return handler(app, event)

    def __contains__(self, event_type: object) -> bool:
        return event_type in self.event_types

    def __bool__(self) -> bool:
        return bool(self._table)

    def __iter__(self) -> Iterator[type[PublicEvent]]:
        return iter(self._table)

    @property
    def event_types(self) -> frozenset[str]:
        return self._event_types


@dataclass(frozen=True)
class Subscription:
    """A consumer as the broker sees it: its queue's name, the event types bound to it, and
    what it does (the AsyncAPI document's words)."""

    name: str
    event_types: frozenset[str] | None  # None: every public event
    description: str


class Consumer(Protocol):
    """What either transport hands public events to."""

    @property
    def name(self) -> str:
        """Its queue's name on RabbitMQ, and its dead letters' consumer."""
        ...

    @property
    def event_types(self) -> frozenset[str] | None:
        """The public event types it takes; None: every one."""
        ...

    def position(self, source: str) -> int:
        """The highest position of ``source``'s log it has handled (where delivery resumes)."""
        ...

    def handle(self, events: Sequence[PublicEvent]) -> int:
        """Handles each event exactly once, all in one transaction: every one stored (or
        found a duplicate), or an error raised and none stored (the transport then splits the
        batch to find the event at fault). Returns how many were new (not duplicates)."""
        ...


def takes(consumer: Consumer, event_type: str) -> bool:
    wanted = consumer.event_types
    return wanted is None or event_type in wanted


@dataclass(frozen=True)
class ApplicationConsumer:
    """A service as a consumer: its handlers, applied with its application's tracking (a
    batch's effects and a tracking row per event in one transaction)."""

    name: str
    app: ServiceApplication
    handlers: Handlers[Any]

    @property
    def event_types(self) -> frozenset[str]:
        return self.handlers.event_types

    def position(self, source: str) -> int:
        return self.app.tracked_position(source)

    def handle(self, events: Sequence[PublicEvent]) -> int:
        return self.app.process_many(events, self.handlers)
