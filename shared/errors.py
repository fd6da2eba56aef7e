"""Errors a person may see. Each carries a stable code and texts in Finnish, Swedish, English."""

from __future__ import annotations


class DomainError(Exception):
    """A command the current state does not allow; answered 409 by the API."""

    code = "domain_error"
    texts: dict[str, str] = {}

    def __init__(self, detail: str = "") -> None:
        super().__init__(detail or self.texts.get("en", self.code))
        self.detail = detail

    def message(self, language: str = "en") -> str:
        base = self.texts.get(language) or self.texts.get("en") or self.code
        return f"{base} ({self.detail})" if self.detail else base


class NotYetError(DomainError):
    """The message names something not known yet, which another message is expected to
    bring (e.g. a fact about a person whose registration is still on its way): it is tried
    again later, not refused."""


class InconsistentStateError(RuntimeError):
    """Our own records disagree with each other: never the sender's fault. A message that
    meets one is retried, and the failure is reported loudly (see ``kotoutus doctor``)."""


class NotFoundError(DomainError):
    code = "not_found"
    texts = {"fi": "Tietoa ei löydy", "sv": "Uppgiften hittas inte", "en": "Not found"}


class ConcurrentUpdateError(DomainError):
    code = "concurrent_update"
    texts = {
        "fi": "Joku muu muutti tietoa samaan aikaan; yritä uudelleen",
        "sv": "Någon annan ändrade uppgiften samtidigt; försök igen",
        "en": "Someone else changed this at the same time; try again",
    }
