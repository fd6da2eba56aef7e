"""A missed appointment (681/2023 §32a(1) as worded by 1100/2024), through the embedded API:
the letter of an interpreted appointment tells the client of the fee and how to cancel, and a
miss reported by staff is answered with whether its interpreting may be charged, and how much.

Notifications' clock is injected: the letter goes out before the appointment, the miss is
reported after it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any
from uuid import UUID, uuid4

import pytest
from fastapi.testclient import TestClient

from kotoutus.embedded import EmbeddedSystem
from services.notifications.application import NotificationsApplication
from services.notifications.delivery.templates import (
    OFFERED,
    Appointment,
    AppointmentPurpose,
    MessageKind,
    render,
)
from services.notifications.missed import NoFee
from shared.clock import HELSINKI
from shared.law.rulebook import rulebook
from shared.settings import Settings
from tests.support import ACTOR, bearer, eventually

# Monday 10 March 2025, 09:00 in Helsinki: booked a week before the appointment.
BOOKED = datetime(2025, 3, 10, 9, 0, tzinfo=HELSINKI)
STARTS = datetime(2025, 3, 17, 10, 0, tzinfo=HELSINKI)
AFTER = STARTS + timedelta(hours=2)
FEE_NOTICE_FI = "sinulta voidaan periä tulkkauksen kustannukset, kuitenkin enintään 56,70\xa0€"


class FakeClock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Api:
    client: TestClient
    clock: FakeClock
    app: NotificationsApplication
    settings: Settings

    def book(self, client_id: str, **overrides: Any) -> dict[str, Any]:
        """An appointment letter, sent (as a file) before it is answered."""
        body = {
            "starts_at": STARTS.isoformat(),
            "place": "Vapaudenkatu 8",
            "purpose": "guidance",
            "client_name": "Amina Hassan",
            "languages": ["ar"],
            "interpreter_language": "ar",
            "interpreted": True,
            "contact_name": "Anna Virtanen",
            "contact_phone": "040 123 4567",
            "email": "amina@example.org",
        } | overrides
        posted = self.client.post(f"/clients/{client_id}/appointments", json=body, headers=ACTOR)
        assert posted.status_code == 202, posted.text
        letter: dict[str, Any] = posted.json()

        def sent() -> bool:
            messages = self.client.get(f"/clients/{client_id}/messages", headers=ACTOR).json()
            return any(m["message_id"] == letter["message_id"] for m in messages) and all(
                m["state"] == "sent" for m in messages if m["message_id"] == letter["message_id"]
            )

        eventually(sent, timeout=10, what="the letter sent")
        return letter

    def missed(self, client_id: str, headers: dict[str, str] = ACTOR, **overrides: Any) -> Any:
        body = {
            "starts_at": STARTS.isoformat(),
            "purpose": "guidance",
            "acceptable_reason": False,
            "cancelled_in_advance": False,
            "client_under_18": False,
            "unreasonable": False,
            "interpreting_cost_eur": "80.00",
        } | overrides
        path = f"/clients/{client_id}/appointments/missed"
        return self.client.post(path, json=body, headers=headers)

    def letter_text(self, message_id: str) -> str:
        path = self.settings.data_dir / "outbox" / "email" / f"{message_id}.eml"
        mail = message_from_bytes(path.read_bytes(), policy=policy.default)
        assert isinstance(mail, EmailMessage)
        part = mail.get_body(preferencelist=("plain",))
        assert part is not None
        return str(part.get_content())


@pytest.fixture
def api(embedded_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Api]:
    monkeypatch.setenv("KOTOUTUS_DISPATCH_POLL_SECONDS", "0.1")
    system = EmbeddedSystem(embedded_settings)
    app = system.nodes["notifications"].app
    assert isinstance(app, NotificationsApplication)
    clock = FakeClock(BOOKED)
    app.clock = clock
    with TestClient(system.api()) as client:
        yield Api(client, clock, app, embedded_settings)


def test_the_rule_is_the_statute_s() -> None:
    rule = rulebook().in_force("appointment.missed_fee", date(2025, 1, 1))
    assert (rule.law, rule.section, rule.amended_by) == ("681/2023", "§32a(1)", "1100/2024")
    assert (rule.value("max_euros"), rule.value("min_age")) == (56.70, 18)


@pytest.mark.parametrize(
    "kind", [MessageKind.APPOINTMENT_LETTER, MessageKind.APPOINTMENT_CONFIRMATION]
)
def test_every_language_of_a_letter_gives_the_notice(kind: MessageKind) -> None:
    letter = Appointment(
        client_name="Amina Hassan",
        purpose=AppointmentPurpose.PLAN_REVIEW,
        starts_at=STARTS,
        place="Vapaudenkatu 8",
        organisation="Kemijärven kaupunki",
        contact_name="Anna Virtanen",
        contact_phone="040 123 4567",
        interpreter_language="so",
    )
    amount = re.compile(r"56[.,]70")
    for language in OFFERED[kind]:
        plain = render(kind, language, letter).text
        noticed = render(
            kind, language, letter.model_copy(update={"missed_fee_eur": Decimal("56.70")})
        )
        assert not amount.search(plain) and amount.search(noticed.text), language
        assert "18" in noticed.text, language
        assert "{" not in noticed.text and len(noticed.text) > len(plain), language


def test_a_fee_may_be_charged_capped_at_the_law_s_amount(api: Api) -> None:
    client_id = str(uuid4())
    letter = api.book(client_id)
    api.clock.now = AFTER
    answer = api.missed(client_id)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["fee_may_be_charged"], body["amount_eur"], body["reasons"]) == (
        True,
        "56.70",
        [],
    )
    [rule] = body["legal_basis"]
    assert (rule["id"], rule["section"], rule["amended_by"]) == (
        "appointment.missed_fee",
        "§32a(1)",
        "1100/2024",
    )
    assert "enintään 56,70 euroa" in rule["quote"]
    # A cost below the cap is charged as it is; the time may be given in another offset.
    cheaper = api.missed(
        client_id, starts_at=STARTS.astimezone(UTC).isoformat(), interpreting_cost_eur="40"
    )
    assert (cheaper.json()["fee_may_be_charged"], cheaper.json()["amount_eur"]) == (True, "40.00")
    # Recorded beside the letter; the same report again records nothing new.
    assert api.missed(client_id, interpreting_cost_eur="40").status_code == 200
    recorded = api.app.letters_of(UUID(client_id)).missed[letter["message_id"]]
    assert (recorded.amount_eur, recorded.fee_may_be_charged) == (Decimal("40.00"), True)
    topics = [n.topic for n in api.app.recorder.select_notifications(1, 1000)]
    assert sum(t.endswith("ClientOutbox.AppointmentMissed") for t in topics) == 2
    # The notice went in Arabic, the client's language.
    facts = api.app.letters_of(UUID(client_id)).messages[letter["message_id"]].facts
    assert facts["fee_notice"]["language"] == "ar" and facts["fee_notice"]["in_client_language"]


@pytest.mark.parametrize(
    ("fact", "reason"),
    [
        ("acceptable_reason", NoFee.ACCEPTABLE_REASON),
        ("cancelled_in_advance", NoFee.CANCELLED_IN_ADVANCE),
        ("client_under_18", NoFee.CLIENT_UNDER_AGE),
        ("unreasonable", NoFee.UNREASONABLE),
    ],
)
def test_each_failing_condition_is_a_reason_and_no_fee(api: Api, fact: str, reason: NoFee) -> None:
    client_id = str(uuid4())
    api.book(client_id)
    api.clock.now = AFTER
    body = api.missed(client_id, **{fact: True}).json()
    assert (body["fee_may_be_charged"], body["amount_eur"], body["reasons"]) == (
        False,
        "0.00",
        [reason.value],
    )
    assert len(body["legal_basis"]) == 1


def test_no_cost_no_fee_and_every_failing_condition_is_named(api: Api) -> None:
    client_id = str(uuid4())
    api.book(client_id)
    api.clock.now = AFTER
    free = api.missed(client_id, interpreting_cost_eur="0").json()
    assert (free["fee_may_be_charged"], free["reasons"]) == (False, ["no_interpreting_cost"])
    everything = api.missed(
        client_id, acceptable_reason=True, client_under_18=True, unreasonable=True
    ).json()
    assert everything["reasons"] == ["acceptable_reason", "unreasonable", "client_under_18"]


def test_a_non_interpreted_appointment_gives_no_fee(api: Api) -> None:
    client_id = str(uuid4())
    api.book(client_id, interpreted=False)
    api.clock.now = AFTER
    body = api.missed(client_id).json()
    assert (body["fee_may_be_charged"], body["amount_eur"], body["reasons"]) == (
        False,
        "0.00",
        ["not_interpreted"],
    )


def test_a_notice_sent_after_the_appointment_or_not_in_the_client_s_language_is_no_notice(
    api: Api,
) -> None:
    late, foreign = str(uuid4()), str(uuid4())
    # The letter waits until after the appointment began.
    api.clock.now = AFTER
    api.book(late, not_before=(STARTS + timedelta(minutes=30)).isoformat())
    assert api.missed(late).json()["reasons"] == ["not_told_at_booking"]
    # A Dari speaker gets the English fallback, which they are not known to read.
    api.clock.now = BOOKED
    letter = api.book(foreign, languages=["prs"], interpreter_language="prs")
    api.clock.now = AFTER
    assert api.missed(foreign).json()["reasons"] == ["notice_not_in_client_language"]
    assert "you may be charged the cost of the interpreting" in api.letter_text(
        letter["message_id"]
    )


def test_the_finnish_letter_gives_the_notice_only_when_interpreted(api: Api) -> None:
    interpreted, plain = str(uuid4()), str(uuid4())
    with_notice = api.book(interpreted, languages=["fi"])
    without = api.book(plain, languages=["fi"], interpreted=False)
    text = api.letter_text(with_notice["message_id"])
    assert FEE_NOTICE_FI in text
    assert "Voit perua ajan ennen tapaamisen alkua" in text
    assert "tulkkauksen kustannukset" not in api.letter_text(without["message_id"])


def test_before_2025_no_act_allows_a_fee(api: Api) -> None:
    client_id = str(uuid4())
    api.clock.now = datetime(2024, 12, 9, 9, 0, tzinfo=HELSINKI)
    starts = datetime(2024, 12, 16, 10, 0, tzinfo=HELSINKI)
    letter = api.book(client_id, starts_at=starts.isoformat(), languages=["fi"])
    assert "tulkkauksen kustannukset" not in api.letter_text(letter["message_id"])
    api.clock.now = starts + timedelta(hours=1)
    body = api.missed(client_id, starts_at=starts.isoformat()).json()
    assert (body["fee_may_be_charged"], body["legal_basis"]) == (False, [])
    assert body["reasons"][0] == "no_fee_in_law"


def test_refusals(api: Api) -> None:
    client_id = str(uuid4())
    api.book(client_id)
    # Not yet begun: nobody can have missed it.
    early = api.missed(client_id)
    assert early.status_code == 409 and early.json()["code"] == "appointment_not_passed"
    assert set(early.json()["messages"]) == {"fi", "sv", "en"}
    api.clock.now = AFTER
    # No letter for that time or purpose; a client notifications does not know.
    assert api.missed(client_id, purpose="plan_review").status_code == 404
    assert api.missed(str(uuid4())).status_code == 404
    # Another organisation's caseworker.
    other = bearer(organisation="municipality:698", subject="rovaniemi.caseworker")
    assert api.missed(client_id, headers=other).status_code == 403
    # An interpreted letter must say how to cancel, so it needs a way to reach the contact.
    body = {
        "starts_at": STARTS.isoformat(),
        "place": "Vapaudenkatu 8",
        "purpose": "guidance",
        "client_name": "Amina Hassan",
        "interpreter_language": "ar",
        "interpreted": True,
        "contact_name": "Anna Virtanen",
        "email": "amina@example.org",
    }
    path = f"/clients/{client_id}/appointments"
    assert api.client.post(path, json=body, headers=ACTOR).status_code == 422
    assert api.missed(client_id, interpreting_cost_eur="-1").status_code == 422
