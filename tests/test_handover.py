"""Clients across the 1 Jan 2025 boundary: the handover of the TE office's clients, its dry
run, its idempotence, and the one answer to "who was responsible on 2024-12-31?"."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from kotoutus.embedded import EmbeddedSystem
from tests.support import ACTOR, AUDITOR, DECREE, INTERVIEW, SUPERVISOR, bearer, eventually

TE = bearer(organisation="te_office:lappi", subject="tea.laine")  # a TE office caseworker

PERMIT = {"type": "A", "ground_section": "87", "first_permit_on": "2024-06-01"}


@pytest.fixture
def api(embedded: EmbeddedSystem) -> Iterator[TestClient]:
    with TestClient(embedded.api()) as client:
        yield client


def register(api: TestClient, started: str, recorded: str | None = None, **facts: Any) -> str:
    """A client registered on ``recorded`` (by default the start day itself, as lived then)."""
    body = {
        "relationship_started_on": started,
        "occurred_at": f"{recorded or started}T10:00:00+02:00",
        "personal": {"given_names": "A", "family_name": "B"},
        "facts": {"residence_permit": PERMIT, **facts},
    }
    response = api.post("/clients", json=body, headers=ACTOR)
    assert response.status_code == 201, response.text
    return str(response.json()["client_id"])


def responsible(api: TestClient, client_id: str, on: str) -> dict[str, Any]:
    response = api.get(
        f"/clients/{client_id}/assessment/responsibility", params={"on": on}, headers=AUDITOR
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_the_2025_handover(api: TestClient, embedded: EmbeddedSystem) -> None:
    jobseeker = register(api, "2024-11-01", registered_jobseeker=True)
    overdue = register(api, "2024-09-02", registered_jobseeker=True)  # due 4 Nov 2024
    other = register(api, "2024-11-01", non_temporary_social_assistance=True)
    for client_id in (jobseeker, overdue, other):
        eventually(
            lambda c=client_id: api.get(f"/clients/{c}/assessment", headers=AUDITOR).is_success,
            what="assessments opened",
        )
    eventually(
        lambda: api.get(f"/clients/{overdue}/assessment", headers=AUDITOR).json()["overdue_on"],
        what="the overdue timer",
    )

    dry = api.post("/handover/2025", json={"dry_run": True}, headers=SUPERVISOR).json()
    assert dry["dry_run"] is True
    assert {i["client_id"] for i in dry["transferred"]} == {jobseeker, overdue}
    assert {i["to_organisation"] for i in dry["transferred"]} == {"employment_authority:320"}
    # The dry run changed nothing.
    assert api.get(f"/clients/{jobseeker}", headers=AUDITOR).json()["responsible_organisation"] == (
        "te_office:lappi"
    )

    real = api.post("/handover/2025", json={"dry_run": False}, headers=SUPERVISOR).json()
    assert real["transferred"] == dry["transferred"]
    assert any("383/2023" in basis for basis in real["legal_basis"])
    again = api.post("/handover/2025", json={"dry_run": False}, headers=SUPERVISOR).json()
    assert again["count"] == 0

    for client_id in (jobseeker, overdue):
        before = responsible(api, client_id, "2024-12-31")
        assert before["organisation"] == "te_office:lappi"
        assert before["deadline"]["rule"]["law"] == "1386/2010"

        def moved(c: str = client_id) -> bool:
            return responsible(api, c, "2025-01-02")["organisation"] == "employment_authority:320"

        eventually(moved, what="the assessment to follow the client")
        after = responsible(api, client_id, "2025-01-02")
        assert after["since"].startswith("2025-01-01T00:00:00+02:00")
        assert {r["law"] for r in after["legal_basis"]} == {"383/2023", "681/2023"}
        # The deadline keeps the law it was computed under.
        assert after["deadline"]["rule"]["law"] == "1386/2010"
    view = api.get(f"/clients/{overdue}/assessment", headers=AUDITOR).json()
    assert view["overdue_on"] == "2024-11-05"
    assert responsible(api, other, "2025-01-02")["organisation"] == "municipality:320"

    # The new organisation's staff now read the client everywhere; the TE office's do not.
    employment = bearer(organisation="employment_authority:320", subject="eero.employment")
    for path in ("reminders", "timeline", "assessment"):
        url = f"/clients/{jobseeker}/{path}"
        eventually(lambda u=url: api.get(u, headers=employment).is_success, what=f"new org {path}")
        assert api.get(url, headers=TE).status_code == 403, path
    listed = api.get("/caseload", headers=employment).json()["items"]
    assert {item["client_id"] for item in listed} == {jobseeker, overdue}


def test_a_client_recorded_after_the_handover_passes_on_at_once(api: TestClient) -> None:
    """Registered in 2025 with a start in 2024, a jobseeker falls to the TE office by the law
    of 2024; the office no longer exists, so the handover's transfer follows at once."""
    client_id = register(api, "2024-11-01", recorded="2025-02-10", registered_jobseeker=True)
    view = api.get(f"/clients/{client_id}", headers=AUDITOR).json()
    assert view["responsible_organisation"] == "employment_authority:320"
    assessment = f"/clients/{client_id}/assessment"
    eventually(lambda: api.get(assessment, headers=AUDITOR).is_success, what="assessment")

    def moved() -> bool:
        return responsible(api, client_id, "2025-01-02")["organisation"] == (
            "employment_authority:320"
        )

    eventually(moved, what="the assessment to follow the client")
    # Who answered on the last day of 2024 is still the office, by the law of that day.
    before = responsible(api, client_id, "2024-12-31")
    assert before["organisation"] == "te_office:lappi"
    after = responsible(api, client_id, "2025-01-02")
    assert after["since"].startswith("2025-01-01T00:00:00+02:00")
    assert {r["law"] for r in after["legal_basis"]} == {"383/2023", "681/2023"}
    # The handover run finds nothing more to do for this client.
    dry = api.post("/handover/2025", json={"dry_run": True}, headers=SUPERVISOR).json()
    assert client_id not in {i["client_id"] for i in dry["transferred"]}

    # A fact recorded late, effective before 2025, that gives the client to the office: the
    # same. (A non-jobseeker of 2024 was the municipality's; becoming a jobseeker then, it was
    # the office's, which has since ceased.)
    other = register(api, "2024-10-01", recorded="2025-03-03", non_temporary_social_assistance=True)
    change = {
        "changes": {"registered_jobseeker": True},
        "cause": "TE office record found late",
        "effective_on": "2024-10-15",
    }
    changed = api.post(f"/clients/{other}/facts", json=change, headers=ACTOR)
    assert changed.status_code == 200, changed.text
    assert changed.json()["responsible_organisation"] == "employment_authority:320"


