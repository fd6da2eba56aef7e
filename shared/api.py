"""HTTP plumbing shared by the services' routes: their applications, and errors people can read.

Every error of every route, the read side's and FastAPI's own included, is one document: RFC 9457
problem details (``application/problem+json``, ``Problem``), its texts in the caller's language
(``Accept-Language``: Finnish, Swedish or English) and all three, from the catalogues of
``shared.i18n``. Nothing a request sent is repeated in it: a value at fault is named by its JSON
Pointer and a code, never shown.

Who is calling and what they may do is ``shared.auth``; ``Caller`` is re-exported here."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from http import HTTPStatus
from typing import Any, Literal, TypeVar

import psycopg
import sqlalchemy.exc
from eventsourcing.persistence import IntegrityError
from eventsourcing.persistence import InterfaceError as StoreInterfaceError
from eventsourcing.persistence import OperationalError as StoreOperationalError
from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from psycopg_pool import PoolTimeout
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic.json_schema import SkipJsonSchema
from starlette.exceptions import HTTPException

from shared import i18n
from shared.auth.access import check_token
from shared.auth.caller import Caller
from shared.auth.errors import AccessError, NotAuthenticatedError
from shared.contracts.envelope import ContractError, MalformedBodyError
from shared.errors import (
    ConcurrentUpdateError,
    DomainError,
    InconsistentStateError,
    InvalidValueError,
    NotFoundError,
)
from shared.eventstore import ServiceApplication
from shared.inconsistencies import report
from shared.iso_text import Moment
from shared.law.rulebook import NoRuleInForceError

__all__ = [
    "BusinessTime",
    "Caller",
    "FieldProblem",
    "Problem",
    "application",
    "install_error_handlers",
]

T = TypeVar("T", bound=ServiceApplication)
log = logging.getLogger(__name__)
LANGUAGES = i18n.LANGUAGES
PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_TYPE = "urn:kotoutus:problem:"


def application(service: str, kind: type[T]) -> Callable[[Request], T]:
    """A dependency that hands a route its service's application."""

    def dependency(request: Request) -> T:
        app = request.app.state.applications[service]
        assert isinstance(app, kind)
        return app

    return dependency


class BusinessTime(BaseModel):
    occurred_at: Moment | None = Field(
        default=None, description="When it happened, if not now (business time)."
    )


class Texts(BaseModel):
    fi: str
    sv: str
    en: str


class FieldProblem(BaseModel):
    """One value of the request at fault: where, and what is wrong with it, never the value."""

    model_config = ConfigDict(populate_by_name=True)

    pointer: str = Field(
        description="JSON Pointer (RFC 6901) to the value, in the part of the request `in` "
        "names (the body's root is the empty pointer); without `in`, within the record the "
        "request would change.",
        examples=["/personal/identity_code"],
    )
    in_: Literal["body", "query", "path", "header", "cookie"] | SkipJsonSchema[None] = Field(
        default=None, alias="in", description="The part of the request that holds the value."
    )
    code: str = Field(
        description="What is wrong: pydantic's error type (`missing`, `string_too_long`, …) "
        "or a code of our own checks (`identity_code_check`, `language_code`, …).",
        examples=["identity_code_check"],
    )
    detail: str = Field(description="What is wrong, in the caller's language.")


class Problem(BaseModel):
    """RFC 9457 problem details (`application/problem+json`). `code`, `message`, `messages`,
    `errors` and `debug` are extension members; `message` and `messages` are kept for earlier
    clients. An absent member is left out, never null."""

    type: str = Field(
        description="`urn:kotoutus:problem:` and the code.",
        examples=["urn:kotoutus:problem:forbidden"],
    )
    title: str = Field(description="What went wrong, in the caller's language.")
    status: int = Field(description="The HTTP status code.", examples=[403])
    detail: str = Field(
        description="The full text in the caller's language (in English, with `debug` added)."
    )
    instance: str = Field(
        description="The path of the request, its ids as the route names them.",
        examples=["/clients/{client_id}/assessment"],
    )
    code: str = Field(description="Stable code of the problem.", examples=["forbidden"])
    message: str = Field(description="As `detail`.")
    messages: Texts = Field(description="The full text in Finnish, Swedish and English.")
    errors: list[FieldProblem] | SkipJsonSchema[None] = Field(
        default=None, description="Validation problems: each value at fault."
    )
    debug: str | SkipJsonSchema[None] = Field(
        default=None,
        description="Details in English for operators (a rule's citation, the ids involved); "
        "never personal data the request sent.",
    )


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

