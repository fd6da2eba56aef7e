"""The initial assessment: who gets one, the interview's rules, waivers, referrals, and the
durable timer that records an overdue assessment once — after a restart too."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID, uuid4

import pytest
from fastapi.testclient import TestClient

from kotoutus.embedded import EmbeddedSystem
from services.assessment.application import AssessmentApplication
from services.assessment.overdue import overdue_watch
from shared.law import rulebook
from shared.settings import Settings
from tests.support import ACTOR, AUDITOR, INTERVIEW, eventually


@pytest.fixture
def api(embedded: EmbeddedSystem) -> Iterator[TestClient]:
    with TestClient(embedded.api()) as client:
        yield client


def register(api: TestClient, started: str, **facts: Any) -> str:
    body = {
        "relationship_started_on": started,
        "personal": {"given_names": "Amina", "family_name": "Hassan"},
        "facts": {
            "residence_permit": {
                "type": "A",
                "ground_section": "87",
                "first_permit_on": "2024-06-01",
            },
            **facts,
        },
    }
    response = api.post("/clients", json=body, headers=ACTOR)
    assert response.status_code == 201, response.text
    return str(response.json()["client_id"])


def assessment(api: TestClient, client_id: str) -> dict[str, Any] | None:
    response = api.get(f"/clients/{client_id}/assessment", headers=ACTOR)
    return response.json() if response.status_code == 200 else None


def test_the_law_of_the_day_decides_who_gets_an_assessment(api: TestClient) -> None:
    assigned = register(api, "2024-11-04", non_temporary_social_assistance=True)
    opened = eventually(lambda: assessment(api, assigned), what="an assessment for the group")
    assert (opened["opened_by"], opened["group"]) == ("group", "social_assistance")
    assert opened["deadline"]["due"] == "2025-01-07"  # 4 Jan is a Saturday, 6 Jan Epiphany

    # No group of the law: an assessment only when asked (or on another authority's notice).
    asks = register(api, "2024-11-04")
    response = api.post(
        f"/clients/{asks}/assessment",
        json={"opened_by": "contact_notice", "received_on": "2025-03-03"},
        headers=ACTOR,
    )
    assert response.status_code == 201, response.text
    # Act 681/2023 §14(2): without delay; the day shown is Kemijärvi's own target, so said.
    due = response.json()["deadline"]
    assert due["serves"]["law"] == "681/2023" and due["serves"]["section"] == "§14(2)"
    assert due["rule"]["kind"] == "municipal_target" and due["due"] == "2025-05-05"
    again = api.post(
        f"/clients/{asks}/assessment", json={"received_on": "2025-03-04"}, headers=ACTOR
    )
    assert again.status_code == 409


def basis_on(api: TestClient, client_id: str, on: str) -> set[tuple[str, str]]:
    """The rules the responsibility answer for ``on`` names, as (id, law)."""
    response = api.get(
        f"/clients/{client_id}/assessment/responsibility", params={"on": on}, headers=AUDITOR
    )
    assert response.status_code == 200, response.text
    return {(rule["id"], rule["law"]) for rule in response.json()["legal_basis"]}


def in_force(rule_id: str, on: str) -> tuple[str, str]:
    return (rule_id, rulebook().in_force(rule_id, date.fromisoformat(on)).law)


def test_who_answers_is_grounded_on_the_responsibility_rule(api: TestClient) -> None:
    # Opened by a 2024 decision: the responsibility rule of 1386/2010, not the deadline's.
    grouped = register(api, "2024-11-04", non_temporary_social_assistance=True)
    eventually(lambda: assessment(api, grouped), what="an assessment for the group")
    assert basis_on(api, grouped, "2024-12-31") == {("responsibility.assessment", "1386/2010")}

    # Opened on request in 2025: the rule of that day.
    asks = register(api, "2024-11-04")
    response = api.post(
        f"/clients/{asks}/assessment", json={"received_on": "2025-03-03"}, headers=ACTOR
    )
    assert response.status_code == 201, response.text
    assert basis_on(api, asks, "2025-03-04") == {
        in_force("responsibility.assessment", "2025-03-03")
    }

    # A TE office's jobseeker recorded after the handover: the handover decided it.
    body = {
        "relationship_started_on": "2024-11-01",
        "occurred_at": "2025-02-10T10:00:00+02:00",
        "personal": {"given_names": "A", "family_name": "B"},
        "facts": {
            "registered_jobseeker": True,
            "residence_permit": {
                "type": "A",
                "ground_section": "87",
                "first_permit_on": "2024-06-01",
            },
        },
    }
    created = api.post("/clients", json=body, headers=ACTOR)
    assert created.status_code == 201, created.text
    jobseeker = str(created.json()["client_id"])
    url = f"/clients/{jobseeker}/assessment"
    eventually(lambda: api.get(url, headers=AUDITOR).is_success, what="assessment")
    handed_over = {
        in_force("handover.te_office", "2025-01-01"),
        in_force("responsibility.assessment", "2025-01-01"),
    }
    eventually(
        lambda: basis_on(api, jobseeker, "2025-01-02") == handed_over,
        what="the assessment to follow the handover",
    )
    assert basis_on(api, jobseeker, "2024-12-31") == {("responsibility.assessment", "1386/2010")}


def started(api: TestClient, client_id: str, interview: dict[str, Any]) -> Any:
    return api.post(
        f"/clients/{client_id}/assessment/start",
        json={"started_on": "2025-01-10", "interview": interview},
        headers={**ACTOR, "Accept-Language": "fi"},
    )


def test_the_interview_needs_an_official_and_a_professional_interpreter(api: TestClient) -> None:
    client_id = register(api, "2025-01-02", quota_refugee=True)
    eventually(lambda: assessment(api, client_id), what="assessment")
    child = {**INTERVIEW, "interpreter": {"kind": "child", "language": "so"}}
    refused = started(api, client_id, child)
    assert refused.status_code == 409
    assert refused.json()["code"] == "interpreter_not_allowed"
    assert refused.json()["message"].startswith("Tulkkina on oltava ammattitulkki")
    assert (
        started(api, client_id, {**INTERVIEW, "interviewer_is_official": False}).json()["code"]
        == "interviewer_not_official"
    )
    done = started(api, client_id, INTERVIEW)
    assert done.status_code == 200, done.text
    assert done.json()["interview"]["interpreter"]["kind"] == "professional"

    findings = {
        "literacy": "literate_non_latin",
        "education": "secondary",
        "language_skills": [{"language": "fi", "speaking": "A1.1", "reading": "A1.2"}],
    }
    recorded = api.post(
        f"/clients/{client_id}/assessment/findings", json={"findings": findings}, headers=ACTOR
    )
    assert recorded.json()["findings"]["language_skills"][0]["reading"] == "A1.2"
    bad = {**findings, "language_skills": [{"language": "fi", "speaking": "A1.4"}]}
    invalid = api.post(
        f"/clients/{client_id}/assessment/findings", json={"findings": bad}, headers=ACTOR
    )
    assert invalid.status_code == 422


def test_referrals_and_their_outcomes(api: TestClient) -> None:
    client_id = register(api, "2025-01-02", quota_refugee=True)
    eventually(lambda: assessment(api, client_id), what="assessment")
    base = f"/clients/{client_id}/assessment/referrals"
    body = {
        "referral_id": "finnish-course",
        "service": "adult_education_institute",
        "referred_on": "2025-01-15",
    }
    for _ in range(2):  # the same referral twice is one referral
        assert api.post(base, json=body, headers=ACTOR).status_code == 200
    outcome = api.post(
        f"{base}/finnish-course/outcome",
        json={"outcome": "started", "on": "2025-02-01"},
        headers=ACTOR,
    )
    assert outcome.json()["referral_outcomes"] == {"finnish-course": "started"}
    unknown = api.post(
        f"{base}/nope/outcome", json={"outcome": "started", "on": "2025-02-01"}, headers=ACTOR
    )
    assert unknown.status_code == 409


def test_the_new_law_leaves_an_assessment_unmade_only_on_its_one_ground(api: TestClient) -> None:
    """681/2023 §14(5): an unaccompanied minor whose needs another client plan meets; no
    general waiver. Before 2025, the municipality's practice (cited as such, not as the act)."""
    refugee = register(api, "2025-01-02", quota_refugee=True)
    eventually(lambda: assessment(api, refugee), what="assessment")
    body = {"waived_on": "2025-01-08", "reason": "resident in Finland for 12 years"}
    refused = api.post(f"/clients/{refugee}/assessment/waive", json=body, headers=ACTOR)
    assert refused.status_code == 409 and refused.json()["code"] == "waiver_refused"
    assert "§14(5)" in refused.json()["messages"]["en"]
    assert set(refused.json()["messages"]) == {"fi", "sv", "en"}

    old = register(api, "2024-10-01", non_temporary_social_assistance=True)
    eventually(lambda: assessment(api, old), what="assessment")
    body = {"waived_on": "2024-10-08", "reason": "resident in Finland for 12 years"}
    assert api.post(f"/clients/{old}/assessment/waive", json=body, headers=ACTOR).is_success
    eventually(lambda: _has_event(api, old, "AssessmentWaived"), what="the waiver recorded")
    timeline = api.get(f"/clients/{old}/timeline", headers=ACTOR).json()
    waived = next(e for e in timeline if e["event_type"] == "AssessmentWaived")
    assert [r["kind"] for r in waived["legal_basis"]] == ["municipal_practice"]


