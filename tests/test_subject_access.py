"""The data subject's copy (GDPR Art. 15): everything Kotoutus holds about a person, every
reader and every recipient, as JSON and as a document in the person's language (Finnish,
Swedish or English); the request and its one-month limit (Art. 12(3)) shown to staff as a
deadline; supervisors only."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from kotoutus.embedded import EmbeddedSystem
from shared.law.data_subject import subject_access_due
from shared.settings import Settings
from tests.servers import WebhookReceiver
from tests.support import ACTOR, AUDITOR, DECREE, INTERVIEW, SUPERVISOR, bearer, eventually
from tests.test_notification_outbox import SECRET, receiver, write_directory  # noqa: F401
from tests.test_readside import row

COLLEAGUE = bearer(subject="ville.korhonen")  # a second caseworker of the same municipality


@pytest.fixture
def api(
    embedded_settings: Settings,
    receiver: WebhookReceiver,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[TestClient]:
    """The staff API, with a partner (the adult education centre) whose notices go out."""
    monkeypatch.setenv("KOTOUTUS_TEST_PARTNER_SECRET", SECRET)
    directory = write_directory(tmp_path / "directory.toml", receiver.url)
    monkeypatch.setenv("KOTOUTUS_DIRECTORY", str(directory))
    system = EmbeddedSystem(embedded_settings)
    try:
        with TestClient(system.api()) as test_client:
            yield test_client
    finally:
        system.close()


def register(api: TestClient, given: str, started: str, **facts: Any) -> str:
    body = {
        "relationship_started_on": started,
        "personal": {
            "given_names": given,
            "family_name": "Hassan",
            "contact": {"email": "amina@example.fi"},
        },
        "facts": {
            "non_temporary_social_assistance": True,
            "residence_permit": {"type": "A", "first_permit_on": "2024-12-01"},
            **facts,
        },
    }
    response = api.post("/clients", json=body, headers=ACTOR)
    assert response.status_code == 201, response.text
    client_id: str = response.json()["client_id"]
    return client_id


def post(api: TestClient, path: str, body: dict[str, Any]) -> None:
    response = api.post(path, json=body, headers=ACTOR)
    assert response.is_success, response.text


def full_history(api: TestClient) -> str:
    """Registered, assessed (with a referral to a partner, who is notified), a plan agreed,
    and read by two caseworkers."""
    client_id = register(api, "Amina", "2025-09-01", mother_tongue="so", service_languages=["fi"])
    base = f"/clients/{client_id}/assessment"
    eventually(lambda: api.get(base, headers=ACTOR).is_success, what="assessment")
    post(api, f"{base}/start", {"started_on": "2025-10-01", "interview": INTERVIEW, **DECREE})
    post(api, f"{base}/findings", {"findings": {"literacy": "literate_latin"}})
    referral = {
        "referral_id": "r1",
        "service": "adult_education_institute",
        "referred_on": "2025-10-02",
    }
    post(api, f"{base}/referrals", referral)
    done = {"completed_on": "2025-10-10", "plan_needed": True, "reason": "Finnish A1.1"}
    post(api, f"{base}/complete", done)
    plan = f"/clients/{client_id}/plan"
    eventually(lambda: api.get(plan, headers=ACTOR).is_success, what="plan")
    period = {"starts_on": "2025-10-20", "ends_on": "2026-10-19"}
    agree = {
        "agreed_on": "2025-10-20",
        "period": period,
        "goals": ["language"],
        "measures": [{"kind": "finnish_study", "target_level": "B1.1"}],
    }
    post(api, f"{plan}/agree", agree)
    # The partner's notice of the referral goes out (a webhook, at any hour).
    timeline = f"/clients/{client_id}/timeline"
    eventually(
        lambda: any(
            e["event_type"] == "NotificationSent" for e in api.get(timeline, headers=AUDITOR).json()
        ),
        what="the partner notice sent",
    )
    eventually(
        lambda: any(
            e["event_type"] == "PlanAgreed" for e in api.get(timeline, headers=AUDITOR).json()
        ),
        what="the plan on the timeline",
    )
    for reader in (ACTOR, COLLEAGUE):
        assert api.get(f"/clients/{client_id}", headers=reader).status_code == 200
    return client_id


def copy_of(api: TestClient, client_id: str, **params: str) -> Any:
    response = api.get(f"/clients/{client_id}/subject-access", params=params, headers=SUPERVISOR)
    assert response.status_code == 200, response.text
    return response


def test_the_copy_lists_every_kind_of_record_every_reader_and_recipient(api: TestClient) -> None:
    client_id = full_history(api)
    timeline = api.get(f"/clients/{client_id}/timeline", headers=AUDITOR).json()

    found = copy_of(api, client_id).json()
    assert found["client_id"] == client_id
    assert found["identity"]["given_names"] == "Amina"
    assert found["identity"]["family_name"] == "Hassan"
    assert found["facts"]["mother_tongue"] == "so"
    assert found["status"]["plan_state"] == "agreed"
    # Every record the read side holds, each in its section, none left out.
    records = [
        record
        for section in ("client", "assessments", "plans", "reminders")
        for record in found[section]
    ]
    assert len(records) + len(found["letters"]) == len(timeline)
    kinds = {r["event_type"] for r in records} | {"NotificationSent"}
    assert kinds == {e["event_type"] for e in timeline}
    assert {"ClientRegistered", "EligibilityDetermined"} <= {
        r["event_type"] for r in found["client"]
    }
    assert {"AssessmentStarted", "AssessmentFindingsRecorded", "AssessmentCompleted"} <= {
        r["event_type"] for r in found["assessments"]
    }
    assert "PlanAgreed" in {r["event_type"] for r in found["plans"]}
    assert found["reminders"], "the deadlines staff were reminded of"
    started = next(r for r in found["assessments"] if r["event_type"] == "AssessmentStarted")
    assert started["actor"] == "anna.virtanen"
    decided = next(r for r in found["client"] if r["event_type"] == "EligibilityDetermined")
    assert decided["legal_basis"] and all("681/2023" in c for c in decided["legal_basis"])
    # The letter sent, and to whom (a partner, without an address).
    [letter] = [x for x in found["letters"] if x["audience"] == "partner"]
    assert (letter["recipient"], letter["outcome"]) == ("partner:adult_education_institute", "sent")
    recipients = {(r["recipient"], r["audience"]) for r in found["recipients"]}
    assert ("partner:adult_education_institute", "partner") in recipients
    assert ("municipality:320", "organisation") in recipients
    # Every reader, with when; every logged use, refusals included.
    readers = {r["actor"]: r for r in found["readers"]}
    assert {"anna.virtanen", "ville.korhonen", "aino.auditor"} <= set(readers)
    assert readers["ville.korhonen"]["reads"] == 1
    assert ("ville.korhonen", "GET /clients/{client_id}", 200) in {
        (r["actor"], r["what"], r["outcome"]) for r in found["reads"]
    }
    assert found["held_elsewhere"] == ["contact_details", "letter_addresses"]
    assert "amina@example.fi" not in str(found)  # the address stays sealed in intake

    # The copy itself is a read of the person's data, logged like the others.
    again = copy_of(api, client_id).json()
    assert ("sanna.lahtinen", "GET /clients/{client_id}/subject-access", 200) in {
        (r["actor"], r["what"], r["outcome"]) for r in again["reads"]
    }


def test_the_document_is_in_the_clients_language_or_finnish_swedish_english(
    api: TestClient,
) -> None:
    client_id = full_history(api)
    finnish = copy_of(api, client_id, format="html")
    assert finnish.headers["content-type"].startswith("text/html")
    assert finnish.headers["content-language"] == "fi"
    page = finnish.text
    assert '<html lang="fi">' in page
    for text in (
        "Jäljennös henkilötiedoistasi",
        "Kuka luki tietojasi",
        "Kenelle tietojasi luovutettiin",
        "Alkukartoitus aloitettu",
        "Suunnitelma sovittu",
        "Amina",
        "ville.korhonen",
        "anna.virtanen",
        "partner:adult_education_institute",
    ):
        assert text in page, text
    # Asked by Accept, the same document.
    negotiated = api.get(
        f"/clients/{client_id}/subject-access",
        headers={**SUPERVISOR, "Accept": "text/html"},
    )
    assert negotiated.headers["content-language"] == "fi"

    # A client in none of the document's languages: English, or the one asked for.
    other = register(api, "Olena", "2025-09-01", mother_tongue="uk")
    eventually(lambda: row(api, other), what="the client on the read side")
    english = copy_of(api, other, format="html")
    assert english.headers["content-language"] == "en"
    assert "Copy of your personal data" in english.text and "Olena" in english.text
    swedish = api.get(
        f"/clients/{other}/subject-access",
        params={"format": "html"},
        headers={**SUPERVISOR, "Accept-Language": "sv-FI"},
    )
    assert swedish.headers["content-language"] == "sv"
    assert "Kopia av dina personuppgifter" in swedish.text
    asked = copy_of(api, other, format="html", language="fi")
    assert asked.headers["content-language"] == "fi"


def test_only_a_supervisor_gives_the_copy(api: TestClient) -> None:
    client_id = register(api, "Farid", "2025-09-01")
    eventually(lambda: row(api, client_id), what="the client on the read side")
    for caller in (ACTOR, AUDITOR):
        refused = api.get(f"/clients/{client_id}/subject-access", headers=caller)
        assert refused.status_code == 403, refused.text
        assert "Farid" not in refused.text
    requests = f"/clients/{client_id}/subject-access/requests"
    asked = {"requested_on": "2025-11-03"}
    assert api.post(requests, json=asked, headers=ACTOR).status_code == 403
    other = bearer("supervisor", "municipality:698", subject="rovaniemi.supervisor")
    assert api.get(f"/clients/{client_id}/subject-access", headers=other).status_code == 403
    assert api.get(f"/clients/{client_id}/subject-access", headers=SUPERVISOR).status_code == 200


def test_the_month_is_counted_by_act_150_1930() -> None:
    # §3: the same day number a month on; none in February: its last day.
    assert subject_access_due(date(2025, 3, 14)) == date(2025, 4, 14)
    assert subject_access_due(date(2025, 1, 31)) == date(2025, 2, 28)
    # §5: a last day on a Saturday (28 Feb 2026) or a holiday moves to the next working day.
    assert subject_access_due(date(2026, 1, 31)) == date(2026, 3, 2)
    assert subject_access_due(date(2025, 11, 6)) == date(2025, 12, 8)  # 6 Dec, Sat
    # Christmas Eve, Christmas Day, Boxing Day (a Saturday), Sunday: Monday the 28th.
    assert subject_access_due(date(2026, 11, 24)) == date(2026, 12, 28)
    # The calendar's last month: its last day (no later day exists).
    assert subject_access_due(date(9999, 12, 5)) == date.max


def test_a_request_is_a_deadline_until_the_copy_is_given(api: TestClient) -> None:
    client_id = register(api, "Leila", "2026-11-20")
    eventually(lambda: row(api, client_id), what="the client on the read side")
    requests = f"/clients/{client_id}/subject-access/requests"
    body = {"request_id": "sar-1", "requested_on": "2026-11-30"}
    made = api.post(requests, json=body, headers=SUPERVISOR)
    assert made.status_code == 201, made.text
    assert made.json() == {
        "request_id": "sar-1",
        "requested_on": "2026-11-30",
        "due_on": "2026-12-30",
        "delivered_on": None,
        "in_time": None,
    }
    # Asked again (a retry): nothing new.
    assert api.post(requests, json=body, headers=SUPERVISOR).json()["due_on"] == "2026-12-30"
    # The caseload's next deadline, and a reminder like the others'.
    settled = eventually(
        lambda: (
            (found := row(api, client_id))
            and found["next_deadline_kind"] == "subject_access"
            and found
        ),
        what="the request as the next deadline",
    )
    assert settled["next_deadline"] == "2026-12-30"

    def reminder() -> dict[str, Any] | None:
        found = api.get(f"/clients/{client_id}/reminders", headers=ACTOR).json()
        return next((r for r in found if r["deadline_kind"] == "subject-access"), None)

    scheduled = eventually(reminder, what="the reminder of the request")
    assert (scheduled["due"], scheduled["state"]) == ("2026-12-30", "scheduled")

    delivered = api.post(
        f"{requests}/sar-1/delivered", json={"delivered_on": "2026-12-10"}, headers=SUPERVISOR
    )
    assert delivered.status_code == 200, delivered.text
    assert delivered.json()["in_time"] is True
    assert api.get(requests, headers=SUPERVISOR).json()[0]["delivered_on"] == "2026-12-10"
    eventually(
        lambda: (found := row(api, client_id)) and found["next_deadline_kind"] != "subject_access",
        what="the deadline closed",
    )
    eventually(
        lambda: (found := reminder()) and found["state"] == "cancelled",
        what="the reminder cancelled",
    )
    # Unknown requests and a delivery before the request are refused.
    unknown = api.post(
        f"{requests}/nope/delivered", json={"delivered_on": "2026-12-10"}, headers=SUPERVISOR
    )
    assert unknown.status_code == 409
    assert unknown.json()["code"] == "unknown_subject_access_request"
    early = api.post(
        requests, json={"request_id": "sar-2", "requested_on": "2026-12-01"}, headers=SUPERVISOR
    )
    assert early.status_code == 201
    refused = api.post(
        f"{requests}/sar-2/delivered", json={"delivered_on": "2026-11-30"}, headers=SUPERVISOR
    )
    assert refused.json()["code"] == "delivered_before_requested"
