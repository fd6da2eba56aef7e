"""The retention clocks of one service's clients, as its log has told them: which class's clock
started on which day, the legal holds in force and lifted, and what already went. Pure: the
service's reader feeds it from stored events, and ``due`` takes the day as an argument. Kept
between rounds in the service's store (``shared.retention.clock_store``), a client's clocks as
one JSON object: a page of the log loads the clients it touches (``load``), and ``changed``
says what to write back."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from uuid import UUID

from shared.retention.classes import EndsIn, RetentionClass
from shared.retention.schedule import Expiry, Hold, expiry, is_due


@dataclass(frozen=True)
class Due:
    """One class of one client: when it goes (None while held) and whether it is due today."""

    client_id: UUID
    retention_class: str
    record: str | None  # one record's own clock in the class (a letter), or None: the client's
    clock_started_on: date
    goes_on: date | None
    held_by: tuple[str, ...]  # the reasons of the holds in force
    ends_in: EndsIn
    rule: str
    due: bool


@dataclass
class _Client:
    started: dict[str, date] = field(default_factory=dict)
    # Every hold in order, by its id: an id placed again after it was lifted is another hold
    # (both stopped the clock).
    holds: list[tuple[str, Hold]] = field(default_factory=list)
    gone: set[str] = field(default_factory=set)
    # Letters with sealed details not yet gone: message id → the key they are sealed under
    # (a letter's events after its scheduling do not repeat it; notifications only).
    letters: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "started": {name: day.isoformat() for name, day in self.started.items()},
            "holds": [
                [hold_id, h.reason, h.placed_on.isoformat(), _iso(h.lifted_on)]
                for hold_id, h in self.holds
            ],
            "gone": sorted(self.gone),
            "letters": self.letters,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> _Client:
        return cls(
            started={name: date.fromisoformat(day) for name, day in data["started"].items()},
            holds=[
                (hold_id, Hold(reason, date.fromisoformat(placed), _day(lifted)))
                for hold_id, reason, placed, lifted in data["holds"]
            ],
            gone=set(data["gone"]),
            letters=dict(data.get("letters", {})),
        )


def _iso(day: date | None) -> str | None:
    return None if day is None else day.isoformat()


def _day(text: str | None) -> date | None:
    return None if text is None else date.fromisoformat(text)


Load = Callable[[UUID], "dict[str, Any] | None"]


class ClockState:
    def __init__(self, load: Load | None = None) -> None:
        self._clients: dict[UUID, _Client] = {}
        self._load = load  # a client's stored clocks, on first touch
        self._changed: set[UUID] = set()
        # Expiries read from the log whose destruction is still to be confirmed (after a
        # crash between the record and the destruction, the next round's destruction mends
        # it).
        self._to_confirm: list[tuple[UUID, str]] = []

    def changed(self) -> dict[UUID, dict[str, Any]]:
        """The clocks of the clients changed since this state was made, as stored."""
        return {client_id: self._clients[client_id].to_json() for client_id in self._changed}

    def expired(self, client_id: UUID, name: str) -> None:
        """The log records that ``name`` (a class, or one record's key in it) went."""
        self.gone(client_id, name)
        self._to_confirm.append((client_id, name))

    def take_expired(self) -> list[tuple[UUID, str]]:
        taken, self._to_confirm = self._to_confirm, []
        return taken

    def _known(self, client_id: UUID) -> _Client:
        client = self._clients.get(client_id)
        if client is None:
            stored = self._load(client_id) if self._load is not None else None
            client = _Client.from_json(stored) if stored is not None else _Client()
            self._clients[client_id] = client
        return client

    def _of(self, client_id: UUID) -> _Client:
        """The client's clocks, to be changed."""
        self._changed.add(client_id)
        return self._known(client_id)

    def remember_letter(self, client_id: UUID, message_id: str, key: str) -> None:
        self._of(client_id).letters[str(message_id)] = key

    def letter_key(self, client_id: UUID, message_id: str) -> str | None:
        return self._known(client_id).letters.get(str(message_id))

    def forget_letters(self, client_id: UUID, key: str | None = None) -> None:
        """Letters whose details went (``key``), or all of the client's (None)."""
        letters = self._of(client_id).letters
        for message_id in [m for m, k in letters.items() if key is None or k == key]:
            del letters[message_id]

    def start(self, client_id: UUID, retention_class: str, on: date) -> None:
        """The class's clock starts (again: a later start replaces the earlier)."""
        self._of(client_id).started[retention_class] = on

    def stop(self, client_id: UUID, name: str) -> None:
        """The clock stops until started again (the record is in use again: a letter resent)."""
        self._of(client_id).started.pop(name, None)

    def hold(self, client_id: UUID, hold_id: str, reason: str, on: date) -> None:
        holds = self._of(client_id).holds
        if not any(name == hold_id and h.lifted_on is None for name, h in holds):
            holds.append((hold_id, Hold(reason, on)))

    def lift(self, client_id: UUID, hold_id: str, on: date) -> None:
        holds = self._of(client_id).holds
        for index, (name, placed) in enumerate(holds):
            if name == hold_id and placed.lifted_on is None:
                holds[index] = (name, Hold(placed.reason, placed.placed_on, on))

    def gone(self, client_id: UUID, retention_class: str | None = None) -> None:
        """The class went (None: everything of the client, as on an erasure)."""
        client = self._of(client_id)
        if retention_class is None:
            client.started.clear()
        else:
            client.gone.add(retention_class)
            client.started.pop(retention_class, None)

    def report(self, classes: dict[str, RetentionClass], today: date) -> list[Due]:
        """Every running clock of a known class, with when it ends and whether it has."""
        return report_of(self._clients.items(), classes, today)


def report_of(
    clients: Iterable[tuple[UUID, _Client]],
    classes: dict[str, RetentionClass],
    today: date,
    *,
    only_due: bool = False,
) -> list[Due]:
    """Every running clock of ``clients`` of a known class (``only_due``: those due today)."""
    found: list[Due] = []
    for client_id, client in clients:
        found.extend(d for d in _dues(client_id, client, classes, today) if d.due or not only_due)
    return sorted(found, key=lambda d: (d.goes_on or date.max, str(d.client_id)))


def stored_clients(states: Iterable[tuple[UUID, dict[str, Any]]]) -> Iterable[tuple[UUID, _Client]]:
    return ((client_id, _Client.from_json(state)) for client_id, state in states)


def _dues(
    client_id: UUID, client: _Client, classes: dict[str, RetentionClass], today: date
) -> Iterable[Due]:
    holds = [placed for _, placed in client.holds]
    for name, started in client.started.items():
        # A record's own clock is named "<class>/<record id>" (shared.client_keys).
        class_name, _, record = name.partition("/")
        cls = classes.get(class_name)
        if cls is None or name in client.gone:
            continue
        ends: Expiry | None = expiry(cls.period, started, holds)
        yield Due(
            client_id=client_id,
            retention_class=class_name,
            record=record or None,
            clock_started_on=started,
            goes_on=None if ends is None else ends.goes_on,
            held_by=tuple(h.reason for h in holds if h.lifted_on is None),
            ends_in=cls.ends_in,
            rule=cls.rule,
            due=is_due(ends, today),
        )
