"""Which clients' processing is restricted (GDPR Art. 18), as the caseload knows it: their
data stays in the read side, and every list, view and export leaves them out until the
restriction is lifted."""

from __future__ import annotations

from collections.abc import Mapping, Set
from typing import TypeVar
from uuid import UUID

from sqlalchemy import Engine, select

from services.readside.tables import caseload
from shared.data_subject import ProcessingRestrictedError

T = TypeVar("T")


def restricted_clients(engine: Engine) -> set[UUID]:
    with engine.connect() as connection:
        found = connection.execute(
            select(caseload.c.client_id).where(caseload.c.restricted.is_(True))
        ).scalars()
        return {UUID(client_id) for client_id in found}


def is_restricted(engine: Engine, client_id: UUID) -> bool:
    with engine.connect() as connection:
        found = connection.execute(
            select(caseload.c.restricted).where(caseload.c.client_id == str(client_id))
        ).scalar()
    return bool(found)


def refuse_if_restricted(engine: Engine, client_id: UUID) -> None:
    """A read of one client's data: answered only with the fact of the restriction."""
    if is_restricted(engine, client_id):
        raise ProcessingRestrictedError()


def without_restricted(records: Mapping[UUID, T], restricted: Set[UUID]) -> dict[UUID, T]:
    """``records`` less the restricted clients' (a report leaves them out)."""
    return {
        client_id: record for client_id, record in records.items() if client_id not in restricted
    }
