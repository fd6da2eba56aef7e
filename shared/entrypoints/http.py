"""The staff API: one FastAPI app over the routes of the services this process hosts."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import AbstractAsyncContextManager

from fastapi import FastAPI

from shared.api import install_error_handlers
from shared.eventstore import ServiceApplication
from shared.service import Service
from shared.settings import Settings

Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]]


def create_api(
    settings: Settings,
    services: Mapping[str, Service],
    applications: Mapping[str, ServiceApplication],
    lifespan: Lifespan | None = None,
    title: str = "Kotoutus staff API",
) -> FastAPI:
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

    @api.get("/health", tags=["system"], summary="Liveness and the services hosted here")
    def health() -> dict[str, object]:
        return {"status": "ok", "services": sorted(applications)}

    return api
