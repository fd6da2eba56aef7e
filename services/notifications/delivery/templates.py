"""Messages rendered from Jinja2 template files in the recipient's language.

Layout of ``services/notifications/templates``:

* ``<kind>/<language>.j2`` — one file per message kind and language, with two blocks:
  ``subject`` (one line; whitespace is collapsed) and ``text`` (the plain-text body).
* ``_layout.html.j2`` — the HTML part, made from the text body: paragraphs are the text's
  blank-line-separated blocks, escaped by autoescape. One wording per language and kind, so
  the text and HTML parts cannot drift apart, and a translator edits plain text only.
* ``_terms/<language>.j2`` — shared vocabulary (deadline kinds, appointment purposes,
  referral services); its top-level ``set`` variables reach every message template of that
  language as ``terms`` (``terms.purposes[purpose]``).
* ``_missed_fee/<language>.j2`` — the notice of 681/2023 §32a(1) that an appointment letter
  (or confirmation) of an interpreted appointment gives: the fee for missing it, and how to
  cancel.

Files and folders starting with ``_`` are partials; every other file must be a (kind, language)
of ``OFFERED``, which a test checks both ways. Dates, weekdays, times and language names come
from Babel in the message's language; times are shown in Europe/Helsinki.

Over 350 lines on purpose: each message kind's context model sits beside the rendering that
fills its template, since a template's variables are its context's fields and the two are
changed (and reviewed) together.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import Any, Literal

from babel import Locale
from babel.dates import format_date, format_time
from babel.numbers import format_currency
from jinja2 import Environment, FileSystemLoader, StrictUndefined, Template, pass_context
from jinja2.runtime import Context
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from shared.clock import HELSINKI
from shared.contracts.assessment import ReferralService
from shared.languages import LanguageCode

TEMPLATE_DIR = Path(__file__).resolve().parent.parent / "templates"


class Audience(StrEnum):
    CLIENT = "client"
    STAFF = "staff"
    PARTNER = "partner"


class MessageKind(StrEnum):
    APPOINTMENT_LETTER = "appointment_letter"
    APPOINTMENT_CONFIRMATION = "appointment_confirmation"
    DEADLINE_REMINDER = "deadline_reminder"
    OVERDUE_ALERT = "overdue_alert"
    DAILY_DIGEST = "daily_digest"
    REFERRAL_NOTICE = "referral_notice"
    RESPONSIBILITY_NOTICE = "responsibility_notice"


# The languages of the issue (#6): clients in the seven most common languages of newcomers to
# Finland plus the official ones; staff and partners in Finnish, Swedish and English.
CLIENT_LANGUAGES: tuple[str, ...] = ("fi", "sv", "en", "uk", "ru", "ar", "so")
WORK_LANGUAGES: tuple[str, ...] = ("fi", "sv", "en")

AUDIENCE: Mapping[MessageKind, Audience] = {
    MessageKind.APPOINTMENT_LETTER: Audience.CLIENT,
    MessageKind.APPOINTMENT_CONFIRMATION: Audience.CLIENT,
    MessageKind.DEADLINE_REMINDER: Audience.STAFF,
    MessageKind.OVERDUE_ALERT: Audience.STAFF,
    MessageKind.DAILY_DIGEST: Audience.STAFF,
    MessageKind.REFERRAL_NOTICE: Audience.PARTNER,
    MessageKind.RESPONSIBILITY_NOTICE: Audience.PARTNER,
}

OFFERED: Mapping[MessageKind, tuple[str, ...]] = {
    kind: CLIENT_LANGUAGES if audience is Audience.CLIENT else WORK_LANGUAGES
    for kind, audience in AUDIENCE.items()
}


def choose_language(
    kind: MessageKind, wanted: Sequence[str], *, official: Literal["fi", "sv"] = "fi"
) -> str:
    """The language to write ``kind`` in for a recipient who reads ``wanted`` (best first).

    Rule: the first wanted language the kind is offered in. Failing that, a client gets
    English — someone whose languages we do not write is more likely to read English than
    Finnish or Swedish early on, and the letter says an interpreter will be there when one is
    booked — unless we know no language of theirs at all, when they get the municipality's
    official language (``official``: Finnish, or Swedish in a Swedish-speaking municipality).
    Staff and partners get the official language.
    """
    offered = OFFERED[kind]
    for code in wanted:
        if code in offered:
            return code
    if AUDIENCE[kind] is Audience.CLIENT and wanted:
        return "en"
    return official


# --- What each kind needs to be rendered ---------------------------------------------------


class MessageContext(BaseModel):
    """What a template is rendered from; one subclass per message kind."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class AppointmentPurpose(StrEnum):
    INITIAL_ASSESSMENT = "initial_assessment"
    INTEGRATION_PLAN = "integration_plan"
    PLAN_REVIEW = "plan_review"
    GUIDANCE = "guidance"


