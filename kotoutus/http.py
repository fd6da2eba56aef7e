"""The staff API: one FastAPI app over the routes of the services this process hosts."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AbstractAsyncContextManager
from typing import Annotated
from uuid import UUID

from fastapi import Depends, FastAPI, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import AwareDatetime

from kotoutus.registry import READ_SIDE
from shared import inconsistencies
from shared.api import Caller, install_error_handlers
from shared.auth.access import require
from shared.auth.access_log import AccessEntry, AccessLog
from shared.auth.access_recording import AccessRecording
from shared.auth.roles import Permission
from shared.auth.tokens import token_verifier
from shared.eventstore import ServiceApplication
from shared.iso_text import ISO_TEXT
from shared.messaging.consumers import Consumer
from shared.replay import replay
from shared.service import Service
from shared.settings import Settings

Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]]
Auditor = Annotated[Caller, Depends(require(Permission.AUDIT))]


def create_api(
    settings: Settings,
    services: Mapping[str, Service],
    applications: Mapping[str, ServiceApplication],
    lifespan: Lifespan | None = None,
    title: str = "Kotoutus staff API",
    projector: Consumer | None = None,
    read_routes: bool | None = None,
) -> FastAPI:
    """The routes of ``services``, and the read side's when this process hosts it (it does
    when given its ``projector``; ``read_routes`` forces them for documentation)."""
    access_log = AccessLog.for_settings(settings)

    @contextlib.asynccontextmanager
    async def running(app: FastAPI) -> AsyncIterator[None]:
        try:
            if lifespan is None:
                yield
            else:
                async with lifespan(app):
                    yield
        finally:
            access_log.close()

    api = FastAPI(
        title=title,
        version="0.1.0",
        description=(
            "Commands and reads for staff. Every call but `/health` carries a bearer token "
            "(`Authorization: Bearer …`; locally `kotoutus token issue`) whose subject, role and "
            "organisation decide what it may do; every read of a client's data is written to the "
            "access log. Every error is RFC 9457 problem details (`application/problem+json`) "
            "with texts in Finnish, Swedish and English; `Accept-Language` picks one."
        ),
        lifespan=running,
        # Every route's error answers are documented by shared.api (install_error_handlers).
    )
    api.state.settings = settings
    api.state.applications = dict(applications)
    api.state.tokens = token_verifier(settings)
    api.state.access_log = access_log
    api.add_middleware(AccessRecording, log=access_log)
    install_error_handlers(api)
    for service in services.values():
        if service.routes is not None:
            api.include_router(service.routes)
    api.state.projector = projector
    if read_routes or (read_routes is None and projector is not None):
        assert READ_SIDE.routes is not None
        api.include_router(READ_SIDE.routes)

    @api.get(
        "/audit/replay",
        tags=["audit"],
        summary="Public history as of an instant, as NDJSON (this process's services)",
        response_class=StreamingResponse,
    )
    def audit_replay(
        caller: Auditor,
        as_of: Annotated[
            AwareDatetime | None, Query(description="What was known then"), ISO_TEXT
        ] = None,
        client_id: Annotated[UUID | None, Query()] = None,
    ) -> StreamingResponse:
        nodes = {name: (services[name], applications[name]) for name in applications}
        lines = (
            event.model_dump_json() + "\n"
            for event in replay(nodes, as_of=as_of, client_id=client_id)
        )
        return StreamingResponse(lines, media_type="application/x-ndjson")

    @api.get(
        "/audit/access-log",
        tags=["audit"],
        summary="Who read which client's data, when, why and with what outcome (oldest first)",
    )
    def audit_access_log(
        caller: Auditor,
        request: Request,
        client_id: Annotated[UUID | None, Query()] = None,
        actor: Annotated[str | None, Query(max_length=200)] = None,
        since: Annotated[AwareDatetime | None, Query(), ISO_TEXT] = None,
        until: Annotated[AwareDatetime | None, Query(), ISO_TEXT] = None,
        limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
    ) -> list[AccessEntry]:
        log: AccessLog = request.app.state.access_log
        return log.query(client_id=client_id, actor=actor, since=since, until=until, limit=limit)

    @api.get("/health", tags=["system"], summary="Liveness and the services hosted here")
    def health() -> dict[str, object]:
        # Inconsistencies of our own records met since start (see `kotoutus doctor`).
        return {
            "status": "ok",
            "services": sorted(applications),
            "inconsistencies": inconsistencies.counts(),
        }

    return api