def test_an_open_plan_follows_the_client_in_the_handover(api: TestClient) -> None:
    client_id = register(api, "2024-09-02", registered_jobseeker=True)
    base = f"/clients/{client_id}/assessment"
    eventually(lambda: api.get(base, headers=AUDITOR).is_success, what="assessment")
    start = {"started_on": "2024-09-10", "interview": INTERVIEW, **DECREE}
    assert api.post(f"{base}/start", json=start, headers=TE).is_success
    done = {"completed_on": "2024-09-20", "plan_needed": True, "reason": "work and language"}
    assert api.post(f"{base}/complete", json=done, headers=TE).is_success
    plan = f"/clients/{client_id}/plan"
    eventually(lambda: api.get(plan, headers=AUDITOR).is_success, what="plan")
    assert api.get(plan, headers=AUDITOR).json()["responsible_organisation"] == "te_office:lappi"
    api.post("/handover/2025", json={"dry_run": False}, headers=SUPERVISOR)

    def moved() -> bool:
        organisation = api.get(plan, headers=AUDITOR).json()["responsible_organisation"]
        return bool(organisation == "employment_authority:320")

    eventually(moved, what="the plan to follow the client")
    # The preparation deadline keeps the law it was set under.
    assert api.get(plan, headers=AUDITOR).json()["deadline"]["rule"]["law"] == "1386/2010"


def test_a_transfer_handled_before_the_case_exists_is_followed(
    embedded_settings: Any,
) -> None:
    from datetime import date
    from uuid import uuid4

    from services.assessment.application import AssessmentApplication
    from services.intake.application import IntakeApplication
    from services.intake.model import ClientFacts, PersonalDetails, ResidencePermit
    from shared.contracts import CONTRACTS, parse_event
    from shared.values import Provenance

    system = EmbeddedSystem(embedded_settings)  # no delivery running: we deliver by hand
    intake, assessment = system.nodes["intake"], system.nodes["assessment"]
    assert isinstance(intake.app, IntakeApplication)
    assert isinstance(assessment.app, AssessmentApplication)
    by = Provenance.system("test", "te_office:lappi", datetime_at("2024-10-01"))
    client = intake.app.register_client(
        client_id=uuid4(),
        provenance=by,
        personal=PersonalDetails(given_names="A", family_name="B"),
        facts=ClientFacts(
            registered_jobseeker=True,
            residence_permit=ResidencePermit(type="A", first_permit_on=date(2024, 6, 1)),
        ),
        relationship_started_on=date(2024, 10, 1),
    )
    intake.app.handover(provenance=by, dry_run=False)
    published = [
        intake.service.publishes.to_public(n.id, intake.app.mapper.to_domain_event(n))
        for n in intake.app.recorder.select_notifications(1, 100)
    ]
    wanted = {"EligibilityDetermined": None, "ResponsibilityTransferred": None}
    for event in published:
        if event is not None and event.event_type in wanted:
            wanted[event.event_type] = parse_event(event.model_dump_json(), CONTRACTS)
    # Out of order: the transfer first, then the decision that opens the case.
    for event_type in ("ResponsibilityTransferred", "EligibilityDetermined"):
        event = wanted[event_type]
        assert event is not None
        assessment.app.process(event, assessment.service.policies)
    case = assessment.app.assessment_of(client.id)
    assert case.responsible_organisation == "employment_authority:320"
    assert [p.organisation for p in case.responsibility] == [
        "te_office:lappi",
        "employment_authority:320",
    ]
    system.close()


def datetime_at(day: str) -> Any:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    return datetime.fromisoformat(f"{day}T09:00:00").replace(tzinfo=ZoneInfo("Europe/Helsinki"))
