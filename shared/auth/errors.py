"""Refusals of the staff API, with texts in Finnish, Swedish and English like every error
(the catalogues of ``shared.i18n``)."""

from __future__ import annotations

from shared.errors import DomainError
from shared.i18n import Term


class AccessError(DomainError):
    """Base of the refusals; ``status`` is the HTTP status they are answered with."""

    status = 403


class NotAuthenticatedError(AccessError):
    status = 401
    code = "not_authenticated"


class ForbiddenError(AccessError):
    status = 403
    code = "forbidden"


class PermissionMissingError(ForbiddenError):
    """The caller's role does not include the permission the route needs."""

    message_id = "forbidden.permission_missing"

    def __init__(self, role: str, permission: str) -> None:
        super().__init__(role=Term(f"role.{role}"), permission=Term(f"permission.{permission}"))
        self.role = role
        self.permission = permission


class NotOneRoleError(ForbiddenError):
    """A token with none of our roles, or more than one."""

    message_id = "forbidden.one_role"


class NotAnIntegrationError(ForbiddenError):
    """Only integrations name another author or the record a step was imported from."""

    message_id = "forbidden.not_an_integration"


class OtherOrganisationError(ForbiddenError):
    code = "client_of_another_organisation"


class IssuerUnavailableError(AccessError):
    status = 503
    code = "issuer_unavailable"
    public_detail = False  # names the issuer's addresses: the log has it, not the caller
