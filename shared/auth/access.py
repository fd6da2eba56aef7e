"""FastAPI dependencies that authenticate the caller and check what they may do.

A route declares its permission with one of these; a route about one client also has the
client's currently responsible organisation checked against the caller's (the service answers
that from its own state: ``ServiceApplication.responsible_organisation``)."""

# No ``from __future__ import annotations`` here: FastAPI reads the dependencies' annotations,
# and those of the inner functions name values of the enclosing call (``permission``).
from collections.abc import Callable
from typing import Annotated, Protocol
from uuid import UUID

from fastapi import Depends, Header, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from shared.auth.caller import Caller
from shared.auth.errors import (
    NotAnIntegrationError,
    NotAuthenticatedError,
    NotOneRoleError,
    OtherOrganisationError,
    PermissionMissingError,
)
from shared.auth.roles import Permission, Role
from shared.auth.tokens import TokenVerifier
from shared.data_subject import ProcessingRestrictedError
from shared.errors import NotFoundError
from shared.eventstore import ServiceApplication
from shared.values import Actor, ActorKind

# auto_error=False: a missing token is answered by our own 401 with texts people can read.
_bearer = HTTPBearer(auto_error=False, description="A staff token: `kotoutus token issue`.")


def authenticated(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    x_on_behalf_of: Annotated[
        str | None,
        Header(
            min_length=1,
            max_length=200,
            description="Integration only: the original author (imports).",
        ),
    ] = None,
    x_record_source: Annotated[
        str | None,
        Header(max_length=300, description="Integration only: the system and record id."),
    ] = None,
) -> Caller:
    if credentials is None:
        raise NotAuthenticatedError()
    verifier: TokenVerifier = request.app.state.tokens
    token = verifier.verify(credentials.credentials)
    if token.organisation is None:
        raise NotAuthenticatedError("the token names no organisation")
    ours = {role.value for role in Role}
    roles = [Role(r) for r in dict.fromkeys(token.roles) if r in ours]
    # One role per token: an auditor who could also change records would not be one.
    if len(roles) != 1:
        raise NotOneRoleError()
    role = roles[0]
    caller = Caller(
        actor=Actor(
            id=token.subject, kind=ActorKind.SYSTEM if role is Role.INTEGRATION else ActorKind.USER
        ),
        organisation=token.organisation,
        role=role,
    )
    if x_on_behalf_of is not None or x_record_source is not None:
        if not caller.may(Permission.ACT_ON_BEHALF):
            raise NotAnIntegrationError()
        if x_on_behalf_of is not None:
            caller = caller.model_copy(
                update={"actor": Actor(id=x_on_behalf_of, kind=ActorKind.USER)}
            )
        caller = caller.model_copy(update={"record_source": x_record_source})
    # The access log names whoever was let in (see shared.auth.access_recording).
    request.state.caller = caller
    return caller


def check_token(request: Request) -> None:
    """Refuses a request without a valid bearer token (for answers given before the
    dependencies run, e.g. a body that is not JSON: those too must not skip the 401)."""
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not credentials.strip():
        raise NotAuthenticatedError()
    verifier: TokenVerifier = request.app.state.tokens
    verifier.verify(credentials.strip())


def require(permission: Permission) -> Callable[[Caller], Caller]:
    """A route anyone with ``permission`` may call."""

    def dependency(caller: Annotated[Caller, Depends(authenticated)]) -> Caller:
        if not caller.may(permission):
            raise PermissionMissingError(caller.role.value, permission.value)
        return caller

    return dependency


class AnswersForClients(Protocol):
    def responsible_organisation(self, client_id: UUID) -> str | None: ...


def client_access(
    service: str, permission: Permission, *, opens: bool = False, unrestricted: bool = False
) -> Callable[[Request, UUID, Caller], Caller]:
    """A route about the client in the path: ``permission``, and the client is one the
    caller's organisation answers for (unless the role reaches every organisation).

    ``opens``: the route may start this service's record of a client it does not know yet.
    ``unrestricted``: the route uses the client's data, so it is refused (409
    ``processing_restricted``) while the client's processing is restricted (GDPR Art. 18:
    kept, not used) — a command's answer would show the case as a read does."""

    def application(request: Request) -> ServiceApplication:
        found: ServiceApplication = request.app.state.applications[service]
        return found

    checked = client_access_by(application, permission, opens=opens)
    if not unrestricted:
        return checked

    def dependency(
        request: Request, client_id: UUID, caller: Annotated[Caller, Depends(checked)]
    ) -> Caller:
        if application(request).processing_restricted(client_id):
            raise ProcessingRestrictedError()
        return caller

    return dependency


def client_access_by(
    answers: Callable[[Request], AnswersForClients], permission: Permission, *, opens: bool = False
) -> Callable[[Request, UUID, Caller], Caller]:
    """As ``client_access``, with who answers for the client told by ``answers`` (e.g. the
    read side's projections, in a process that hosts no service)."""

    def dependency(
        request: Request,
        client_id: UUID,
        caller: Annotated[Caller, Depends(require(permission))],
    ) -> Caller:
        if caller.may(Permission.ANY_ORGANISATION):
            return caller
        responsible = answers(request).responsible_organisation(client_id)
        if responsible is None:
            if opens:
                return caller
            raise NotFoundError(f"client {client_id}")
        if responsible != caller.organisation:
            raise OtherOrganisationError()
        return caller

    return dependency


def may_see(request: Request, service: str, caller: Caller, client_id: UUID | None) -> bool:
    """Whether ``caller`` may learn of ``client_id`` (e.g. in a lookup's answer)."""
    if client_id is None or caller.may(Permission.ANY_ORGANISATION):
        return True
    app: ServiceApplication = request.app.state.applications[service]
    return app.responsible_organisation(client_id) == caller.organisation