# The code of each status FastAPI or Starlette answer by themselves (HTTPException).
STATUS_CODES: dict[int, str] = {
    400: "bad_request",
    401: "not_authenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid_request",
    429: "too_many_requests",
    500: "internal_error",
    503: "service_unavailable",
}
OTHER_STATUS_CODE = "http_error"
# FastAPI's answer to a body it cannot read at all (not UTF-8, say).
_UNREADABLE_BODY = "There was an error parsing the body"
# The codes the handlers here answer with (the catalogues have each; see the tests).
CODES: frozenset[str] = frozenset(
    {
        *STATUS_CODES.values(),
        OTHER_STATUS_CODE,
        "malformed_body",
        "invalid_message",
        "no_rule_in_force",
        "inconsistent_state",
        "field.invalid",
    }
)


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
    return i18n.negotiate(request.headers.get("accept-language"))


class ProblemResponse(JSONResponse):
    media_type = PROBLEM_MEDIA_TYPE


def problem(
    request: Request,
    status: int,
    code: str,
    *,
    titles: Mapping[str, str] | None = None,
    texts: Mapping[str, str] | None = None,
    debug: str | None = None,
    errors: Iterable[Mapping[str, Any]] | None = None,
    at: str = "",
    of_request: bool = False,
    headers: Mapping[str, str] | None = None,
) -> ProblemResponse:
    """The problem document: ``titles`` are the code's texts (by default the catalogue's),
    ``texts`` the full ones (by default the titles, and ``debug`` added to the English);
    ``errors`` are pydantic's, of which only where and what are kept (``field_problems``)."""
    language = _language(request)
    titles = dict(titles or i18n.texts(code))
    if texts is None:
        texts = {**titles, "en": f"{titles['en']} ({debug})" if debug else titles["en"]}
    document = Problem(
        type=PROBLEM_TYPE + code,
        title=titles[language],
        status=status,
        detail=texts[language],
        instance=_instance(request),
        code=code,
        message=texts[language],
        messages=Texts.model_validate(texts),
        errors=None
        if errors is None
        else list(field_problems(errors, language, at=at, of_request=of_request)),
        debug=debug,
    )
    return ProblemResponse(
        status_code=status,
        content=document.model_dump(mode="json", by_alias=True, exclude_none=True),
        headers={
            "Content-Language": language,
            "Vary": "Accept-Language",
            **({"Retry-After": str(RETRY_AFTER_SECONDS)} if status == 503 else {}),
            **(headers or {}),
        },
    )


_SOURCES = ("body", "query", "path", "header", "cookie")


def field_problems(
    errors: Iterable[Mapping[str, Any]], language: str, *, at: str = "", of_request: bool = False
) -> Iterable[FieldProblem]:
    """Pydantic's errors as pointers and codes: their ``input``, and the ``ctx`` and ``msg``
    that may repeat it, are left out. ``of_request``: FastAPI's, whose location starts with
    the part of the request (``body``, ``query``, …); ``at``: the pointer of what was validated.
    A value at fault is named once: FastAPI repeats a path parameter's error for every
    dependency that declares it (``client_id`` in the route and in its access check)."""
    named: set[tuple[str, str | None, str]] = set()
    for problem in _field_problems(errors, language, at=at, of_request=of_request):
        if (problem.pointer, problem.in_, problem.code) not in named:
            named.add((problem.pointer, problem.in_, problem.code))
            yield problem


def _field_problems(
    errors: Iterable[Mapping[str, Any]], language: str, *, at: str, of_request: bool
) -> Iterable[FieldProblem]:
    for error in errors:
        loc = tuple(error.get("loc") or ())
        where = None
        if of_request and loc and loc[0] in _SOURCES:
            where, loc = loc[0], loc[1:]
        pointer = at + "".join("/" + _escaped(part) for part in loc)
        code = str(error.get("type") or "invalid")
        cause = (error.get("ctx") or {}).get("error")
        if isinstance(cause, InvalidValueError):
            detail = cause.text(language)
            code, pointer = cause.code, pointer + cause.at
        else:
            message_id = f"field.{code}" if i18n.has(f"field.{code}") else "field.invalid"
            detail = i18n.text(message_id, language)
        yield FieldProblem(pointer=pointer, in_=where, code=code, detail=detail)


