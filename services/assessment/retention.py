"""Assessment's retention timer: the interview's notes (class ``assessment_findings``) go when
their period runs out, counted from the closure of the client relationship, while the client's
identity may stay (the notes have a key of their own class, ``shared.client_keys``). Intake's
``ClientClosed``, ``LegalHoldPlaced`` and ``LegalHoldLifted`` are recorded in assessment's own
store (``FindingsRetention``), so the timer is kept from this service's log alone."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from services.assessment.findings_retention import FindingsRetention
from services.assessment.sealing import RETENTION_CLASS
from shared.clock import utc_now
from shared.contracts import PublicEvent
from shared.contracts import events as contracts
from shared.retention.classes import retention_classes
from shared.retention.clocks import ClockState, Due
from shared.retention.watch import RetentionWatch, business_day
from shared.values import Provenance

if TYPE_CHECKING:
    from services.assessment.application import AssessmentApplication

SERVICE = "assessment"


def _record(app: AssessmentApplication, message: PublicEvent, client_id: UUID) -> FindingsRetention:
    """The client's clock, made on the first message about it."""
    found = app.stored(FindingsRetention.create_id(client_id), FindingsRetention)
    if found is not None:
        return found
    return FindingsRetention(client_id=client_id, provenance=_provenance(message))


def _provenance(message: PublicEvent) -> Provenance:
    return Provenance(
        actor=message.actor, organisation=message.organisation, occurred_at=message.occurred_at
    )


def on_client_closed(
    app: AssessmentApplication, message: contracts.ClientClosed
) -> Sequence[Aggregate]:
    record = _record(app, message, message.data.client_id)
    record.note_closure(
        provenance=_provenance(message), closed_on=business_day(message.occurred_at)
    )
    return (record,)


def on_clients_merged(
    app: AssessmentApplication, message: contracts.ClientsMerged
) -> Sequence[Aggregate]:
    """The duplicate's relationship closed with the merge (intake starts its identity clock on
    ``MarkedDuplicate``, which stays within intake): its notes' clock starts the same day."""
    record = _record(app, message, message.data.duplicate_id)
    record.note_closure(
        provenance=_provenance(message), closed_on=business_day(message.occurred_at)
    )
    return (record,)


def on_legal_hold_placed(
    app: AssessmentApplication, message: contracts.LegalHoldPlaced
) -> Sequence[Aggregate]:
    record = _record(app, message, message.data.client_id)
    record.place_hold(
        provenance=_provenance(message), hold_id=message.data.hold_id, reason=message.data.reason
    )
    return (record,)


def on_legal_hold_lifted(
    app: AssessmentApplication, message: contracts.LegalHoldLifted
) -> Sequence[Aggregate]:
    record = _record(app, message, message.data.client_id)
    record.lift_hold(provenance=_provenance(message), hold_id=message.data.hold_id)
    return (record,)


def read(state: ClockState, _: UUID, name: str, decode: Callable[[], Any]) -> None:
    """Feeds the clocks from ``FindingsRetention``'s stored events."""
    if not name.startswith("FindingsRetention."):
        return
    event = decode()
    day = business_day(event.provenance.occurred_at)
    match name.split(".", 1)[1]:
        case "ClientClosed":
            state.start(event.client_id, RETENTION_CLASS, event.closed_on)
        case "HoldPlaced":
            state.hold(event.client_id, event.hold_id, event.reason, day)
        case "HoldLifted":
            state.lift(event.client_id, event.hold_id, day)
        case "Expired":
            state.expired(event.client_id, RETENTION_CLASS)


def findings_retention_watch(
    app: AssessmentApplication,
    clock: Callable[[], datetime] = utc_now,
    poll_seconds: float = 3600.0,
) -> RetentionWatch:
    classes = {
        name: cls
        for name, cls in retention_classes(app.settings).items()
        if name == RETENTION_CLASS and cls.owner == SERVICE
    }

    def expire(item: Due, today: date) -> bool:
        """Records the expiry, then destroys the notes' key of that class (the identity's
        keys elsewhere stay); a crash between is mended by the next round."""

        def decide(record: FindingsRetention) -> bool:
            return record.expire(
                provenance=Provenance.system(SERVICE, _organisation(app), clock()),
                retention_class=item.retention_class,
                rule=item.rule,
                expired_on=today,
            )

        record, now = app.decide(
            FindingsRetention.create_id(item.client_id), FindingsRetention, decide
        )
        if record.expired_on is not None:
            app.keys.forget(item.client_id, RETENTION_CLASS)
        return now

    def destroy(client_id: UUID, retention_class: str) -> None:
        app.keys.forget(client_id, retention_class)  # idempotent

    return RetentionWatch(
        app, classes, read, expire, clock=clock, poll_seconds=poll_seconds, destroy=destroy
    )


def _organisation(app: AssessmentApplication) -> str:
    return f"municipality:{app.settings.municipality_code}"
