"""The retention clocks of one service's clients, as its log has told them: which class's clock
started on which day, the legal holds in force and lifted, and what already went. Pure: the
service's reader feeds it from stored events, and ``due`` takes the day as an argument."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
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


class ClockState:
    def __init__(self) -> None:
        self._clients: dict[UUID, _Client] = {}
        # Expiries read from the log whose destruction is still to be confirmed: each is made
        # sure of once per process (after a crash between the record and the destruction,
        # the next round's destruction mends it).
        self._to_confirm: list[tuple[UUID, str]] = []

    def expired(self, client_id: UUID, name: str) -> None:
        """The log records that ``name`` (a class, or one record's key in it) went."""
        self.gone(client_id, name)
        self._to_confirm.append((client_id, name))

    def take_expired(self) -> list[tuple[UUID, str]]:
        taken, self._to_confirm = self._to_confirm, []
        return taken

    def _of(self, client_id: UUID) -> _Client:
        return self._clients.setdefault(client_id, _Client())

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
        found: list[Due] = []
        for client_id, client in self._clients.items():
            holds = [placed for _, placed in client.holds]
            for name, started in client.started.items():
                # A record's own clock is named "<class>/<record id>" (shared.client_keys).
                class_name, _, record = name.partition("/")
                cls = classes.get(class_name)
                if cls is None or name in client.gone:
                    continue
                ends: Expiry | None = expiry(cls.period, started, holds)
                found.append(
                    Due(
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
                )
        return sorted(found, key=lambda d: (d.goes_on or date.max, str(d.client_id)))

    def due(self, classes: dict[str, RetentionClass], today: date) -> list[Due]:
        return [item for item in self.report(classes, today) if item.due]