class Appointment(MessageContext):
    """An appointment letter (an invitation) or its confirmation, for the client."""

    client_name: str = Field(min_length=1, max_length=200)
    purpose: AppointmentPurpose
    starts_at: AwareDatetime
    place: str = Field(min_length=1, max_length=300)
    organisation: str = Field(min_length=1, max_length=200)
    contact_name: str = Field(min_length=1, max_length=200)
    contact_phone: str | None = None
    contact_email: str | None = None
    interpreter_language: LanguageCode | None = Field(
        default=None, description="Set when an interpreter has been booked for this language."
    )
    missed_fee_eur: Decimal | None = Field(
        default=None,
        description="Set when the appointment is interpreted: the most its interpreting may "
        "cost the client if missed (681/2023 §32a(1)); the letter then says so and how to "
        "cancel.",
    )


DeadlineKind = Literal[
    "assessment-start", "plan-preparation", "enrolment", "plan-review", "subject-access"
]


# Staff and partner messages name the client by case reference only: email is not a place for
# personal data, and the link leads to the case behind the staff login.
class DeadlineReminder(MessageContext):
    recipient_name: str
    deadline_kind: DeadlineKind
    due: date
    as_of: date = Field(description="The day the reminder goes out; counts the days left.")
    client_reference: str
    organisation: str
    link: str | None = None

    @property
    def days_left(self) -> int:
        return (self.due - self.as_of).days


class OverdueAlert(MessageContext):
    """To the supervisor of the responsible organisation, once a deadline has passed."""

    supervisor_name: str
    responsible_worker: str | None = None
    deadline_kind: DeadlineKind
    due: date
    as_of: date
    client_reference: str
    organisation: str
    link: str | None = None

    @property
    def days_overdue(self) -> int:
        return (self.as_of - self.due).days


class DigestItem(MessageContext):
    deadline_kind: DeadlineKind
    due: date
    client_reference: str
    link: str | None = None


class DailyDigest(MessageContext):
    recipient_name: str
    day: date
    items: tuple[DigestItem, ...] = Field(min_length=1)


class ReferralNotice(MessageContext):
    partner_name: str
    from_organisation: str
    service: ReferralService
    referred_on: date
    client_reference: str
    contact_name: str
    contact_email: str | None = None
    contact_phone: str | None = None


class ResponsibilityNotice(MessageContext):
    partner_name: str
    from_organisation: str
    effective_from: date
    client_reference: str
    reason: str = Field(description="As recorded; shown as given, not translated.")
    contact_name: str
    contact_email: str | None = None
    contact_phone: str | None = None


CONTEXT_TYPE: Mapping[MessageKind, type[MessageContext]] = {
    MessageKind.APPOINTMENT_LETTER: Appointment,
    MessageKind.APPOINTMENT_CONFIRMATION: Appointment,
    MessageKind.DEADLINE_REMINDER: DeadlineReminder,
    MessageKind.OVERDUE_ALERT: OverdueAlert,
    MessageKind.DAILY_DIGEST: DailyDigest,
    MessageKind.REFERRAL_NOTICE: ReferralNotice,
    MessageKind.RESPONSIBILITY_NOTICE: ResponsibilityNotice,
}


# --- Rendering -----------------------------------------------------------------------------


