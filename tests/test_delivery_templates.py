"""Templates: every offered (kind, language) exists and renders, nothing else exists, dates and
language names are in the message's language, Arabic is right-to-left; and a rendered Arabic
letter goes through a real SMTP server intact."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, datetime
from html import escape
from pathlib import Path

import pytest
from pydantic import BaseModel

from services.notifications.delivery import compose
from services.notifications.delivery.config import DeliverySettings
from services.notifications.delivery.message import Attachment
from services.notifications.delivery.smtp import SmtpChannel, SmtpSettings
from services.notifications.delivery.templates import (
    OFFERED,
    Appointment,
    AppointmentPurpose,
    DailyDigest,
    DeadlineReminder,
    DigestItem,
    MessageKind,
    OverdueAlert,
    ReferralNotice,
    ResponsibilityNotice,
    TemplateMissingError,
    choose_language,
    language_name,
    render,
    template_files,
)
from shared.clock import HELSINKI
from shared.contracts.assessment import ReferralService
from tests.servers import SmtpInbox, running_smtp

# Friday 14 March 2025, 09:30 in Helsinki.
STARTS = datetime(2025, 3, 14, 9, 30, tzinfo=HELSINKI)

APPOINTMENT = Appointment(
    client_name="Amina Hassan",
    purpose=AppointmentPurpose.INITIAL_ASSESSMENT,
    starts_at=STARTS,
    place="Vapaudenkatu 8, Kemijärvi",
    organisation="Kemijärven kaupunki",
    contact_name="Liisa Ohjaaja",
    contact_phone="040 123 4567",
    contact_email="liisa.ohjaaja@kemijarvi.example",
    interpreter_language="so",
)

SAMPLES: dict[MessageKind, BaseModel] = {
    MessageKind.APPOINTMENT_LETTER: APPOINTMENT,
    MessageKind.APPOINTMENT_CONFIRMATION: APPOINTMENT,
    MessageKind.DEADLINE_REMINDER: DeadlineReminder(
        recipient_name="Liisa",
        deadline_kind="assessment-start",
        due=date(2025, 3, 31),
        as_of=date(2025, 3, 17),
        client_reference="KT-2025-0042",
        organisation="Kemijärven kaupunki",
        link="https://kotoutus.example/clients/42",
    ),
    MessageKind.OVERDUE_ALERT: OverdueAlert(
        supervisor_name="Pekka",
        responsible_worker="Liisa",
        deadline_kind="plan-preparation",
        due=date(2025, 3, 10),
        as_of=date(2025, 3, 11),
        client_reference="KT-2025-0042",
        organisation="Kemijärven kaupunki",
    ),
    MessageKind.DAILY_DIGEST: DailyDigest(
        recipient_name="Liisa",
        day=date(2025, 3, 14),
        items=(
            DigestItem(deadline_kind="enrolment", due=date(2025, 3, 13), client_reference="KT-1"),
            DigestItem(deadline_kind="plan-review", due=date(2025, 3, 14), client_reference="KT-2"),
            DigestItem(
                deadline_kind="assessment-start", due=date(2025, 3, 28), client_reference="KT-3"
            ),
        ),
    ),
    MessageKind.REFERRAL_NOTICE: ReferralNotice(
        partner_name="Kemijärven kansalaisopisto",
        from_organisation="Kemijärven kaupunki",
        service=ReferralService.ADULT_EDUCATION_INSTITUTE,
        referred_on=date(2025, 3, 14),
        client_reference="KT-2025-0042",
        contact_name="Liisa Ohjaaja",
        contact_email="liisa.ohjaaja@kemijarvi.example",
    ),
    MessageKind.RESPONSIBILITY_NOTICE: ResponsibilityNotice(
        partner_name="Lapin työllisyysalue",
        from_organisation="Kemijärven kaupunki",
        effective_from=date(2025, 1, 1),
        client_reference="KT-2025-0042",
        reason="registered as a jobseeker",
        contact_name="Liisa Ohjaaja",
        contact_phone="040 123 4567",
    ),
}

PAIRS = [(kind, language) for kind, languages in OFFERED.items() for language in languages]


def test_every_offered_template_exists_and_nothing_else() -> None:
    assert set(SAMPLES) == set(MessageKind)
    assert {(kind.value, language) for kind, language in PAIRS} == template_files()


@pytest.mark.parametrize(
    ("kind", "language"), PAIRS, ids=[f"{k.value}-{lang}" for k, lang in PAIRS]
)
def test_every_template_renders(kind: MessageKind, language: str) -> None:
    rendered = render(kind, language, SAMPLES[kind])
    assert rendered.subject and "\n" not in rendered.subject
    assert rendered.text.strip() and "{{" not in rendered.text and "{%" not in rendered.text
    direction = "rtl" if language == "ar" else "ltr"
    assert f'<html lang="{language}" dir="{direction}">' in rendered.html
    assert f"<title>{escape(rendered.subject, quote=False)}</title>" in rendered.html.replace(
        "&#39;", "'"
    )


@pytest.mark.parametrize(
    ("language", "weekday", "interpreter"),
    [
        ("fi", "perjantai", "somali"),
        ("sv", "fredag", "somaliska"),
        ("en", "Friday", "Somali"),
        ("uk", "пʼятниця", "сомалі"),
        ("ru", "пятница", "сомали"),
        ("ar", "الجمعة", "الصومالية"),
        ("so", "Jimco", "Soomaali"),
    ],
)
def test_client_letters_speak_the_clients_language(
    language: str, weekday: str, interpreter: str
) -> None:
    for kind in (MessageKind.APPOINTMENT_LETTER, MessageKind.APPOINTMENT_CONFIRMATION):
        rendered = render(kind, language, APPOINTMENT)
        assert weekday in rendered.text
        assert interpreter in rendered.text
        assert language_name("so", language) == interpreter
        assert "Vapaudenkatu 8, Kemijärvi" in rendered.text
        # 09:30 in Helsinki, whatever the zone the appointment was given in.
        assert "9" in rendered.text and "30" in rendered.text


def test_interpreter_is_mentioned_only_when_booked() -> None:
    without = APPOINTMENT.model_copy(update={"interpreter_language": None})
    assert "tulkki" in render(MessageKind.APPOINTMENT_LETTER, "fi", APPOINTMENT).text
    assert "tulkki" not in render(MessageKind.APPOINTMENT_LETTER, "fi", without).text
    assert "تْرجم" not in render(MessageKind.APPOINTMENT_LETTER, "ar", without).text
    assert "مترجم" not in render(MessageKind.APPOINTMENT_LETTER, "ar", without).text


def test_times_are_shown_in_helsinki_time() -> None:
    utc = APPOINTMENT.model_copy(update={"starts_at": datetime.fromisoformat("2025-03-14T07:30Z")})
    assert "klo 9.30" in render(MessageKind.APPOINTMENT_LETTER, "fi", utc).text


def test_html_is_escaped_but_text_is_not() -> None:
    tricky = APPOINTMENT.model_copy(update={"client_name": "Amina <script>x</script> & co"})
    rendered = render(MessageKind.APPOINTMENT_LETTER, "en", tricky)
    assert "Amina <script>x</script> & co" in rendered.text
    assert "<script>" not in rendered.html
    assert "Amina &lt;script&gt;x&lt;/script&gt; &amp; co" in rendered.html


def test_render_refuses_what_is_not_offered() -> None:
    with pytest.raises(TemplateMissingError):
        render(MessageKind.DEADLINE_REMINDER, "ar", SAMPLES[MessageKind.DEADLINE_REMINDER])
    with pytest.raises(TypeError):
        render(MessageKind.APPOINTMENT_LETTER, "fi", SAMPLES[MessageKind.DAILY_DIGEST])


def test_language_fallback_rule() -> None:
    letter = MessageKind.APPOINTMENT_LETTER
    assert choose_language(letter, ["ar", "en"]) == "ar"
    # Dari and Tigrinya are not offered; Russian, the client's second language, is.
    assert choose_language(letter, ["prs", "ru"]) == "ru"
    # No language of theirs is offered: English.
    assert choose_language(letter, ["prs", "ti"]) == "en"
    # Nothing known: the municipality's official language.
    assert choose_language(letter, []) == "fi"
    assert choose_language(letter, [], official="sv") == "sv"
    reminder = MessageKind.DEADLINE_REMINDER
    assert choose_language(reminder, ["sv"]) == "sv"
    assert choose_language(reminder, ["uk"]) == "fi"
    assert choose_language(reminder, ["uk"], official="sv") == "sv"
    # Dari's name comes from Babel's fa_AF.
    assert language_name("prs", "en") == "Dari"


def test_partner_notice_body_is_stable_json() -> None:
    sample = SAMPLES[MessageKind.REFERRAL_NOTICE]
    assert isinstance(sample, ReferralNotice)
    rendered = render(MessageKind.REFERRAL_NOTICE, "en", sample)
    first = compose.webhook(rendered, sample, message_id="ref-1", url="https://p.example/h")
    again = compose.webhook(rendered, sample, message_id="ref-1", url="https://p.example/h")
    assert first.text == again.text
    body = json.loads(first.text)
    assert body["type"] == "referral_notice"
    assert body["data"]["service"] == "adult_education_institute"
    assert body["data"]["client_reference"] == "KT-2025-0042"
    assert "adult education centre" in body["text"]


# --- Through a real SMTP server --------------------------------------------------------------


@pytest.fixture
def smtp() -> Iterator[tuple[SmtpInbox, int]]:
    with running_smtp() as server:
        yield server.inbox, server.port


async def test_arabic_letter_arrives_right_to_left(smtp: tuple[SmtpInbox, int]) -> None:
    inbox, port = smtp
    rendered = render(MessageKind.APPOINTMENT_LETTER, "ar", APPOINTMENT)
    message = compose.email(
        rendered,
        message_id="letter-ar-1",
        recipient="amina@example.org",
        attachments=(
            Attachment(filename="kartta.pdf", content_type="application/pdf", content=b"%PDF"),
        ),
    )
    channel = SmtpChannel(
        SmtpSettings(host="127.0.0.1", port=port, tls="none", from_address="k@kemijarvi.example")
    )
    assert (await channel.send(message)).delivered

    [(_, mail)] = inbox.received
    assert mail["To"] == "amina@example.org"
    assert mail["Subject"] == rendered.subject
    assert mail["Subject"].startswith("دعوة إلى موعد")
    assert mail["Content-Language"] == "ar"
    assert mail["X-Kotoutus-Kind"] == "appointment_letter"
    text = mail.get_body(preferencelist=("plain",))
    html = mail.get_body(preferencelist=("html",))
    assert text is not None and html is not None
    assert "الجمعة" in text.get_content() and "الصومالية" in text.get_content()
    assert '<html lang="ar" dir="rtl">' in html.get_content()
    assert "مرحبًا Amina Hassan" in html.get_content()
    [attachment] = mail.iter_attachments()
    assert attachment.get_filename() == "kartta.pdf"
    assert attachment.get_payload(decode=True) == b"%PDF"


async def test_embedded_default_writes_eml_files(tmp_path: Path) -> None:
    settings = DeliverySettings(outbox_dir=tmp_path, mail_from="k@kemijarvi.example")
    channels = settings.channels(clock=lambda: STARTS)
    rendered = render(MessageKind.APPOINTMENT_CONFIRMATION, "uk", APPOINTMENT)
    message = compose.email(rendered, message_id="conf-uk-1", recipient="amina@example.org")
    assert (await channels.send(message)).delivered
    assert (await channels.send(message)).delivered
    assert [p.name for p in listing(tmp_path / "email")] == ["conf-uk-1.eml"]


def listing(folder: Path) -> list[Path]:
    return sorted(folder.iterdir())
