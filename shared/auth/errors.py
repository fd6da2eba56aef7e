"""Refusals of the staff API, with texts in Finnish, Swedish and English like every error."""

from __future__ import annotations

from shared.errors import DomainError


class AccessError(DomainError):
    """Base of the refusals; ``status`` is the HTTP status they are answered with."""

    status = 403


class NotAuthenticatedError(AccessError):
    status = 401
    code = "not_authenticated"
    texts = {
        "fi": "Kirjaudu sisään: pyynnöstä puuttuu voimassa oleva tunniste (bearer token)",
        "sv": "Logga in: begäran saknar en giltig token (bearer token)",
        "en": "Sign in: the request lacks a valid bearer token",
    }


class ForbiddenError(AccessError):
    status = 403
    code = "forbidden"
    texts = {
        "fi": "Sinulla ei ole oikeutta tähän",
        "sv": "Du har inte behörighet till detta",
        "en": "You are not allowed to do this",
    }


class OtherOrganisationError(ForbiddenError):
    code = "client_of_another_organisation"
    texts = {
        "fi": "Asiakkaasta vastaa toinen organisaatio",
        "sv": "En annan organisation ansvarar för klienten",
        "en": "Another organisation is responsible for the client",
    }


class IssuerUnavailableError(AccessError):
    status = 503
    code = "issuer_unavailable"
    texts = {
        "fi": "Tunnisteen myöntäjän avaimia ei saatu; yritä hetken päästä uudelleen",
        "sv": "Utfärdarens nycklar kunde inte hämtas; försök igen om en stund",
        "en": "The token issuer's keys could not be fetched; try again shortly",
    }
