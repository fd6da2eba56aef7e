"""The 1 Jan 2025 handover of the TE offices' integration clients, as data: a plan that a
dry run reports and a real run carries out, one ResponsibilityTransferred per client."""

from __future__ import annotations

from datetime import date
from uuid import UUID

from pydantic import BaseModel, ConfigDict


class HandoverItem(BaseModel):
    model_config = ConfigDict(frozen=True)

    client_id: UUID
    from_organisation: str
    to_organisation: str
    registered_jobseeker: bool


class HandoverReport(BaseModel):
    """What the handover did, or would do (no personal data: ids and organisations only)."""

    handover_on: date
    dry_run: bool
    legal_basis: list[str]
    transferred: list[HandoverItem]
    count: int