class Rendered(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: MessageKind
    language: str
    subject: str
    text: str
    html: str


class TemplateMissingError(LookupError):
    pass


# Babel names Dari by its locale, not by the ISO 639-3 code the contracts use.
_BABEL_CODE = {"prs": "fa_AF"}


def _locale(language: str) -> Locale:
    return Locale.parse(_BABEL_CODE.get(language, language))


def language_name(code: str, in_language: str) -> str:
    """``code``'s name in ``in_language`` ("arabia" in Finnish, "арабська" in Ukrainian), the
    English name where Babel has none, the code itself as a last resort."""
    key = _BABEL_CODE.get(code, code)
    for locale in (_locale(in_language), Locale.parse("en")):
        name = locale.languages.get(key) or locale.languages.get(key.split("_")[0])
        if name:
            return str(name)
    return code


def text_direction(language: str) -> Literal["ltr", "rtl"]:
    return "rtl" if _locale(language).character_order == "right-to-left" else "ltr"


def _local_day(value: date | datetime) -> date:
    return value.astimezone(HELSINKI).date() if isinstance(value, datetime) else value


@pass_context
def _long_date(context: Context, value: date | datetime) -> str:
    """Weekday, day, month and year in the message's language: "perjantai 14. maaliskuuta"."""
    return str(format_date(_local_day(value), format="full", locale=context["locale"]))


@pass_context
def _short_date(context: Context, value: date | datetime) -> str:
    return str(format_date(_local_day(value), format="medium", locale=context["locale"]))


@pass_context
def _clock_time(context: Context, value: datetime) -> str:
    return str(format_time(value, format="short", tzinfo=HELSINKI, locale=context["locale"]))


@pass_context
def _euros(context: Context, value: Decimal) -> str:
    return str(format_currency(value, "EUR", locale=context["locale"]))


@pass_context
def _language_name(context: Context, code: str) -> str:
    return language_name(code, context["language"])


def _environment(*, autoescape: bool) -> Environment:
    environment = Environment(
        loader=FileSystemLoader(TEMPLATE_DIR),
        # A misspelt variable must fail the test that renders every template, not print "".
        undefined=StrictUndefined,
        autoescape=autoescape,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )
    environment.filters.update(
        long_date=_long_date,
        short_date=_short_date,
        clock=_clock_time,
        euros=_euros,
        language_name=_language_name,
    )
    return environment


# Two environments on the same files: the subject and text are plain text and must not be
# HTML-escaped; the HTML layout escapes everything that comes into it.
_TEXT = _environment(autoescape=False)
_HTML = _environment(autoescape=True)


def template_name(kind: MessageKind, language: str) -> str:
    return f"{kind.value}/{language}.j2"


def _render_block(template: Template, block: str, variables: dict[str, Any]) -> str:
    if block not in template.blocks:
        raise TemplateMissingError(f"{template.name} has no {block!r} block")
    return "".join(template.blocks[block](template.new_context(variables)))


@cache
def _text_template(name: str) -> Template:
    return _TEXT.get_template(name)


@cache
def _terms(language: str) -> Any:
    # Passed in rather than imported by each template: a block rendered on its own does not
    # see the template's top-level imports.
    return _TEXT.get_template(f"_terms/{language}.j2").make_module()


def paragraphs(text: str) -> list[list[str]]:
    """The text's blank-line-separated blocks, each as its lines."""
    blocks = [block.strip("\n") for block in text.split("\n\n")]
    return [block.split("\n") for block in blocks if block.strip()]


def render(kind: MessageKind, language: str, context: BaseModel) -> Rendered:
    """``kind`` in ``language`` for ``context`` (the kind's ``CONTEXT_TYPE``)."""
    if language not in OFFERED[kind]:
        raise TemplateMissingError(f"{kind.value} is not offered in {language!r}")
    expected = CONTEXT_TYPE[kind]
    if not isinstance(context, expected):
        raise TypeError(f"{kind.value} needs a {expected.__name__}")
    variables: dict[str, Any] = {
        **{name: getattr(context, name) for name in type(context).model_fields},
        # Computed values (days left…) are properties; pass them too.
        **{
            name: getattr(context, name)
            for name, value in vars(type(context)).items()
            if isinstance(value, property)
        },
        "language": language,
        "locale": _locale(language),
        "terms": _terms(language),
    }
    template = _text_template(template_name(kind, language))
    subject = " ".join(_render_block(template, "subject", variables).split())
    text = _render_block(template, "text", variables).strip() + "\n"
    html = _HTML.get_template("_layout.html.j2").render(
        language=language,
        direction=text_direction(language),
        subject=subject,
        paragraphs=paragraphs(text),
    )
    return Rendered(kind=kind, language=language, subject=subject, text=text, html=html)


def template_files() -> set[tuple[str, str]]:
    """Every (kind, language) that has a template file, partials excluded."""
    found: set[tuple[str, str]] = set()
    for path in TEMPLATE_DIR.rglob("*"):
        relative = path.relative_to(TEMPLATE_DIR)
        if path.is_dir() or any(part.startswith("_") for part in relative.parts):
            continue
        found.add((relative.parent.as_posix(), relative.name.removesuffix(".j2")))
    return found
