"""HTTP plumbing shared by the services' routes: who is calling, and errors people can read."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, TypeVar

from eventsourcing.persistence import IntegrityError
from fastapi import Depends, FastAPI, Header, Request
from fastapi.responses import JSONResponse
from pydantic import AwareDatetime, BaseModel, Field, ValidationError

from shared.clock import utc_now
from shared.contracts.envelope import ContractError
from shared.errors import ConcurrentUpdateError, DomainError, NotFoundError
from shared.eventstore import ServiceApplication
from shared.law.rulebook import NoRuleInForceError
from shared.settings import Settings
from shared.values import Actor, ActorKind, Provenance

T = TypeVar("T", bound=ServiceApplication)
LANGUAGES = ("fi", "sv", "en")


def application(service: str, kind: type[T]) -> Callable[[Request], T]:
    """A dependency that hands a route its service's application."""

    def dependency(request: Request) -> T:
        app = request.app.state.applications[service]
        assert isinstance(app, kind)
        return app

    return dependency


class Caller(BaseModel):
    actor: Actor
    organisation: str
    record_source: str | None = None

    def provenance(self, occurred_at: AwareDatetime | None = None) -> Provenance:
        return Provenance(
            actor=self.actor,
            organisation=self.organisation,
            occurred_at=occurred_at or utc_now(),
            source=self.record_source,
        )


def caller(
    request: Request,
    x_actor: Annotated[
        str,
        Header(
            min_length=1,
            max_length=200,
            description="Who acts, e.g. caseworker:anna.virtanen (bearer tokens replace this).",
        ),
    ],
    x_organisation: Annotated[
        str | None, Header(max_length=200, description="Acting organisation id.")
    ] = None,
    x_record_source: Annotated[
        str | None,
        Header(max_length=300, description="Imports: the system and record id it came from."),
    ] = None,
) -> Caller:
    settings: Settings = request.app.state.settings
    return Caller(
        actor=Actor(id=x_actor, kind=ActorKind.USER),
        organisation=x_organisation or f"municipality:{settings.municipality_code}",
        record_source=x_record_source,
    )


CallerDep = Annotated[Caller, Depends(caller)]


class BusinessTime(BaseModel):
    occurred_at: AwareDatetime | None = Field(
        default=None, description="When it happened, if not now (business time)."
    )


class Problem(BaseModel):
    code: str
    message: str
    messages: dict[str, str]


def _language(request: Request) -> str:
    accepted = request.headers.get("accept-language", "")
    for part in accepted.split(","):
        tag = part.split(";")[0].strip().lower()[:2]
        if tag in LANGUAGES:
            return tag
    return "en"


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
