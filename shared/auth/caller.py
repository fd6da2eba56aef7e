"""Who is calling: the actor events are recorded under, their organisation and role."""

from __future__ import annotations

from pydantic import AwareDatetime, BaseModel

from shared.auth.roles import PERMISSIONS, Permission, Role
from shared.clock import utc_now
from shared.values import Actor, Provenance


class Caller(BaseModel):
    actor: Actor
    organisation: str
    record_source: str | None = None
    role: Role

    @property
    def permissions(self) -> frozenset[Permission]:
        return PERMISSIONS[self.role]

    def may(self, permission: Permission) -> bool:
        return permission in self.permissions

    def provenance(self, occurred_at: AwareDatetime | None = None) -> Provenance:
        return Provenance(
            actor=self.actor,
            organisation=self.organisation,
            occurred_at=occurred_at or utc_now(),
            source=self.record_source,
        )
