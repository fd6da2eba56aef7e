"""The integration plan by the law of its date, across the 2025 boundary."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from uuid import UUID

import pytest
from dateutil.relativedelta import relativedelta
from fastapi.testclient import TestClient

from kotoutus.embedded import EmbeddedSystem
from services.plans.application import PlansApplication
from services.plans.deadlines import plan_deadline_watch
from tests.support import ACTOR, DECREE, INTERVIEW, eventually

FINNISH = [
    {"kind": "finnish_study", "target_level": "B1.1", "provider": "Kemijärven kansalaisopisto"}
]


@pytest.fixture
def api(embedded: EmbeddedSystem) -> Iterator[TestClient]:
    with TestClient(embedded.api()) as client:
        yield client


def client_needing_a_plan(
    api: TestClient,
    started: str,
    first_permit_on: str,
    done: str,
    group: dict[str, bool] | None = None,
) -> str:
    """A client of a group given an assessment (by default non-temporary social assistance),
    assessed with a plan needed."""
    body = {
        "relationship_started_on": started,
        "personal": {"given_names": "A", "family_name": "B"},
        "facts": {
            **(group or {"non_temporary_social_assistance": True}),
            "residence_permit": {"type": "A", "first_permit_on": first_permit_on},
        },
    }
    client_id = str(api.post("/clients", json=body, headers=ACTOR).json()["client_id"])
    base = f"/clients/{client_id}/assessment"
    eventually(lambda: api.get(base, headers=ACTOR).is_success, what="assessment")
    start = {"started_on": started, "interview": INTERVIEW, **DECREE}
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
    # Act 1386/2010, the law of the plan's date: three years in all (§12(3)), and two more
    # only on a ground (§12(4)) — not the new law's two.
    no_ground = api.post(extend, json={"ends_on": "2027-06-11", "reason": "x"}, headers=ACTOR)
    assert no_ground.status_code == 409 and "ground" in no_ground.json()["message"]
    special = {"reason": "x", "ground": "special_measures"}
    too_long = api.post(extend, json={**special, "ends_on": "2029-06-11"}, headers=ACTOR)
    assert too_long.status_code == 409
    assert "1386/2010" in too_long.json()["message"]
    not_then = api.post(
        extend,
        json={**special, "ground": "home_care_allowance", "ends_on": "2027-07-01"},
        headers=ACTOR,
    )
    assert not_then.status_code == 409  # a ground only the new law gives
    extended = api.post(extend, json={**special, "ends_on": "2029-06-10"}, headers=ACTOR)
    assert extended.is_success, extended.text

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
    # At least every six months (681/2023 §22(1)); 1 Mar 2026 is a Sunday.
    assert reviewed.json()["review_due"]["due"] == "2026-03-02"
    assert reviewed.json()["review_due"]["rule"]["section"] == "§22(1)"
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


def test_an_old_plan_keeps_the_old_law_until_its_first_review_under_the_new_one(
    api: TestClient,
) -> None:
    """681/2023 §102(2): the old law's yearly review until the plan is reviewed under §22;
    from that review on, at least every six months."""
    client_id = client_needing_a_plan(api, "2024-04-02", "2024-01-15", "2024-05-20")
    agreed = agree(api, client_id, "2024-06-10", "2024-06-10", "2025-06-09")
    assert agreed.json()["review_due"]["rule"]["section"] == "§18(2)"
    review = f"/clients/{client_id}/plan/review"
    reviewed = api.post(review, json={"reviewed_on": "2025-05-12"}, headers=ACTOR).json()
    assert reviewed["review_due"]["due"] == "2025-11-12"
    assert reviewed["review_due"]["rule"]["law"] == "681/2023"
    plan = api.get(f"/clients/{client_id}/plan", headers=ACTOR).json()
    assert plan["review_due"]["nominal"] == "2025-11-12"


def test_a_new_law_extension_needs_its_ground_and_adds_what_the_ground_allows(
    api: TestClient,
) -> None:
    client_id = client_needing_a_plan(api, "2025-02-03", "2024-12-01", "2025-02-20")
    assert agree(api, client_id, "2025-03-03", "2025-03-03", "2026-03-02").is_success
    extend = f"/clients/{client_id}/plan/extend"

    def extended(ends_on: str, **more: Any) -> Any:
        return api.post(extend, json={"ends_on": ends_on, "reason": "r", **more}, headers=ACTOR)

    assert extended("2027-03-03").is_success  # two years in all (§23(2))
    assert extended("2027-03-04").status_code == 409
    illness = extended("2027-06-01", ground="temporary_obstacle")
    assert illness.status_code == 409 and "lost_days" in illness.json()["message"]
    # §23(4): the time lost is added, for as long as it lasted.
    assert extended("2027-04-02", ground="temporary_obstacle", lost_days=30).is_success
    assert extended("2027-04-03", ground="temporary_obstacle", lost_days=30).status_code == 409
    # §31(1): a client under 25 finishing self-study, at most one year more.
    assert extended("2028-03-03", ground="self_study_under_25").is_success
    assert extended("2028-03-04", ground="self_study_under_25").status_code == 409
    # §23(3): at most two more years on special measures or home care allowance.
    assert extended("2029-03-03", ground="home_care_allowance").is_success
    assert extended("2029-03-04", ground="special_measures").status_code == 409
    plan = api.get(f"/clients/{client_id}/plan", headers=ACTOR).json()
    assert plan["period"]["ends_on"] == "2029-03-03"


def test_from_2025_there_is_no_family_plan(api: TestClient) -> None:
    """Act 1100/2024 repealed the family plan (681/2023 §21) before it came into force; the
    wellbeing services county joins the ordinary plan instead (§20(2))."""
    client_id = client_needing_a_plan(api, "2025-02-03", "2024-12-01", "2025-02-20")
    body = {
        "agreed_on": "2025-03-03",
        "period": {"starts_on": "2025-03-03", "ends_on": "2026-03-02"},
        "kind": "family",
        "goals": ["language"],
        "measures": FINNISH,
    }
    refused = api.post(f"/clients/{client_id}/plan/agree", json=body, headers=ACTOR)
    assert refused.status_code == 409 and "§20(2)" in refused.json()["message"]
    agreed = api.post(
        f"/clients/{client_id}/plan/agree", json={**body, "kind": "person"}, headers=ACTOR
    )
    assert agreed.is_success, agreed.text


VICTIM = {"trafficking_victim": True}


def test_a_trafficking_victim_first_reached_late_gets_a_plan_after_three_years(
    api: TestClient,
) -> None:
    """681/2023 §20(4): the three years of §20(3) may be departed from for a trafficking
    victim first reached only after they ran out — and only then."""
    late = client_needing_a_plan(api, "2025-06-02", "2022-01-10", "2025-06-02", VICTIM)
    agreed = agree(api, late, "2025-07-01", "2025-07-01", "2026-06-30")
    assert agreed.status_code == 200, agreed.text

    def in_timeline() -> bool:
        timeline = api.get(f"/clients/{late}/timeline", headers=ACTOR).json()
        return "PlanAgreed" in {e["event_type"] for e in timeline}

    eventually(in_timeline, what="the plan in the timeline")
    timeline = api.get(f"/clients/{late}/timeline", headers=ACTOR).json()
    plan = next(e for e in timeline if e["event_type"] == "PlanAgreed")
    assert "§20(4)" in {r["section"] for r in plan["legal_basis"]}

    in_time = client_needing_a_plan(api, "2025-01-02", "2022-02-01", "2025-01-02", VICTIM)
    refused = agree(api, in_time, "2025-03-03", "2025-03-03", "2026-03-02")
    assert refused.status_code == 409 and refused.json()["code"] == "plan_refused"
