"""Logs every request to a route that reads a client's data: once, with the clients it
disclosed (``shared.auth.access_log``).

An ASGI middleware rather than a dependency: it sees the matched route and the final status,
refusals (401/403/404) included. The read is stored when the status is sent and before any of
the body is, so no client data leaves without its record."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

import anyio.to_thread
from fastapi.routing import APIRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.auth.access_log import AccessLog, AccessRequest
from shared.auth.caller import Caller
from shared.clock import utc_now

# Reads that are not under /clients/{client_id} but still disclose clients' data.
CLIENT_READS = frozenset(
    {
        "POST /clients/lookup",
        "GET /audit/replay",
        "GET /audit/access-log",
        "GET /caseload",
        "GET /notifications/failed",
        # Reports that name persons (681/2023 §59–61, §102(1); Decree 874/2024).
        "GET /reports/compensation",
        "GET /reports/compensation/old-law",
        "GET /reports/national-data-store",
        "GET /reports/national-data-store/completeness",
    }
)


def reads_client_data(method: str, path: str) -> bool:
    return (method == "GET" and path.startswith("/clients/{client_id}")) or (
        f"{method} {path}" in CLIENT_READS
    )


def _client_ids(scope: Scope, state: dict[str, Any]) -> list[str | None]:
    """The clients a read disclosed (a single None for a read of none)."""
    if "client_id" in scope.get("path_params", {}):
        return [str(scope["path_params"]["client_id"])[:100]]
    if state.get("access_client_ids"):  # e.g. the clients on a page of the caseload
        return [str(client_id)[:100] for client_id in state["access_client_ids"]]
    if state.get("access_client_id") is not None:  # e.g. the client a lookup found
        return [str(state["access_client_id"])]
    found = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("client_id")
    return [found[0][:100] if found else None]


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return str(value.decode("latin-1"))
    return None


class AccessRecording:
    def __init__(self, app: ASGIApp, log: AccessLog) -> None:
        self.app = app
        self.log = log

    def _read(self, scope: Scope, status: int) -> tuple[AccessRequest, list[str | None]] | None:
        route = scope.get("route")
        if not isinstance(route, APIRoute) or not reads_client_data(scope["method"], route.path):
            return None
        state: dict[str, Any] = scope.get("state") or {}
        caller = state.get("caller")
        purpose = _header(scope, b"x-purpose")
        client = scope.get("client")
        request = AccessRequest(
            at=utc_now(),
            actor=caller.actor.id if isinstance(caller, Caller) else None,
            role=caller.role.value if isinstance(caller, Caller) else None,
            organisation=caller.organisation if isinstance(caller, Caller) else None,
            what=f"{scope['method']} {route.path}",
            purpose=purpose[:500] if purpose else None,
            source=str(client[0])[:100] if client else None,
            outcome=status,
        )
        return request, _client_ids(scope, state)

    async def _record(self, scope: Scope, status: int) -> None:
        read = self._read(scope, status)
        if read is not None:
            # The store is synchronous (SQLAlchemy Core): keep it off the event loop.
            await anyio.to_thread.run_sync(self.log.record, *read)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        recorded = False

        async def recording(message: Message) -> None:
            nonlocal recorded
            if message["type"] == "http.response.start" and not recorded:
                recorded = True
                await self._record(scope, int(message["status"]))
            await send(message)

        try:
            await self.app(scope, receive, recording)
        except Exception:
            if not recorded:  # the server answers 500 after us
                recorded = True
                await self._record(scope, 500)
            raise
