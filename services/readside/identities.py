"""Who a client is, for the reports that must name the person (the state's compensation, the
national data store): the sealed name, identity code and birth date of the names projection,
opened with the client's read-side key. An erased client has none."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from uuid import UUID

from sqlalchemy import Engine, select

from services.readside.names import NameSeal
from services.readside.tables import client_names, name_keys

CHUNK = 500  # client ids per query (SQLite's limit on bound parameters)


@dataclass(frozen=True)
class Identity:
    given_names: str | None
    family_name: str | None
    identity_code: str | None
    birth_date: date | None


def identities(engine: Engine, seal: NameSeal, client_ids: Iterable[UUID]) -> dict[UUID, Identity]:
    """The identity of each client in ``client_ids`` that the read side knows and that is not
    erased (an erased client is simply absent)."""
    wanted = sorted({str(client_id) for client_id in client_ids})
    found: dict[UUID, Identity] = {}
    with engine.connect() as connection:
        for start in range(0, len(wanted), CHUNK):
            rows = connection.execute(
                select(client_names, name_keys.c.wrapped)
                .join(name_keys, name_keys.c.client_id == client_names.c.client_id)
                .where(client_names.c.client_id.in_(wanted[start : start + CHUNK]))
                .where(client_names.c.erased.is_(False))
            )
            for row in rows:
                client_id = UUID(row.client_id)
                given, family, code, born = (
                    seal.open(client_id, bytes(row.wrapped), sealed)
                    for sealed in (
                        row.given_names,
                        row.family_name,
                        row.identity_code,
                        row.birth_date,
                    )
                )
                found[client_id] = Identity(
                    given_names=given,
                    family_name=family,
                    identity_code=code,
                    birth_date=None if born is None else date.fromisoformat(born),
                )
    return found
