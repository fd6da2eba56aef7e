"""Tables kept from a service's log in the service's own store, and how far the log has been
read into them: one row of ``timer_positions`` each (the deadline and "send at" timers of
``shared.timer_store``, the retention clocks of ``shared.retention.clock_store``).

A subclass makes and empties its own tables; this base keeps the position row: made with the
tables, advanced only from the position a page was read from (``_take``, in the page's own
transaction), and reset — the subclass's rows dropped, the log read again from its start —
when the row says the tables were read another way (``fingerprint``: another version, other
settings)."""

from __future__ import annotations

from typing import Any

from eventsourcing.persistence import IntegrityError, ProgrammingError
from eventsourcing.postgres import PostgresDatastore
from eventsourcing.sqlite import SQLiteDatastore
from psycopg import sql

from shared.batching import retried

POSITIONS = "timer_positions"


class ReadAnotherWayError(RuntimeError):
    """Another version (or other settings) has taken the tables over since this process made
    them: it reads the log otherwise, and this one must not write into them again (a rolling
    deploy's old process; it is stopped, not followed)."""

    def __init__(self, name: str) -> None:
        super().__init__(f"the {name} tables are read another way now; this process leaves them")


class PostgresPositioned:
    def __init__(self, datastore: PostgresDatastore, name: str, fingerprint: str) -> None:
        self.datastore = datastore
        self.name = name
        self.fingerprint = fingerprint
        self.positions = self.qualified(POSITIONS)
        try:
            self._create()
        except (IntegrityError, ProgrammingError):  # the library's wrappers of psycopg's
            # Two processes of the service starting at once: IF NOT EXISTS does not keep
            # PostgreSQL's catalogue from refusing the second; the first made them (a real
            # fault fails again).
            self._create()

    def qualified(self, table: str) -> sql.Composed:
        schema = sql.Identifier(self.datastore.schema or "public")
        return sql.SQL("{}.{}").format(schema, sql.Identifier(table))

    def _create_own(self, curs: Any) -> None:
        raise NotImplementedError

    def _drop_own(self, curs: Any) -> None:
        raise NotImplementedError

    @retried
    def _create(self) -> None:
        with self.datastore.transaction(commit=True) as curs:
            self._create_own(curs)
            curs.execute(
                sql.SQL(
                    "CREATE TABLE IF NOT EXISTS {} (timer text PRIMARY KEY,"
                    " position bigint NOT NULL, fingerprint text NOT NULL)"
                ).format(self.positions)
            )
            curs.execute(
                sql.SQL("INSERT INTO {} VALUES (%s, 0, %s) ON CONFLICT (timer) DO NOTHING").format(
                    self.positions
                ),
                (self.name, self.fingerprint),
            )
            curs.execute(
                sql.SQL(
                    "UPDATE {} SET position = 0, fingerprint = %s"
                    " WHERE timer = %s AND fingerprint <> %s"
                ).format(self.positions),
                (self.fingerprint, self.name, self.fingerprint),
            )
            if curs.rowcount == 1:  # read another way before: read again from the start
                self._drop_own(curs)

    @retried
    def position(self) -> int:
        """How far the log has been read into the tables."""
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(
                sql.SQL("SELECT position, fingerprint FROM {} WHERE timer = %s").format(
                    self.positions
                ),
                (self.name,),
            )
            row = curs.fetchone()
        if row is None:  # its row was deleted: made again, from the start
            self._create()
            return 0
        if row["fingerprint"] != self.fingerprint:
            raise ReadAnotherWayError(self.name)
        return int(row["position"])

    def _take(self, curs: Any, read_from: int, to: int) -> bool:
        """Moves the position to ``to`` if it is still ``read_from`` and the tables are still
        read this way (in the caller's transaction, which writes nothing else if not)."""
        curs.execute(
            sql.SQL(
                "UPDATE {} SET position = %s"
                " WHERE timer = %s AND position = %s AND fingerprint = %s"
            ).format(self.positions),
            (to, self.name, read_from, self.fingerprint),
        )
        return bool(curs.rowcount == 1)


class SQLitePositioned:
    def __init__(self, datastore: SQLiteDatastore, name: str, fingerprint: str) -> None:
        self.datastore = datastore
        self.name = name
        self.fingerprint = fingerprint
        self._create()

    def _create_own(self, c: Any) -> None:
        raise NotImplementedError

    def _drop_own(self, c: Any) -> None:
        raise NotImplementedError

    @retried
    def _create(self) -> None:
        with self.datastore.transaction(commit=True) as c:
            self._create_own(c)
            c.execute(
                f"CREATE TABLE IF NOT EXISTS {POSITIONS} (timer TEXT PRIMARY KEY,"
                " position INTEGER NOT NULL, fingerprint TEXT NOT NULL)"
            )
            c.execute(
                f"INSERT INTO {POSITIONS} VALUES (?, 0, ?) ON CONFLICT (timer) DO NOTHING",
                (self.name, self.fingerprint),
            )
            c.execute(
                f"UPDATE {POSITIONS} SET position = 0, fingerprint = ?"
                " WHERE timer = ? AND fingerprint <> ?",
                (self.fingerprint, self.name, self.fingerprint),
            )
            if c.sqlite_cursor.rowcount == 1:  # read another way before: again from the start
                self._drop_own(c)

    @retried
    def position(self) -> int:
        """How far the log has been read into the tables."""
        with self.datastore.transaction(commit=False) as c:
            c.execute(
                f"SELECT position, fingerprint FROM {POSITIONS} WHERE timer = ?", (self.name,)
            )
            row = c.fetchone()
        if row is None:  # its row was deleted: made again, from the start
            self._create()
            return 0
        if row[1] != self.fingerprint:
            raise ReadAnotherWayError(self.name)
        return int(row[0])

    def _take(self, c: Any, read_from: int, to: int) -> bool:
        """Moves the position to ``to`` if it is still ``read_from`` and the tables are still
        read this way (in the caller's transaction, which writes nothing else if not)."""
        c.execute(
            f"UPDATE {POSITIONS} SET position = ?"
            " WHERE timer = ? AND position = ? AND fingerprint = ?",
            (to, self.name, read_from, self.fingerprint),
        )
        return bool(c.sqlite_cursor.rowcount == 1)
