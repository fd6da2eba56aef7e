"""HTTP plumbing shared by the services' routes: their applications, and errors people can read.

Who is calling and what they may do is ``shared.auth``; ``Caller`` is re-exported here."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar

import psycopg
import sqlalchemy.exc
from eventsourcing.persistence import IntegrityError
from eventsourcing.persistence import InterfaceError as StoreInterfaceError
from eventsourcing.persistence import OperationalError as StoreOperationalError
from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exception_handlers import request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from psycopg_pool import PoolTimeout
from pydantic import AwareDatetime, BaseModel, Field, ValidationError

from shared.auth.access import check_token
from shared.auth.caller import Caller
from shared.auth.errors import AccessError, NotAuthenticatedError
from shared.contracts.envelope import ContractError
from shared.errors import (
    ConcurrentUpdateError,
    DomainError,
    InconsistentStateError,
    NotFoundError,
)
from shared.eventstore import ServiceApplication
from shared.inconsistencies import report
from shared.law.rulebook import NoRuleInForceError

__all__ = ["BusinessTime", "Caller", "Problem", "application", "install_error_handlers"]

T = TypeVar("T", bound=ServiceApplication)
log = logging.getLogger(__name__)
LANGUAGES = ("fi", "sv", "en")


def application(service: str, kind: type[T]) -> Callable[[Request], T]:
    """A dependency that hands a route its service's application."""

    def dependency(request: Request) -> T:
        app = request.app.state.applications[service]
        assert isinstance(app, kind)
        return app

    return dependency


class BusinessTime(BaseModel):
    occurred_at: AwareDatetime | None = Field(
        default=None, description="When it happened, if not now (business time)."
    )


class Problem(BaseModel):
    code: str
    message: str
    messages: dict[str, str]


# A database or broker that cannot be reached (restarting, failing over, out of
# connections): the request may be asked again in a moment, so the answer is 503, not 500.
UNAVAILABLE: tuple[type[Exception], ...] = (
    StoreOperationalError,
    StoreInterfaceError,
    psycopg.OperationalError,
    psycopg.InterfaceError,
    sqlalchemy.exc.OperationalError,
    sqlalchemy.exc.InterfaceError,
    ConnectionError,
)
RETRY_AFTER_SECONDS = 5
# SQLSTATE classes of a server that is away or going: connection exceptions, an operator
# shutting it down or starting it, too many connections.
_UNREACHABLE_STATES = ("08", "57P", "53300")


def unreachable(error: BaseException | None) -> bool:
    """Whether ``error`` means the database or broker could not be reached (not, say, a
    deadlock or a cancelled query, which the same driver classes also carry)."""
    if error is None:
        return False
    if isinstance(error, ConnectionError | psycopg.InterfaceError | PoolTimeout):
        return True
    if isinstance(error, psycopg.OperationalError):
        return error.sqlstate is None or error.sqlstate.startswith(_UNREACHABLE_STATES)
    if isinstance(error, sqlalchemy.exc.DBAPIError):
        return error.connection_invalidated or unreachable(error.orig)
    if isinstance(error, StoreInterfaceError):
        return True
    if isinstance(error, StoreOperationalError):  # the library's wrapper of the driver's
        return unreachable(error.__cause__) or error.__cause__ is None
    return False


def _language(request: Request) -> str:
    accepted = request.headers.get("accept-language", "")
    for part in accepted.split(","):
        tag = part.split(";")[0].strip().lower()[:2]
        if tag in LANGUAGES:
            return tag
    return "en"