def _instance(request: Request) -> str:
    """The path of the request as its route names it (``/clients/{client_id}``): the answer
    repeats no id the request named. A path no route matches is given as it came."""
    route = request.scope.get("route")
    template = getattr(route, "path_format", None) or getattr(route, "path", None)
    if isinstance(template, str) and template:
        return f"{request.scope.get('root_path', '')}{template}"
    return request.url.path


def _escaped(part: object) -> str:
    return str(part).replace("~", "~0").replace("/", "~1")


def _domain_problem(
    request: Request, status: int, error: DomainError, headers: Mapping[str, str] | None = None
) -> ProblemResponse:
    return problem(
        request,
        status,
        error.code,
        titles={language: error.text(language) for language in LANGUAGES},
        texts={language: error.message(language) for language in LANGUAGES},
        debug=error.debug,
        headers=headers,
    )


async def _refused_token(request: Request) -> Response | None:
    """The 401 (or 403) of a request whose body was refused before any dependency ran: without
    it, a caller with no valid token would learn from the answer what the route expects.
    (None: the token is good, or the app checks none, e.g. a test's.)"""
    if getattr(request.app.state, "tokens", None) is None:
        return None
    try:
        await run_in_threadpool(check_token, request)
    except AccessError as refusal:
        return _refusal(request, refusal)
    return None


def _refusal(request: Request, error: AccessError) -> ProblemResponse:
    # 401 asks for a token (RFC 6750); 403 refuses this caller. Neither says anything about
    # the client asked for, not even whether it exists elsewhere.
    headers = {}
    if isinstance(error, NotAuthenticatedError):
        # RFC 6750 §3: an error code only when a token was given (and refused).
        challenge = 'Bearer realm="kotoutus"'
        headers["WWW-Authenticate"] = challenge + (', error="invalid_token"' * bool(error.detail))
    if error.detail and not error.public_detail:
        log.warning("%s %s: %s: %s", request.method, request.url.path, error.code, error.detail)
    return _domain_problem(request, error.status, error, headers)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def domain_error(request: Request, error: DomainError) -> Response:
        return _domain_problem(request, 404 if isinstance(error, NotFoundError) else 409, error)

    @app.exception_handler(AccessError)
    async def refused(request: Request, error: AccessError) -> Response:
        return _refusal(request, error)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, error: RequestValidationError) -> Response:
        # FastAPI parses a JSON body before any dependency runs: the token is checked first.
        # (/health takes no input.)
        if (refusal := await _refused_token(request)) is not None:
            return refusal
        errors = error.errors()
        if any(e.get("type") == "json_invalid" for e in errors):
            return problem(request, 400, "malformed_body")
        return problem(request, 422, "invalid_request", errors=errors, of_request=True)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, error: HTTPException) -> Response:
        # FastAPI's and Starlette's own answers: no route (404), another method (405), a body
        # that is not even text (400), and the read side's refusals.
        status = error.status_code
        if status < 400:
            return await http_exception_handler(request, error)
        code = STATUS_CODES.get(status, OTHER_STATUS_CODE)
        if status == 400 and error.detail == _UNREADABLE_BODY:
            if (refusal := await _refused_token(request)) is not None:
                return refusal
            code = "malformed_body"
        headers = dict(error.headers or {})
        if status == 405:
            headers["Allow"] = _allowed_methods(request)
        standard = {_UNREADABLE_BODY, _phrase(status)}
        detail = error.detail if isinstance(error.detail, str) else None
        debug = detail if detail and detail not in standard else None
        return problem(request, status, code, debug=debug, headers=headers)

    @app.exception_handler(ValidationError)
    async def invalid_state(request: Request, error: ValidationError) -> Response:
        # A change that is valid alone but not together with what is known (e.g. a birth date
        # that disagrees with the identity code). Inputs are not echoed: they may be personal.
        return problem(
            request,
            422,
            "invalid_request",
            errors=error.errors(include_url=False, include_input=False),
        )

    @app.exception_handler(IntegrityError)
    async def conflict(request: Request, error: IntegrityError) -> Response:
        # Two writers raced for the same aggregate and this one lost: ask again.
        return _domain_problem(request, 409, ConcurrentUpdateError())

    @app.exception_handler(ContractError)
    async def invalid_message(request: Request, error: ContractError) -> Response:
        if isinstance(error, MalformedBodyError):  # as for any body that is not JSON
            return problem(request, 400, "malformed_body", debug=str(error))
        # Machine senders read this: the English names the fields at fault, as `errors` do.
        cause = error.__cause__
        if not isinstance(cause, ValidationError):
            return problem(request, 422, "invalid_message", debug=str(error))
        errors = cause.errors(include_url=False, include_input=False)
        named = field_problems(errors, "en", at=error.at)
        reason = "; ".join(f"{_dotted(p.pointer)}: {p.detail}" for p in named)
        return problem(request, 422, "invalid_message", debug=reason, errors=errors, at=error.at)

    async def unavailable(request: Request, error: Exception) -> Response:
        if not unreachable(error):
            raise error  # another kind of failure: a 500, logged as such
        # The cause stays in the log; it may name hosts and the caller cannot act on it. A
        # command that failed this way may or may not have been stored: the message says so.
        log.warning("%s %s: unavailable: %s", request.method, request.url.path, error)
        return problem(request, 503, "service_unavailable")

    for kind in UNAVAILABLE:
        app.add_exception_handler(kind, unavailable)

    @app.exception_handler(InconsistentStateError)
    async def inconsistent(request: Request, error: InconsistentStateError) -> Response:
        # Our records, not the request, are at fault: the caller may ask again once an
        # operator has repaired them, and is not shown the internals.
        report(f"api {request.method} {request.url.path}", error)
        return problem(request, 503, "inconsistent_state")

    @app.exception_handler(NoRuleInForceError)
    async def no_rule(request: Request, error: NoRuleInForceError) -> Response:
        # A date outside every law version the rule tables know is a problem of the input.
        texts = i18n.texts("no_rule_in_force", day=error.day.isoformat(), rule_id=error.rule_id)
        return problem(request, 422, "no_rule_in_force", titles=texts)

    @app.exception_handler(Exception)
    async def internal(request: Request, error: Exception) -> Response:
        # Anything else: Starlette raises it on after this answer, for the server to log.
        return problem(request, 500, "internal_error")

    _document_problems(app)


