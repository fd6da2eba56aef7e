"""Which process of a service does a job that one process at a time must do, however many
are running.

- **Notifications' dispatcher** (``services.notifications.dispatcher``): any number of
  notifications processes may consume events and serve the API, but only one may send. Were
  two to send, each would take the other's attempt in flight for one left behind by a crashed
  process, and resend or fail it. On taking the lease it finds what the last holder left in
  flight in the timers' table (``shared.timer_store``) and treats it as interrupted.
- **A service's outbox relay** (``shared.messaging.relay``): two relays of one service would
  publish every event twice (the inboxes drop the copies, at the cost of handling them). On
  taking the lease it reads its saved position again, since the last holder moved it.

The holder holds a PostgreSQL advisory lock on a connection of its own. The lock lives as long
as that session, so when the process dies, or its connection does, another process takes the
lease within one poll (a host that vanishes without closing its socket: within about 20 s, see
``LIVENESS``). Embedded mode is one process, and it always holds the lease.
"""

from __future__ import annotations

import logging
from typing import Protocol

import psycopg
from psycopg.conninfo import make_conninfo

from shared.settings import Settings

log = logging.getLogger(__name__)


# A holder whose host or network vanishes without closing its socket must not keep the lock
# for the operating system's two hours: the server probes the session (and ends it, freeing
# the lock) within about 20 s, and the holder's own queries give up as soon.
LIVENESS: dict[str, str | int] = {
    "connect_timeout": 5,
    "keepalives": 1,
    "keepalives_idle": 10,
    "keepalives_interval": 5,
    "keepalives_count": 2,
    "tcp_user_timeout": 20_000,  # ms
    "options": "-c tcp_keepalives_idle=10 -c tcp_keepalives_interval=5"
    " -c tcp_keepalives_count=2 -c tcp_user_timeout=20000",
}


class Lease(Protocol):
    def hold(self) -> bool:
        """True while this process may do the job (taking the lease if it is free)."""

    def release(self) -> None: ...


class SoleProcess:
    """Embedded mode: the only process of the deployment."""

    def hold(self) -> bool:
        return True

    def release(self) -> None:
        pass


class PostgresLease:
    def __init__(self, database_url: str, name: str) -> None:
        self.database_url = database_url
        self.name = name
        self._connection: psycopg.Connection[tuple[object, ...]] | None = None
        self._held = False

    def hold(self) -> bool:
        try:
            if self._connection is None or self._connection.closed:
                self._held = False
                self._connection = psycopg.connect(
                    make_conninfo(self.database_url, **LIVENESS), autocommit=True
                )
            if self._held:
                # Still the same session, so still the lock: a lost session raises here.
                self._connection.execute("SELECT 1")
                return True
            row = self._connection.execute(
                "SELECT pg_try_advisory_lock(hashtext(%s))", (self.name,)
            ).fetchone()
            self._held = bool(row and row[0])
            if self._held:
                log.warning("this process now holds the lease %s", self.name)
            return self._held
        except psycopg.Error as error:
            if self._held:
                log.warning("lost the lease %s: %s", self.name, error)
            self.release()
            return False

    def release(self) -> None:
        self._held = False
        if self._connection is not None:
            self._connection.close()  # the session ends, and with it the lock
            self._connection = None


def lease_for(settings: Settings, service: str, job: str) -> Lease:
    """The lease of ``service``'s ``job`` in this deployment (one lock name per schema, so
    that deployments sharing a server do not hold each other's)."""
    if settings.database_url:
        return PostgresLease(settings.database_url, f"{settings.schema_for(service)}.{job}")
    return SoleProcess()