def _has_event(api: TestClient, client_id: str, event_type: str) -> bool:
    timeline = api.get(f"/clients/{client_id}/timeline", headers=ACTOR)
    return timeline.is_success and event_type in {e["event_type"] for e in timeline.json()}


def test_a_waiver_cancels_the_reminder(api: TestClient) -> None:
    client_id = register(api, "2025-01-02", unaccompanied_minor=True)
    eventually(lambda: assessment(api, client_id), what="assessment")
    waived = api.post(
        f"/clients/{client_id}/assessment/waive",
        json={"waived_on": "2025-01-08", "reason": "the child welfare client plan meets them"},
        headers=ACTOR,
    )
    assert waived.status_code == 200, waived.text

    def cancelled() -> bool:
        response = api.get(f"/clients/{client_id}/reminders", headers=ACTOR)
        # Empty until notifications has heard of the client; the waiver may even arrive first.
        reminders = response.json() if response.status_code == 200 else []
        return bool(reminders) and all(r["state"] == "cancelled" for r in reminders)

    eventually(cancelled, what="the reminder cancelled")
    late = started(api, client_id, INTERVIEW)
    assert late.status_code == 409 and late.json()["code"] == "assessment_closed"


def at(day: str) -> datetime:
    return datetime.fromisoformat(f"{day}T10:00:00").replace(tzinfo=UTC)