def _allowed_methods(request: Request) -> str:
    """Every method of the path (RFC 9110 §15.5.6), as the OpenAPI document has them:
    Starlette names only those of the first route of the path, and a path may have a route
    per method. (Not by asking the routing: ``/clients/lookup`` also fits ``/clients/{id}``.)"""
    route = request.scope.get("route")
    template = getattr(route, "path_format", None)
    documented = request.app.openapi().get("paths", {}).get(template, {}) if template else {}
    methods = {method.upper() for method in documented} | set(getattr(route, "methods", ()))
    return ", ".join(method for method in _METHODS if method in methods)


_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def _dotted(pointer: str) -> str:
    return ".".join(pointer.split("/")[1:]).replace("~1", "/").replace("~0", "~") or "(body)"


# --- the OpenAPI document says so too ---

_PROBLEM_REF = "#/components/schemas/Problem"
# Where an operation's ``openapi_extra`` puts schemas for the document's components (FastAPI
# makes components only of the models it sees); moved there when the document is made.
COMPONENT_SCHEMAS = "x-component-schemas"
_FASTAPI_VALIDATION = ("HTTPValidationError", "ValidationError")
_SAFE_METHODS = frozenset({"get", "head", "options"})
# What each error status means wherever it may be answered (``_error_statuses`` says where).
ERROR_DESCRIPTIONS: dict[int, str] = {
    400: "The body is not JSON (or not even UTF-8 text).",
    401: "No bearer token, or one that is not valid: `WWW-Authenticate` says which.",
    403: "The caller's role may not do this, the client is another organisation's, or only "
    "an integration may send `X-On-Behalf-Of` and `X-Record-Source`.",
    404: "What the path names is not known (or not to this caller).",
    409: "The current state does not allow this (a client's processing restricted under GDPR "
    "Art. 18 among others: `processing_restricted`), or another change came first: read again "
    "and decide.",
    422: "A value of the request is not valid: `errors` names each by a pointer and a code.",
    503: "A database or the message broker cannot be reached (or our records need an "
    "operator's repair); ask again after Retry-After seconds, first checking whether a change "
    "was saved.",
}


