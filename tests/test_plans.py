"""The integration plan by the law of its date, across the 2025 boundary."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from uuid import UUID

import pytest
from dateutil.relativedelta import relativedelta
from fastapi.testclient import TestClient

from services.plans.application import PlansApplication
from services.plans.deadlines import plan_deadline_watch
from shared.entrypoints.embedded import EmbeddedSystem
from tests.support import ACTOR, INTERVIEW, eventually

FINNISH = [
    {"kind": "finnish_study", "target_level": "B1.1", "provider": "Kemijärven kansalaisopisto"}
]


@pytest.fixture
def api(embedded: EmbeddedSystem) -> Iterator[TestClient]:
    with TestClient(embedded.api()) as client:
        yield client


def client_needing_a_plan(api: TestClient, started: str, first_permit_on: str, done: str) -> str:
    body = {
        "relationship_started_on": started,
        "personal": {"given_names": "A", "family_name": "B"},
        "facts": {
            "non_temporary_social_assistance": True,
            "residence_permit": {"type": "A", "first_permit_on": first_permit_on},
        },
    }
    client_id = str(api.post("/clients", json=body, headers=ACTOR).json()["client_id"])
    base = f"/clients/{client_id}/assessment"
    eventually(lambda: api.get(base, headers=ACTOR).is_success, what="assessment")
    start = {"started_on": started, "interview": INTERVIEW}
    assert api.post(f"{base}/start", json=start, headers=ACTOR).is_success
    complete = {"completed_on": done, "plan_needed": True, "reason": "language and work"}
    assert api.post(f"{base}/complete", json=complete, headers=ACTOR).is_success
    eventually(lambda: api.get(f"/clients/{client_id}/plan", headers=ACTOR).is_success, what="plan")
    return client_id


def agree(api: TestClient, client_id: str, on: str, starts: str, ends: str) -> Any:
    body = {
        "agreed_on": on,
        "period": {"starts_on": starts, "ends_on": ends},
        "goals": ["language", "employment"],
        "measures": FINNISH,
    }
    return api.post(f"/clients/{client_id}/plan/agree", json=body, headers=ACTOR)


def test_an_old_law_plan_is_extended_in_2025_within_the_old_limits(api: TestClient) -> None:
    client_id = client_needing_a_plan(api, "2024-04-02", "2024-01-15", "2024-05-20")
    agreed = agree(api, client_id, "2024-06-10", "2024-06-10", "2025-06-09")
    assert agreed.status_code == 200, agreed.text
    # Old law: enrolment within one month; the review within a year.
    assert agreed.json()["review_due"]["due"] == "2025-06-10"
    extend = f"/clients/{client_id}/plan/extend"
    longer = api.post(
        extend, json={"ends_on": "2026-06-09", "reason": "B1.1 not yet reached"}, headers=ACTOR
    )
    assert longer.status_code == 200, longer.text
    # Act 1386/2010, the law of the plan's date: five years in all, not the new law's two.
    too_long = api.post(extend, json={"ends_on": "2029-06-11", "reason": "x"}, headers=ACTOR)
    assert too_long.status_code == 409
    assert "1386/2010" in too_long.json()["message"]
    assert api.post(extend, json={"ends_on": "2029-06-10", "reason": "x"}, headers=ACTOR).is_success

    def reminders() -> dict[str, Any]:
        found = api.get(f"/clients/{client_id}/reminders", headers=ACTOR).json()
        return {r["deadline_kind"]: r for r in found}

    enrolment = eventually(lambda: reminders().get("enrolment"), what="enrolment reminder")
    # Agreed, so prepared; the cancellation may be handled after the enrolment's scheduling.
    eventually(
        lambda: reminders().get("plan-preparation", {}).get("state") == "cancelled",
        what="plan preparation reminder cancelled",
    )
    assert enrolment["due"] == "2024-07-10"
    body = {"enrolled_on": "2024-07-01", "service": "finnish_study"}
    assert api.post(f"/clients/{client_id}/plan/enrol", json=body, headers=ACTOR).is_success
    eventually(lambda: reminders()["enrolment"]["state"] == "cancelled", what="cancelled")


def test_a_new_law_plan(api: TestClient) -> None:
    client_id = client_needing_a_plan(api, "2025-02-03", "2024-12-01", "2025-02-20")
    too_long = agree(api, client_id, "2025-03-03", "2025-03-03", "2026-03-04")
    assert too_long.status_code == 409
    assert "at most one year" in too_long.json()["message"]
    agreed = agree(api, client_id, "2025-03-03", "2025-03-03", "2026-03-02")
    assert agreed.status_code == 200, agreed.text
    view = agreed.json()
    reviewed = api.post(
        f"/clients/{client_id}/plan/review", json={"reviewed_on": "2025-09-01"}, headers=ACTOR
    )
    assert reviewed.json()["review_due"]["due"] == "2026-09-01"
    assert reviewed.json()["review_due"]["rule"]["confirmed"] is False
    beyond = api.post(
        f"/clients/{client_id}/plan/extend",
        json={"ends_on": "2027-03-04", "reason": "x"},
        headers=ACTOR,
    )
    assert beyond.status_code == 409 and "two years" in beyond.json()["message"]
    ended = api.post(
        f"/clients/{client_id}/plan/end",
        json={"ended_on": "2025-12-31", "reason": "goals_met"},
        headers=ACTOR,
    )
    assert ended.json()["end_reason"] == "goals_met"
    assert view["period"]["ends_on"] == "2026-03-02"


def test_a_first_plan_outside_three_years_of_the_first_permit_is_refused(api: TestClient) -> None:
    client_id = client_needing_a_plan(api, "2024-10-01", "2022-01-10", "2024-10-15")
    refused = agree(api, client_id, "2025-01-13", "2025-01-13", "2025-12-31")
    assert refused.status_code == 409
    assert refused.json()["code"] == "plan_refused"
    assert "First permit 2022-01-10" in refused.json()["message"]


def test_plan_deadlines_pass_once_by_the_durable_timer(
    api: TestClient, embedded: EmbeddedSystem
) -> None:
    # Dates from today on: the running system's own timer (real clock) must not fire first.
    today = date.today()
    day = today.isoformat()
    permit = (today - relativedelta(months=1)).isoformat()
    client_id = client_needing_a_plan(api, day, permit, day)
    ends = (today + relativedelta(months=12) - relativedelta(days=1)).isoformat()
    assert agree(api, client_id, day, day, ends).is_success
    app = embedded.nodes["plans"].app
    assert isinstance(app, PlansApplication)
    plan = app.plan_of(UUID(client_id))
    assert plan.enrolment_due is not None and plan.review_due is not None

    def watch_on(moment: date) -> int:
        noon = datetime.combine(moment, time(12), tzinfo=UTC)
        return plan_deadline_watch(app, clock=lambda: noon).fire()

    assert watch_on(plan.enrolment_due.due) == 0  # the due day itself is still on time
    assert watch_on(plan.enrolment_due.due + timedelta(days=1)) == 1
    assert watch_on(plan.review_due.due + timedelta(days=1)) == 1
    assert watch_on(plan.review_due.due + timedelta(days=400)) == 0  # once each, restarts too
    names = [type(e).__name__ for e in app.events.get(plan.id)]
    assert names.count("EnrolmentOverdue") == 1 and names.count("ReviewOverdue") == 1