def _try_again_later(request: Request, code: str, messages: dict[str, str]) -> JSONResponse:
    """A 503 with Retry-After, in the caller's language and all three."""
    body = Problem(code=code, message=messages[_language(request)], messages=messages)
    return JSONResponse(
        status_code=503,
        content=body.model_dump(),
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def domain_error(request: Request, error: DomainError) -> JSONResponse:
        status = 404 if isinstance(error, NotFoundError) else 409
        body = Problem(
            code=error.code,
            message=error.message(_language(request)),
            messages={language: error.message(language) for language in LANGUAGES},
        )
        return JSONResponse(status_code=status, content=body.model_dump())

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, error: RequestValidationError) -> Response:
        # FastAPI parses a JSON body before any dependency runs: without this, a caller with
        # no valid token would learn from a 422 what the route expects. (/health takes no input.)
        try:
            await run_in_threadpool(check_token, request)
        except AccessError as refusal:
            return await refused(request, refusal)
        return await request_validation_exception_handler(request, error)

    @app.exception_handler(AccessError)
    async def refused(request: Request, error: AccessError) -> JSONResponse:
        # 401 asks for a token (RFC 6750); 403 refuses this caller. Neither says anything about
        # the client asked for, not even whether it exists elsewhere.
        body = Problem(
            code=error.code,
            message=error.message(_language(request)),
            messages={language: error.message(language) for language in LANGUAGES},
        )
        headers = {}
        if isinstance(error, NotAuthenticatedError):
            # RFC 6750 §3: an error code only when a token was given (and refused).
            challenge = 'Bearer realm="kotoutus"'
            headers["WWW-Authenticate"] = challenge + (
                ', error="invalid_token"' * bool(error.detail)
            )
        return JSONResponse(status_code=error.status, content=body.model_dump(), headers=headers)

    @app.exception_handler(ValidationError)
    async def invalid_state(request: Request, error: ValidationError) -> JSONResponse:
        # A change that is valid alone but not together with what is known (e.g. a birth date
        # that disagrees with the identity code). Inputs are not echoed: they may be personal.
        detail = error.errors(include_url=False, include_input=False, include_context=False)
        return JSONResponse(status_code=422, content={"detail": detail})

    @app.exception_handler(IntegrityError)
    async def conflict(request: Request, error: IntegrityError) -> JSONResponse:
        # Two writers raced for the same aggregate and this one lost: ask again.
        lost = ConcurrentUpdateError()
        body = Problem(
            code=lost.code,
            message=lost.message(_language(request)),
            messages={language: lost.message(language) for language in LANGUAGES},
        )
        return JSONResponse(status_code=409, content=body.model_dump())

    @app.exception_handler(ContractError)
    async def invalid_message(request: Request, error: ContractError) -> JSONResponse:
        # Machine senders read this; the reason names the field, in English.
        body = Problem(code="invalid_message", message=str(error), messages={"en": str(error)})
        return JSONResponse(status_code=422, content=body.model_dump())

    async def unavailable(request: Request, error: Exception) -> JSONResponse:
        if not unreachable(error):
            raise error  # another kind of failure: a 500, logged as such
        # The cause stays in the log; it may name hosts and the caller cannot act on it. A
        # command that failed this way may or may not have been stored: the message says so.
        log.warning("%s %s: unavailable: %s", request.method, request.url.path, error)
        messages = {
            "fi": "Järjestelmän tietokantaan tai viestinvälitykseen ei juuri nyt saada "
            "yhteyttä. Yritä hetken päästä uudelleen; tarkista ensin, tallentuiko muutos.",
            "sv": "Systemets databas eller meddelandeförmedling kan inte nås just nu. Försök "
            "igen om en stund; kontrollera först om ändringen sparades.",
            "en": "The system's database or message broker cannot be reached right now. Try "
            "again in a moment; check first whether a change was saved.",
        }
        return _try_again_later(request, "service_unavailable", messages)

    for kind in UNAVAILABLE:
        app.add_exception_handler(kind, unavailable)

    @app.exception_handler(InconsistentStateError)
    async def inconsistent(request: Request, error: InconsistentStateError) -> JSONResponse:
        # Our records, not the request, are at fault: the caller may ask again once an
        # operator has repaired them, and is not shown the internals.
        report(f"api {request.method} {request.url.path}", error)
        messages = {
            "fi": "Järjestelmän omissa tiedoissa on ristiriita, joka on ilmoitettu ylläpidolle. "
            "Yritä myöhemmin uudelleen.",
            "sv": "Systemets egna uppgifter är motstridiga; underhållet har underrättats. "
            "Försök igen senare.",
            "en": "The system's own records disagree; the operators have been told. Try again "
            "later.",
        }
        return _try_again_later(request, "inconsistent_state", messages)

    @app.exception_handler(NoRuleInForceError)
    async def no_rule(request: Request, error: NoRuleInForceError) -> JSONResponse:
        # A date outside every law version the rule tables know is a problem of the input.
        messages = {
            "fi": f"Päivälle {error.day} ei ole voimassa olevaa sääntöä ({error.rule_id})",
            "sv": f"Ingen regel gäller för {error.day} ({error.rule_id})",
            "en": f"No rule is in force on {error.day} ({error.rule_id})",
        }
        body = Problem(
            code="no_rule_in_force", message=messages[_language(request)], messages=messages
        )
        return JSONResponse(status_code=422, content=body.model_dump())
