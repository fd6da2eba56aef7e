"""Texts people read, in Finnish, Swedish and English: one gettext catalogue per language,
``shared/i18n/<language>/LC_MESSAGES/kotoutus.po``, read at runtime with Babel.

A message id is an error's code (``not_found``), or a code and a part (``forbidden.one_role``,
``field.missing``, ``role.auditor``). A text may name parameters in braces (``{planned}``),
filled in the same way in every language; a parameter that is itself a ``Term`` is a message of
the catalogue, translated too (a role, a permission). Nothing of a request's input is ever a
parameter: the texts may be shown to anyone who can reach the API."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

from babel.messages.pofile import read_po

__all__ = [
    "DEFAULT_LANGUAGE",
    "LANGUAGES",
    "Term",
    "catalogue",
    "has",
    "negotiate",
    "text",
    "texts",
]

LANGUAGES = ("fi", "sv", "en")
DEFAULT_LANGUAGE = "en"
DOMAIN = "kotoutus"
HERE = Path(__file__).parent


@dataclass(frozen=True)
class Term:
    """A parameter that is itself a message of the catalogue (e.g. ``role.auditor``)."""

    id: str


def path_of(language: str) -> Path:
    return HERE / language / "LC_MESSAGES" / f"{DOMAIN}.po"


@cache
def catalogue(language: str) -> dict[str, str]:
    """The language's translated messages by id (fuzzy and empty ones left out)."""
    with path_of(language).open("rb") as po:
        read = read_po(po, locale=language, domain=DOMAIN)
    return {
        message.id: message.string
        for message in read
        if message.id
        and isinstance(message.id, str)
        and isinstance(message.string, str)
        and message.string
        and not message.fuzzy
    }


def has(message_id: str) -> bool:
    return message_id in catalogue(DEFAULT_LANGUAGE)


class _Kept(dict[str, str]):
    """A parameter the caller did not give stays as its placeholder, never an error."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def text(message_id: str, language: str = DEFAULT_LANGUAGE, /, **params: object) -> str:
    """The message in ``language`` (English if that has none; the id if no language has)."""
    if language not in LANGUAGES:
        language = DEFAULT_LANGUAGE
    template = (
        catalogue(language).get(message_id)
        or catalogue(DEFAULT_LANGUAGE).get(message_id)
        or message_id
    )
    if not params:
        return template
    values = _Kept(
        {
            name: text(value.id, language) if isinstance(value, Term) else str(value)
            for name, value in params.items()
        }
    )
    return template.format_map(values)


def texts(message_id: str, /, **params: object) -> dict[str, str]:
    """The message in every language."""
    return {language: text(message_id, language, **params) for language in LANGUAGES}


def negotiate(accept_language: str | None) -> str:
    """The language of ours the caller prefers most by ``Accept-Language`` (RFC 9110 §12.5.4:
    quality values, ``*``, region subtags such as ``sv-FI``); English if none of ours."""
    best: tuple[float, int, str] | None = None
    for position, part in enumerate((accept_language or "").split(",")):
        tag, *parameters = (piece.strip() for piece in part.split(";"))
        quality = 1.0
        for parameter in parameters:
            name, _, value = parameter.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        primary = tag.split("-")[0].lower()
        language = DEFAULT_LANGUAGE if primary == "*" else primary
        if language not in LANGUAGES or quality <= 0:
            continue
        candidate = (-quality, position, language)
        if best is None or candidate < best:
            best = candidate
    return best[2] if best else DEFAULT_LANGUAGE
