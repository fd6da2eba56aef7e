"""The data subject's copy as a document a person can read: HTML in the person's language.

The wording is the catalogues' (``shared.i18n``, ids ``subject_access.*`` and ``event.*``),
so the document exists in every language they hold: Finnish, Swedish and English. The
client's own language is used where it is one of those (their service languages first, then
their mother tongue); otherwise the one asked for, else Finnish, Swedish or English as the
caller's ``Accept-Language`` prefers. (Notifications' letters also come in Ukrainian,
Russian, Arabic and Somali; this document does not yet: its texts are not translated.)

No PDF: no well-kept PDF renderer is installed here; a browser prints the HTML.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any

from babel.dates import format_date, format_datetime
from jinja2 import Environment, FileSystemLoader, StrictUndefined, Template

from services.readside.subject_access import SubjectAccessCopy
from shared import i18n
from shared.clock import HELSINKI

TEMPLATES = Path(__file__).resolve().parent / "templates"


def document_language(
    asked: str | None, client_languages: Iterable[str | None], accept_language: str | None
) -> str:
    """The client's language where the document exists in it; else the one ``asked`` for;
    else the caller's preference among Finnish, Swedish and English."""
    for language in client_languages:
        if language in i18n.LANGUAGES:
            return language
    if asked in i18n.LANGUAGES:
        assert asked is not None
        return asked
    return i18n.negotiate(accept_language)


@cache
def _template() -> Template:
    environment = Environment(
        loader=FileSystemLoader(TEMPLATES),
        undefined=StrictUndefined,
        autoescape=True,  # every value from the records is escaped
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return environment.get_template("subject_access.html.j2")


def render(copy: SubjectAccessCopy, language: str) -> str:
    def t(message_id: str) -> str:
        return i18n.text(f"subject_access.{message_id}", language)

    def event_name(event_type: str) -> str:
        key = f"event.{event_type}"
        return i18n.text(key, language) if i18n.has(key) else event_type

    def day(value: date | None) -> str:
        return "" if value is None else str(format_date(value, "long", locale=language))

    def moment(value: datetime) -> str:
        return str(
            format_datetime(value.astimezone(HELSINKI), "medium", locale=language, tzinfo=HELSINKI)
        )

    def shown(value: Any) -> str:
        """A recorded value as text: nested values as compact JSON."""
        if isinstance(value, str):
            return value
        return json.dumps(value, ensure_ascii=False, separators=(", ", ": "), default=str)

    identity = copy.identity
    return _template().render(
        language=language,
        copy=copy,
        identity=identity,
        t=t,
        event_name=event_name,
        day=day,
        moment=moment,
        shown=shown,
        sections=[
            ("client", copy.client),
            ("assessments", copy.assessments),
            ("plans", copy.plans),
            ("reminders", copy.reminders),
        ],
    )
