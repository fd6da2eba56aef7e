"""The read side's projections as plug-ins: each declares its tables and applies a batch of
public events to them; the projector (``services.readside.projector``) runs them in its list's
order, in one transaction with the batch's inbox rows, and rebuilds the ones asked for.

A projection takes the batch whole (``apply``): it reads the rows the batch touches in a few
queries, applies the events to them in the batch's order, and writes each row back once — so a
row touched by several events of a batch ends as if they had come one by one. It holds nothing
between calls: every row lives in the database.

A projection may read the tables of one before it in the list (the caseload refolds a client
from the stored timeline), never of one after it; by then the one before has applied the
whole batch.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import ClassVar

from sqlalchemy import Connection, Table

from shared.contracts import PublicEvent


class Rebuild(ABC):
    """One projection being built again, in the rebuild's transaction: the history is
    ``add``-ed chunk by chunk (with its personal fields), then ``finish`` completes it."""

    @abstractmethod
    def add(self, history: Sequence[PublicEvent]) -> None: ...

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
    def apply(self, connection: Connection, batch: Sequence[PublicEvent]) -> None:
        """Applies events seen for the first time (the inbox says so), in the batch's order."""

    @abstractmethod
    def rebuild(self, connection: Connection, rebuilding: frozenset[str]) -> Rebuild:
        """Empties what it will build again and returns what takes the history.
        ``rebuilding``: the names of every projection rebuilt alongside (itself included)."""


class Applying(Rebuild):
    """A rebuild that applies each chunk of the history as live delivery applies a batch."""

    def __init__(self, projection: Projection, connection: Connection) -> None:
        self.projection = projection
        self.connection = connection

    def add(self, history: Sequence[PublicEvent]) -> None:
        self.projection.apply(self.connection, history)
