"""What every `kotoutus report …` command shares: the read side it reads, and the access-log
rows its reads leave (under the operating-system user)."""

from __future__ import annotations

import getpass
from collections.abc import Iterable
from uuid import UUID

from services.readside.projector import Projector
from shared.clock import utc_now
from shared.settings import Settings


def log_access(settings: Settings, what: str, purpose: str | None, clients: Iterable[UUID]) -> None:
    """One access-log row per client the report named (one with none if it named nobody)."""
    from shared.auth.access_log import AccessEntry, AccessLog

    log = AccessLog.for_settings(settings)
    try:
        now = utc_now()
        named: list[str | None] = [str(client) for client in clients] or [None]
        log.append(
            *(
                AccessEntry(
                    at=now,
                    actor=f"os:{getpass.getuser()}",
                    role="cli",
                    organisation=None,
                    client_id=client,
                    what=what,
                    purpose=purpose,
                    source="cli",
                    outcome=200,
                )
                for client in named
            )
        )
    finally:
        log.close()


def read_side(settings: Settings) -> Projector:
    from services.readside.database import engine_for
    from services.readside.names import NameSeal
    from shared.crypto import master_key

    return Projector(engine_for(settings), NameSeal(master_key(settings)))