def test_an_assessment_not_started_in_time_is_overdue_once_even_across_restarts(
    embedded_settings: Settings,
) -> None:
    system = EmbeddedSystem(embedded_settings)
    app = system.nodes["assessment"].app
    assert isinstance(app, AssessmentApplication)
    late = system_assessment(system, app, started="2024-10-24")  # due 27 Dec 2024
    on_time = system_assessment(system, app, started="2024-10-24")
    app.start(on_time, provenance=_by(), started_on=date(2024, 12, 1), interview=_interview())

    assert overdue_watch(app, clock=lambda: at("2024-12-27")).fire() == 0  # the due day itself
    assert overdue_watch(app, clock=lambda: at("2024-12-28")).fire() == 1
    view = app.assessment_of(late)
    assert view.overdue_on == date(2024, 12, 28)
    system.close()

    # Stopped across the due time, started again much later: nothing is marked twice.
    restarted = EmbeddedSystem(embedded_settings)
    app = restarted.nodes["assessment"].app
    assert isinstance(app, AssessmentApplication)
    assert overdue_watch(app, clock=lambda: at("2025-06-01")).fire() == 0
    events = [type(e).__name__ for e in app.events.get(app.assessment_of(late).id)]
    assert events == ["Due", "Overdue"]
    overdue = list(app.events.get(app.assessment_of(late).id))[-1]
    # Business time: when it became overdue, not when the service noticed.
    assert overdue.provenance.occurred_at.date() == date(2024, 12, 27)  # type: ignore[attr-defined]
    restarted.close()


def system_assessment(system: EmbeddedSystem, app: AssessmentApplication, started: str) -> UUID:
    from services.intake.application import IntakeApplication
    from services.intake.model import ClientFacts, PersonalDetails, ResidencePermit

    intake = system.nodes["intake"].app
    assert isinstance(intake, IntakeApplication)
    client = intake.register_client(
        client_id=uuid4(),
        provenance=_by(),
        personal=PersonalDetails(given_names="A", family_name="B"),
        facts=ClientFacts(
            non_temporary_social_assistance=True,
            residence_permit=ResidencePermit(type="A", first_permit_on=date(2024, 6, 1)),
        ),
        relationship_started_on=date.fromisoformat(started),
    )
    system.deliver_all()
    return client.id


def _by() -> Any:
    from shared.values import Provenance

    return Provenance.system("test", "municipality:320", at("2024-10-24"))


def _interview() -> Any:
    from services.assessment.model import Interview

    return Interview.model_validate(INTERVIEW)
