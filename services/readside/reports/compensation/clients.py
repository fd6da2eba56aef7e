"""Each client's facts for the state's compensation, folded from intake's public events in
record order: the latest facts, the homes by date, death, closing, erasure and merging."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from uuid import UUID

from services.readside.caseload import record_order
from services.readside.identities import Identity
from shared.contracts import PublicEvent
from shared.contracts import events as contracts
from shared.contracts.intake import ClientFacts
from shared.law import compensation as law

CLIENT_EVENTS = frozenset(
    contract.EVENT_TYPE
    for contract in (
        contracts.ClientRegistered,
        contracts.ClientFactsChanged,
        contracts.ClientClosed,
        contracts.ClientErased,
        contracts.ClientsMerged,
    )
)


@dataclass
class ClientRecord:
    client_id: UUID
    facts: ClientFacts = field(default_factory=ClientFacts)
    residence: list[law.Residence] = field(default_factory=list)
    died_on: date | None = None
    closed: bool = False
    erased: bool = False
    merged_into: UUID | None = None

    def note_facts(self, facts: ClientFacts, effective_on: date | None) -> None:
        if facts.deceased and not self.facts.deceased and effective_on is not None:
            self.died_on = effective_on
        if facts.home_municipality_since is not None and (
            facts.home_municipality,
            facts.home_municipality_since,
        ) != (self.facts.home_municipality, self.facts.home_municipality_since):
            self.residence.append(
                law.Residence(facts.home_municipality_since, facts.home_municipality)
            )
        self.facts = facts

    def person(self, identity: Identity | None) -> law.Person:
        return law.Person(
            client_id=self.client_id,
            facts=self.facts,
            birth_date=identity.birth_date if identity else None,
            residence=tuple(self.residence),
            died_on=self.died_on,
        )


def fold_clients(events: Iterable[PublicEvent]) -> dict[UUID, ClientRecord]:
    records: dict[UUID, ClientRecord] = {}

    def record(client_id: UUID) -> ClientRecord:
        return records.setdefault(client_id, ClientRecord(client_id))

    for event in sorted(events, key=record_order):
        match event:
            case contracts.ClientRegistered(data=registered):
                record(registered.client_id).note_facts(
                    registered.client_facts, registered.relationship_started_on
                )
            case contracts.ClientFactsChanged(data=changed):
                record(changed.client_id).note_facts(changed.facts, changed.effective_on)
            case contracts.ClientClosed(data=closed):
                record(closed.client_id).closed = True
            case contracts.ClientErased(data=erased):
                record(erased.client_id).erased = True
            case contracts.ClientsMerged(data=merged):
                record(merged.duplicate_id).merged_into = merged.client_id
    return records


def client_of(event: PublicEvent) -> UUID:
    data: Any = event.data
    client_id: UUID = data.client_id
    return client_id


def survivor(client_id: UUID, records: Mapping[UUID, ClientRecord]) -> UUID:
    """The client that a chain of merges leaves ``client_id``'s history under."""
    seen = {client_id}
    record = records.get(client_id)
    while record is not None and record.merged_into is not None:
        client_id = record.merged_into
        if client_id in seen:
            break
        seen.add(client_id)
        record = records.get(client_id)
    return client_id