def _error_statuses(method: str, operation: Mapping[str, Any]) -> set[int]:
    """The error statuses an operation may answer, from what it takes: any route may meet a
    database that is away (503); one that asks for a token refuses a caller (401, 403); one
    that takes input may find it invalid (422), a body unreadable (400); one whose path names
    something may not find it (404); one that changes something may meet a state that does
    not allow it or a concurrent change (409), as may one about a client whose processing is
    restricted. A route adds its own with ``responses``."""
    statuses = {503}
    if operation.get("security"):
        statuses |= {401, 403}
    parameters = operation.get("parameters", [])
    if parameters or "requestBody" in operation:
        statuses.add(422)
    if "requestBody" in operation:
        statuses.add(400)
    if any(parameter.get("in") == "path" for parameter in parameters):
        statuses.add(404)
    if method not in _SAFE_METHODS:
        statuses.add(409)
    if any(parameter.get("name") == "client_id" for parameter in parameters):
        statuses.add(409)  # a restricted client's data is not shown (GDPR Art. 18)
    return statuses


# The headers of problem answers, written once in ``components/headers`` and referred to.
_HEADERS: dict[str, dict[str, Any]] = {
    "Content-Language": {
        "description": "The language of `title` and `detail` (`Accept-Language` picks it).",
        "required": True,
        "schema": {"type": "string", "enum": list(LANGUAGES)},
    },
    "WWW-Authenticate": {
        "description": "The bearer challenge (RFC 6750).",
        "required": True,
        "schema": {"type": "string"},
    },
    "Retry-After": {
        "description": "Seconds to wait before asking again.",
        "required": True,
        "schema": {"type": "string", "pattern": "^[0-9]+$"},
    },
}


def _header_ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/headers/{name.replace('-', '')}"}


def _problem_headers(status: int) -> dict[str, Any]:
    """The headers every problem answer carries (``problem``), and those of its status."""
    headers: dict[str, Any] = {"Content-Language": _header_ref("Content-Language")}
    if status == 401:
        headers["WWW-Authenticate"] = _header_ref("WWW-Authenticate")
    if status == 503:
        headers["Retry-After"] = _header_ref("Retry-After")
    return headers


def _response_name(status: int) -> str:
    return f"Problem{status}"


def _document_problems(app: FastAPI) -> None:
    """Every error an operation may answer is in the OpenAPI document, each a ``Problem`` as
    ``application/problem+json`` (FastAPI's own 422, ``HTTPValidationError``, too): done here,
    for every route of the app, those added later included."""
    generate = app.openapi
    done: list[bool] = []

    def openapi() -> dict[str, Any]:
        document = generate()
        if not done:
            _problems_in(document)
            done.append(True)
        return document

    app.openapi = openapi  # type: ignore[method-assign]


def _problems_in(document: dict[str, Any]) -> None:
    components = document.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    # Each status's common answer once, in ``components``; the routes refer to it (a route
    # that says more about a status keeps its own description).
    components.setdefault("headers", {}).update(
        {name.replace("-", ""): header for name, header in _HEADERS.items()}
    )
    common = components.setdefault("responses", {})
    for status, description in ERROR_DESCRIPTIONS.items():
        common[_response_name(status)] = {
            "description": description,
            "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": _PROBLEM_REF}}},
            "headers": _problem_headers(status),
        }
    for path in document.get("paths", {}).values():
        for method, operation in path.items():
            if isinstance(operation, dict):
                schemas.update(operation.pop(COMPONENT_SCHEMAS, {}))
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            responses: dict[str, Any] = operation["responses"]
            for status in _error_statuses(method, operation):
                responses.setdefault(str(status), {})
            for key, response in list(responses.items()):
                if key.isdigit() and int(key) >= 400:
                    responses[key] = _as_problem(int(key), response)
    for name in _FASTAPI_VALIDATION:
        schemas.pop(name, None)
    if "Problem" not in schemas:
        generated = Problem.model_json_schema(
            by_alias=True, ref_template="#/components/schemas/{model}", mode="serialization"
        )
        schemas.update(generated.pop("$defs", {}))
        schemas["Problem"] = generated


def _as_problem(status: int, response: dict[str, Any]) -> dict[str, Any]:
    """An error response as the handlers give it: a ``Problem``, whatever the route said; the
    common answer of its status by reference when the route says nothing more."""
    generic = {"", "Validation Error", "Additional Response", _phrase(status)}
    if status in ERROR_DESCRIPTIONS and response.get("description", "") in generic:
        if not response.get("headers"):
            return {"$ref": f"#/components/responses/{_response_name(status)}"}
        response["description"] = ERROR_DESCRIPTIONS[status]
    elif response.get("description", "") in generic:
        response["description"] = _phrase(status)
    response["content"] = {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": _PROBLEM_REF}}}
    response["headers"] = {**_problem_headers(status), **response.get("headers", {})}
    return response
