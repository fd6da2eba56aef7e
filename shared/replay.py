"""Auditors' replay: the public history across services, in the order it was recorded, as of
any instant, for everyone or one client. Public events without their personal fields."""

from __future__ import annotations

import heapq
from collections.abc import Iterator, Mapping
from datetime import datetime
from uuid import UUID

from shared.contracts import PublicEvent
from shared.contracts.personal import without_personal
from shared.eventstore import ServiceApplication
from shared.service import Service


def _history(
    service: Service,
    app: ServiceApplication,
    as_of: datetime | None,
    client_id: UUID | None,
    personal: bool,
) -> Iterator[PublicEvent]:
    position = 0
    while notifications := app.recorder.select_notifications(position + 1, 1000):
        for notification in notifications:
            position = notification.id
            if not service.publishes.event_type_of(notification.topic):
                continue
            event = service.publishes.to_public(
                notification.id, app.mapper.to_domain_event(notification)
            )
            if event is None:
                continue
            if as_of is not None and event.recorded_at > as_of:
                continue  # not yet known then
            if client_id is not None and getattr(event.data, "client_id", None) != client_id:
                continue
            yield event if personal else without_personal(event)


def replay(
    nodes: Mapping[str, tuple[Service, ServiceApplication]],
    *,
    as_of: datetime | None = None,
    client_id: UUID | None = None,
    personal: bool = False,
) -> Iterator[PublicEvent]:
    """Merges the services' histories by record time. Each service's history keeps its log's
    order (which concurrent writers may leave a few milliseconds out of timestamp order).
    Personal fields are left out unless ``personal`` (projections being rebuilt need names)."""
    streams = [
        _history(service, app, as_of, client_id, personal) for service, app in nodes.values()
    ]
    yield from heapq.merge(*streams, key=lambda event: (event.recorded_at, event.source))
