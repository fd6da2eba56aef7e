"""The 1 Jan 2025 handover of the TE offices' integration clients, as data: a plan that a
dry run reports and a real run carries out, one ResponsibilityTransferred per client."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from uuid import UUID

from pydantic import BaseModel, ConfigDict

from services.intake.model import ClientFacts
from shared.clock import HELSINKI
from shared.law.rulebook import RuleBook, RuleRef
from shared.values import OrganisationKind


@dataclass(frozen=True)
class HandoverLaw:
    """The handover rule as both its run and a late decision use it: when, from which kind
    of organisation to which, and on what grounds."""

    on: date
    office: OrganisationKind
    jobseekers_to: OrganisationKind
    others_to: OrganisationKind
    legal_basis: tuple[RuleRef, ...]
    citations: tuple[str, ...]

    @classmethod
    def in_force(cls, book: RuleBook, day: date) -> HandoverLaw:
        """Raises ``NoRuleInForceError`` before the handover."""
        rule = book.in_force("handover.te_office", day)
        on: date = rule.value("handover_on")
        responsibility = book.in_force("responsibility.assessment", on)
        return cls(
            on=on,
            office=OrganisationKind(rule.value("from")),
            jobseekers_to=OrganisationKind(rule.value("jobseeker")),
            others_to=OrganisationKind(rule.value("other")),
            legal_basis=(rule.ref, responsibility.ref),
            citations=(rule.citation, responsibility.citation),
        )

    @property
    def moment(self) -> datetime:
        """When the offices ceased, in Finland: the business time of every transfer."""
        return datetime.combine(self.on, time.min, HELSINKI)

    def successor(self, facts: ClientFacts) -> OrganisationKind:
        return self.jobseekers_to if facts.registered_jobseeker else self.others_to


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
