"""Errors a person may see. Each carries a stable code; its texts, in Finnish, Swedish and
English, are the message of that code in the catalogues (``shared.i18n``)."""

from __future__ import annotations

from shared import i18n


class DomainError(Exception):
    """A command the current state does not allow; answered 409 by the API.

    ``params`` fill the placeholders of the code's text in every language (a ``i18n.Term`` is
    itself translated). ``detail`` is free English for the operators and English readers (a
    rule's citation, the ids involved): it is added to the English text only, and the API gives
    it as its own member (``debug``), never inside the Finnish or Swedish text."""

    code = "domain_error"
    message_id: str | None = None
    """The catalogue's id of the text, when it is not the code (a case of a general code)."""
    public_detail = True
    """Whether ``detail`` may be shown to the caller (not when it names hosts or internals)."""

    def __init__(self, detail: str = "", **params: object) -> None:
        self.detail = detail
        self.params = params
        super().__init__(detail or self.text("en"))

    def text(self, language: str = "en") -> str:
        """The text of the code in ``language``, its parameters filled in."""
        return i18n.text(self.message_id or self.code, language, **self.params)

    def message(self, language: str = "en") -> str:
        base = self.text(language)
        if language == "en" and self.debug:
            return f"{base} ({self.debug})"
        return base

    @property
    def debug(self) -> str | None:
        """The English detail the caller may see, if any."""
        return (self.detail or None) if self.public_detail else None


class NotYetError(DomainError):
    """The message names something not known yet, which another message is expected to
    bring (e.g. a fact about a person whose registration is still on its way): it is tried
    again later, not refused."""


class InconsistentStateError(RuntimeError):
    """Our own records disagree with each other: never the sender's fault. A message that
    meets one is retried, and the failure is reported loudly (see ``kotoutus doctor``)."""


class NotFoundError(DomainError):
    code = "not_found"


class ConcurrentUpdateError(DomainError):
    code = "concurrent_update"


class InvalidValueError(ValueError):
    """A value a validator refuses, by a code of the catalogue (``field.<code>``), whose
    texts never repeat the value. Raised in a pydantic validator it is a ``value_error`` whose
    code the API gives instead; elsewhere it is the plain ``ValueError`` it always was, its
    English text its message.

    ``at``: a JSON Pointer, relative to the model that validates, to the field at fault when a
    validator of the whole model refuses one of its fields. ``params`` fill the text's
    placeholders: what the schema allows, never the value refused."""

    def __init__(self, code: str, *, at: str = "", **params: object) -> None:
        self.code = code
        self.at = at
        self.params = params
        super().__init__(self.text("en"))

    def text(self, language: str = "en") -> str:
        return i18n.text(self.message_id, language, **self.params)

    @property
    def message_id(self) -> str:
        return f"field.{self.code}"
