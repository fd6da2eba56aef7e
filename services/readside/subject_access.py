"""The data subject's copy (GDPR Art. 15): everything the read side holds about a person,
gathered from its own projections — the timeline, which folds every public event of every
service about the client, the caseload row, and the names projection's sealed identity
(opened with the read side's own keys) — and the access log's reads of the client.

No other service's store is read: what a service keeps only in its own store (the contact
details intake seals, the addresses of letters notifications seals) is named in the copy as
held elsewhere (``HELD_ELSEWHERE``), so the person knows to whom else to turn.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel, Field

from shared.auth.access_log import AccessEntry
from shared.contracts import PublicEvent
from shared.contracts import events as contracts

HELD_ELSEWHERE = (
    "contact_details",  # intake: email, phone, address, sealed with the client's key
    "letter_addresses",  # notifications: where each letter went, sealed with the client's key
)
"""What Kotoutus holds about the person outside the read side (ids of catalogue texts)."""

# Which section of the copy a service's events go to.
_SECTIONS = {
    "intake": "client",
    "assessment": "assessments",
    "plans": "plans",
}


class Identity(BaseModel):
    given_names: str | None
    family_name: str | None
    identity_code: str | None
    birth_date: date | None


class Record(BaseModel):
    """One thing recorded about the person: what, when, by whom, for which organisation, on
    which legal basis."""

    occurred_at: datetime = Field(description="When it happened (business time)")
    recorded_at: datetime = Field(description="When it was stored")
    source: str = Field(description="The service that recorded it")
    event_type: str
    actor: str
    organisation: str
    legal_basis: list[str] = Field(description="The rules cited, as their citations")
    data: dict[str, Any]


class Letter(BaseModel):
    """A message about the person: to whom (a reference, never an address), how, its outcome."""

    at: datetime
    kind: str
    audience: str
    channel: str
    recipient: str
    outcome: str = Field(examples=["sent", "failed"])
    attempts: int


class Read(BaseModel):
    """One logged use of the person's data (Act 906/2019 §17)."""

    at: datetime
    actor: str | None
    role: str | None
    organisation: str | None
    what: str
    purpose: str | None
    outcome: int


class Reader(BaseModel):
    """Someone who read the person's data, and when."""

    actor: str
    role: str | None
    organisation: str | None
    reads: int
    first_at: datetime
    last_at: datetime


class Recipient(BaseModel):
    """Someone the person's data was disclosed to (GDPR Art. 15(1)(c)): a partner notified,
    staff reminded, an organisation that answered for the client."""

    recipient: str
    audience: str = Field(examples=["partner", "staff", "client", "organisation"])
    times: int
    first_at: datetime
    last_at: datetime


class SubjectAccessCopy(BaseModel):
    client_id: UUID
    made_at: datetime
    restricted: bool = Field(description="Processing is restricted now (GDPR Art. 18)")
    identity: Identity | None = Field(description="null once the person is erased")
    status: dict[str, Any] | None = Field(
        description="The client's state as the caseload folds it (null: nothing known)"
    )
    facts: dict[str, Any] | None = Field(description="The facts as last stated")
    client: list[Record] = Field(description="Registration, facts, responsibility, rights")
    assessments: list[Record]
    plans: list[Record]
    reminders: list[Record] = Field(description="Deadlines notifications reminded staff of")
    letters: list[Letter]
    recipients: list[Recipient]
    readers: list[Reader] = Field(description="Who read the person's data (successful reads)")
    reads: list[Read] = Field(description="Every logged use, refusals included, oldest first")
    held_elsewhere: list[str] = Field(
        description="Kinds of data kept outside the read side, asked for from their service"
    )

    @property
    def records(self) -> list[Record]:
        return [*self.client, *self.assessments, *self.plans, *self.reminders]


def record_of(event: PublicEvent) -> Record:
    return Record(
        occurred_at=event.occurred_at,
        recorded_at=event.recorded_at,
        source=event.source,
        event_type=event.event_type,
        actor=event.actor.id,
        organisation=event.organisation,
        legal_basis=[rule.citation for rule in event.legal_basis],
        data=event.data.model_dump(mode="json", exclude={"client_id"}),
    )


