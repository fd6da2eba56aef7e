"""The read side's projections as plug-ins: each declares its tables and applies one public
event to them; the projector (``services.readside.projector``) runs them in its list's order,
in one transaction with the event's inbox row, and rebuilds the ones asked for.

A projection may read the tables of one before it in the list (the caseload folds the stored
timeline), never of one after it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar

from sqlalchemy import Connection, Table

from shared.contracts import PublicEvent


class Rebuild(ABC):
    """One projection being built again, in the rebuild's transaction: every event of the
    history is ``add``-ed (with its personal fields), then ``finish`` completes it."""

    @abstractmethod
    def add(self, event: PublicEvent) -> None: ...

    def finish(self) -> None:
        return None


class Projection(ABC):
    name: ClassVar[str]
    """What ``kotoutus projections rebuild NAME`` calls it."""
    tables: ClassVar[tuple[Table, ...]]
    """The tables it writes: created at start, locked while any projection is rebuilt."""
    rebuilt_with: ClassVar[frozenset[str]]
    """The names whose rebuild rebuilds it too (its own, unless it says otherwise)."""

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        if "name" in cls.__dict__ and "rebuilt_with" not in cls.__dict__:
            cls.rebuilt_with = frozenset({cls.name})

    def prepare(self, connection: Connection) -> None:
        """Brings tables an older version made up to date (after every table is created)."""
        return None

    @abstractmethod
    def apply(self, connection: Connection, event: PublicEvent) -> None:
        """Applies a public event seen for the first time (the inbox says so)."""

    @abstractmethod
    def rebuild(self, connection: Connection) -> Rebuild:
        """Empties what it will build again and returns what takes the history."""


class Replaying(Rebuild):
    """A rebuild that applies each event of the history as live delivery would."""

    def __init__(self, projection: Projection, connection: Connection) -> None:
        self.projection = projection
        self.connection = connection

    def add(self, event: PublicEvent) -> None:
        self.projection.apply(self.connection, event)


BATCH = 1000  # rows per multi-row insert when rebuilding
