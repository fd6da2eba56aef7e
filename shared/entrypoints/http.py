"""The staff API: one FastAPI app over the routes of the services this process hosts."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import AbstractAsyncContextManager
from typing import Annotated
from uuid import UUID

from fastapi import FastAPI, Query
from fastapi.responses import StreamingResponse
from pydantic import AwareDatetime

from shared.api import CallerDep, install_error_handlers
from shared.eventstore import ServiceApplication
from shared.readside.api import router as read_side_routes
from shared.readside.projector import Projector
from shared.replay import replay
from shared.service import Service
from shared.settings import Settings

Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]]


def create_api(
    settings: Settings,
    services: Mapping[str, Service],
    applications: Mapping[str, ServiceApplication],
    lifespan: Lifespan | None = None,
    title: str = "Kotoutus staff API",
    projector: Projector | None = None,
    read_routes: bool | None = None,
) -> FastAPI:
    """The routes of ``services``, and the read side's when this process hosts it (it does
    when given its ``projector``; ``read_routes`` forces them for documentation)."""
    api = FastAPI(
        title=title,
        version="0.1.0",
        description=(
            "Commands and reads for caseworkers. Every command names its actor in `X-Actor`; "
            "errors come with texts in Finnish, Swedish and English."
        ),
        lifespan=lifespan,
    )
    api.state.settings = settings
    api.state.applications = dict(applications)
    install_error_handlers(api)
    for service in services.values():
        if service.routes is not None:
            api.include_router(service.routes)
    api.state.projector = projector
    if read_routes or (read_routes is None and projector is not None):
        api.include_router(read_side_routes)

    @api.get(
        "/audit/replay",
        tags=["audit"],
        summary="Public history as of an instant, as NDJSON (this process's services)",
        response_class=StreamingResponse,
    )
    def audit_replay(
        caller: CallerDep,
        as_of: Annotated[AwareDatetime | None, Query(description="What was known then")] = None,
        client_id: Annotated[UUID | None, Query()] = None,
    ) -> StreamingResponse:
        nodes = {name: (services[name], applications[name]) for name in applications}
        lines = (
            event.model_dump_json() + "\n"
            for event in replay(nodes, as_of=as_of, client_id=client_id)
        )
        return StreamingResponse(lines, media_type="application/x-ndjson")

    @api.get("/health", tags=["system"], summary="Liveness and the services hosted here")
    def health() -> dict[str, object]:
        return {"status": "ok", "services": sorted(applications)}

    return api