def subject_access_copy(
    client_id: UUID,
    made_at: datetime,
    timeline: Sequence[PublicEvent],
    identity: Identity | None,
    status: dict[str, Any] | None,
    reads: Iterable[AccessEntry],
) -> SubjectAccessCopy:
    """The copy from the read side's holdings of the client, and the access log's reads."""
    sections: dict[str, list[Record]] = {"client": [], "assessments": [], "plans": []}
    reminders: list[Record] = []
    letters: list[Letter] = []
    facts: dict[str, Any] | None = None
    restricted = False
    for event in timeline:
        match event:
            case contracts.NotificationSent() | contracts.NotificationFailed():
                letters.append(_letter(event))
            case contracts.ReminderScheduled() | contracts.ReminderCancelled():
                reminders.append(record_of(event))
            case _:
                sections.setdefault(_SECTIONS.get(event.source, "client"), []).append(
                    record_of(event)
                )
        if isinstance(event, contracts.ProcessingRestricted | contracts.RestrictionLifted):
            restricted = isinstance(event, contracts.ProcessingRestricted)
        if isinstance(event, contracts.ClientRegistered):
            facts = event.data.client_facts.model_dump(mode="json")
        elif isinstance(event, contracts.ClientFactsChanged):
            facts = event.data.facts.model_dump(mode="json")
    logged = [_read(entry) for entry in reads]
    return SubjectAccessCopy(
        client_id=client_id,
        made_at=made_at,
        restricted=restricted,
        identity=identity,
        status=status,
        facts=facts,
        client=sections["client"],
        assessments=sections["assessments"],
        plans=sections["plans"],
        reminders=reminders,
        letters=letters,
        recipients=_recipients(timeline),
        readers=_readers(logged),
        reads=logged,
        held_elsewhere=list(HELD_ELSEWHERE),
    )


def _letter(event: contracts.NotificationSent | contracts.NotificationFailed) -> Letter:
    data = event.data
    return Letter(
        at=event.occurred_at,
        kind=data.kind,
        audience=data.audience,
        channel=data.channel,
        recipient=data.recipient,
        outcome="sent" if isinstance(event, contracts.NotificationSent) else "failed",
        attempts=data.attempts,
    )


def _read(entry: AccessEntry) -> Read:
    return Read(
        at=entry.at,
        actor=entry.actor,
        role=entry.role,
        organisation=entry.organisation,
        what=entry.what,
        purpose=entry.purpose,
        outcome=entry.outcome,
    )


def _readers(reads: Sequence[Read]) -> list[Reader]:
    """Each one who read the data (a refusal disclosed nothing), in the order they first did."""
    found: dict[tuple[str, str | None, str | None], Reader] = {}
    for read in reads:
        if read.actor is None or read.outcome >= 400:
            continue
        key = (read.actor, read.role, read.organisation)
        known = found.get(key)
        if known is None:
            found[key] = Reader(
                actor=read.actor,
                role=read.role,
                organisation=read.organisation,
                reads=1,
                first_at=read.at,
                last_at=read.at,
            )
        else:
            found[key] = known.model_copy(
                update={"reads": known.reads + 1, "last_at": max(known.last_at, read.at)}
            )
    return list(found.values())


def _recipients(timeline: Sequence[PublicEvent]) -> list[Recipient]:
    """Who the data went to: the recipient of every message sent, and every organisation that
    answered for the client (the data was theirs to use), in the order first disclosed."""
    found: dict[tuple[str, str], Recipient] = {}

    def note(recipient: str, audience: str, at: datetime) -> None:
        known = found.get((recipient, audience))
        if known is None:
            found[(recipient, audience)] = Recipient(
                recipient=recipient, audience=audience, times=1, first_at=at, last_at=at
            )
        else:
            found[(recipient, audience)] = known.model_copy(
                update={"times": known.times + 1, "last_at": max(known.last_at, at)}
            )

    for event in timeline:
        match event:
            case contracts.NotificationSent(data=data):
                note(data.recipient, data.audience, event.occurred_at)
            case contracts.ResponsibilityAssigned(data=data):
                note(data.organisation, "organisation", event.occurred_at)
            case contracts.ResponsibilityTransferred(data=data):
                note(data.to_organisation, "organisation", event.occurred_at)
    return list(found.values())
