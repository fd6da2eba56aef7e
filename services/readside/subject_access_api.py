"""The data subject's copy (GDPR Art. 15) as staff give it: JSON, or a document the person can
read (HTML, by ``Accept: text/html`` or ``?format=html``). Supervisors only; the read is in
the access log like every read of a client's data (its route is under ``/clients/{id}``)."""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import HTMLResponse, Response
from pydantic_core import to_jsonable_python

from services.readside import queries
from services.readside.api import ReadSideDep, projector
from services.readside.identities import identities
from services.readside.subject_access import Identity, SubjectAccessCopy, subject_access_copy
from services.readside.subject_access_document import document_language, render
from shared.api import Caller, Problem
from shared.auth.access import client_access_by
from shared.auth.access_log import AccessLog
from shared.auth.roles import Permission
from shared.clock import utc_now
from shared.errors import NotFoundError
from shared.languages import LanguageCode

router = APIRouter(tags=["data subject"])
SubjectAccessOfficer = Annotated[
    Caller, Depends(client_access_by(projector, Permission.SUBJECT_ACCESS))
]


@router.get(
    "/clients/{client_id}/subject-access",
    summary="The person's copy of their data (GDPR Art. 15), as JSON or a readable document",
    response_model=SubjectAccessCopy,
    responses={200: {"content": {"text/html": {}}}, 404: {"model": Problem}},
)
def get_subject_access(
    client_id: UUID,
    request: Request,
    caller: SubjectAccessOfficer,
    read: ReadSideDep,
    format: Literal["json", "html"] | None = None,
    language: Annotated[
        LanguageCode | None,
        Query(description="The document's language where the client's own is not available"),
    ] = None,
    accept: Annotated[str | None, Header(include_in_schema=False)] = None,
    accept_language: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> Response | SubjectAccessCopy:
    timeline = queries.timeline(read.engine, client_id)
    if not timeline:
        raise NotFoundError(f"client {client_id}")
    status = queries.caseload_row(read.engine, read.seal, client_id)
    found = identities(read.engine, read.seal, [client_id]).get(client_id)
    log: AccessLog = request.app.state.access_log
    copy = subject_access_copy(
        client_id,
        utc_now(),
        timeline,
        None if found is None else Identity(**vars(found)),
        None if status is None else _without_names(status),
        log.query(client_id=client_id, limit=100_000),
    )
    wants_html = format == "html" or (format is None and "text/html" in (accept or ""))
    if not wants_html:
        return copy
    chosen = document_language(language, _client_languages(copy.facts), accept_language)
    return HTMLResponse(render(copy, chosen), headers={"Content-Language": chosen})


def _without_names(status: dict[str, object]) -> dict[str, object]:
    """The caseload row less the names (the copy's identity has them), as JSON values."""
    kept = {k: v for k, v in status.items() if k not in ("given_names", "family_name")}
    found: dict[str, object] = to_jsonable_python(kept)
    return found


def _client_languages(facts: dict[str, object] | None) -> list[str | None]:
    """The client's languages, those they are served in first, then their mother tongue."""
    facts = facts or {}
    served = facts.get("service_languages") or []
    mother = facts.get("mother_tongue")
    listed = [str(language) for language in served] if isinstance(served, list) else []
    return [*listed, None if mother is None else str(mother)]
