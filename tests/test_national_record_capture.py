"""What the national integration data store asks of each record (Decree 874/2024 §1–3) is
captured by the staff API and published: the assessment's further measures, the plan's planned
date, makers and sources; the plan's makers, sources and planned review; each review's
content, completed later if need be. Calls and stored events without them work as before."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from uuid import UUID

import pytest
from fastapi.testclient import TestClient

from kotoutus.embedded import EmbeddedSystem
from kotoutus.te_import import TeExport, client_id_of, import_export
from services.plans.application import PlansApplication
from services.plans.domain import IntegrationPlan
from tests.support import ACTOR, DECREE, INTERVIEW, eventually, token_for
from tests.test_plans import FINNISH, client_needing_a_plan
from tests.test_te_import import EXPORT

MARIA = {
    "name": "Maria Korhonen",
    "title": "integration coordinator",
    "organisation": "municipality:320",
    "email": "maria.korhonen@example.fi",
}
PEKKA = {"name": "Pekka Virtanen", "organisation": "municipality:320", "phone": "+358 40 123 4567"}


@pytest.fixture
def api(embedded: EmbeddedSystem) -> Iterator[TestClient]:
    with TestClient(embedded.api()) as client:
        yield client


def _public(system: EmbeddedSystem, client_id: str) -> list[dict[str, Any]]:
    """The client's public events, as their services publish them, in each store's order."""
    found = []
    for node in system.nodes.values():
        for notification in node.app.recorder.select_notifications(1, 10_000):
            event = node.service.publishes.to_public(
                notification.id, node.app.mapper.to_domain_event(notification)
            )
            data = json.loads(event.model_dump_json()) if event else None
            if data and data["data"].get("client_id") == client_id:
                found.append(data)
    return found


def _of_type(system: EmbeddedSystem, client_id: str, event_type: str) -> list[dict[str, Any]]:
    return [e for e in _public(system, client_id) if e["event_type"] == event_type]


def _due(api: TestClient, started_on: str = "2025-02-03") -> str:
    """A client of a group given an assessment, whose assessment is due."""
    body = {
        "relationship_started_on": started_on,
        "personal": {"given_names": "Amina", "family_name": "Hassan"},
        "facts": {
            "non_temporary_social_assistance": True,
            "residence_permit": {"type": "A", "first_permit_on": "2024-12-01"},
        },
    }
    client_id = str(api.post("/clients", json=body, headers=ACTOR).json()["client_id"])
    base = f"/clients/{client_id}/assessment"
    eventually(lambda: api.get(base, headers=ACTOR).is_success, what="assessment")
    return client_id


def _started(api: TestClient, started_on: str = "2025-02-03") -> str:
    """A client of a group given an assessment, its interview held on ``started_on``."""
    client_id = _due(api, started_on)
    base = f"/clients/{client_id}/assessment"
    start = {"started_on": started_on, "interview": INTERVIEW, **DECREE}
    started = api.post(f"{base}/start", json=start, headers=ACTOR)
    assert started.status_code == 200, started.text
    return client_id


COMPLETE = {"completed_on": "2025-02-20", "plan_needed": True, "reason": "language and work"}


def test_a_completion_with_its_documentation_publishes_both_in_one_save(
    api: TestClient, embedded: EmbeddedSystem
) -> None:
    client_id = _started(api)
    body = {
        **COMPLETE,
        "further_measures": ["language_skills", "recognition_of_skills"],
        "plan_planned_on": "2025-03-03",
        "makers": [MARIA, PEKKA],
        "sources": ["dvv", "client"],
    }
    done = api.post(f"/clients/{client_id}/assessment/complete", json=body, headers=ACTOR)
    assert done.status_code == 200, done.text
    view = done.json()
    assert view["completed_on"] == "2025-02-20"
    # Codes in the order of their lists (Decree 869/2024 §3(1); the sources' enumeration).
    assert view["further_measures"] == ["recognition_of_skills", "language_skills"]
    assert view["plan_planned_on"] == "2025-03-03"
    assert [m["name"] for m in view["makers"]] == ["Maria Korhonen", "Pekka Virtanen"]
    assert view["sources"] == ["client", "dvv"]

    events = {e["event_type"]: e for e in _public(embedded, client_id)}
    documented = events["AssessmentDocumented"]
    # Right after the completion and the plan need, in the same save.
    versions = [events[t]["aggregate_version"] for t in ("AssessmentCompleted", "PlanNeedDecided")]
    assert documented["aggregate_version"] == versions[1] + 1 == versions[0] + 2
    assert documented["occurred_at"] == events["AssessmentCompleted"]["occurred_at"]
    assert documented["actor"]["id"] == "anna.virtanen"
    data = documented["data"]
    assert data["assessment_id"] == view["assessment_id"]
    assert data["further_measures"] == ["recognition_of_skills", "language_skills"]
    assert data["plan_planned_on"] == "2025-03-03"
    assert data["makers"][0] == {**MARIA, "phone": None}
    assert data["makers"][1] == {**PEKKA, "title": None, "email": None}
    assert data["sources"] == ["client", "dvv"]


def test_documentation_later_replaces_what_it_gives_and_leaves_the_rest(
    api: TestClient, embedded: EmbeddedSystem
) -> None:
    client_id = _started(api)
    url = f"/clients/{client_id}/assessment/documentation"
    # While in progress.
    first = api.post(url, json={"makers": [MARIA], "further_measures": []}, headers=ACTOR)
    assert first.status_code == 200, first.text
    assert first.json()["further_measures"] == []  # recorded: none
    assert first.json()["completed_on"] is None
    done = api.post(f"/clients/{client_id}/assessment/complete", json=COMPLETE, headers=ACTOR)
    assert done.status_code == 200, done.text
    # After the completion, for fixing the records.
    later = {"sources": ["migri"], "makers": [MARIA], "plan_planned_on": "2025-02-03"}
    second = api.post(url, json=later, headers=ACTOR)
    assert second.status_code == 200, second.text
    view = second.json()
    assert (view["makers"], view["sources"]) == ([{**MARIA, "phone": None}], ["migri"])
    assert (view["further_measures"], view["plan_planned_on"]) == ([], "2025-02-03")

    published = _of_type(embedded, client_id, "AssessmentDocumented")
    assert len(published) == 2
    assert published[0]["data"]["further_measures"] == []
    assert published[0]["data"]["sources"] is None
    # What was already so is not recorded again: the makers are left (null) the second time.
    assert published[1]["data"]["makers"] is None
    assert published[1]["data"]["sources"] == ["migri"]
    assert published[1]["data"]["plan_planned_on"] == "2025-02-03"
    # Nothing new is no event.
    again = api.post(url, json=later, headers=ACTOR)
    assert again.json()["version"] == view["version"]
    assert api.post(url, json={}, headers=ACTOR).json()["version"] == view["version"]


def test_the_plans_date_may_not_be_planned_before_the_assessment_started(
    api: TestClient, embedded: EmbeddedSystem
) -> None:
    client_id = _started(api)
    url = f"/clients/{client_id}/assessment"
    early = {"plan_planned_on": "2025-02-02"}
    refused = api.post(f"{url}/documentation", json=early, headers=ACTOR)
    assert refused.status_code == 409
    problem = refused.json()
    assert problem["code"] == "plan_planned_before_assessment"
    assert set(problem["messages"]) == {"fi", "sv", "en"}
    assert "2025-02-02 < 2025-02-03" in problem["message"]
    # Refused with the completion too, which is not recorded then either.
    with_it = api.post(f"{url}/complete", json={**COMPLETE, **early}, headers=ACTOR)
    assert with_it.status_code == 409
    assert with_it.json()["code"] == "plan_planned_before_assessment"
    assert api.get(url, headers=ACTOR).json()["completed_on"] is None
    assert not _of_type(embedded, client_id, "AssessmentDocumented")


def test_only_a_started_assessment_is_documented(api: TestClient) -> None:
    client_id = _due(api)
    url = f"/clients/{client_id}/assessment"
    due_only = api.post(f"{url}/documentation", json={"sources": ["client"]}, headers=ACTOR)
    assert due_only.status_code == 409 and due_only.json()["code"] == "assessment_not_started"
    unknown = f"/clients/{UUID(int=7)}/assessment/documentation"
    assert api.post(unknown, json={"sources": ["client"]}, headers=ACTOR).status_code in {403, 404}


def test_a_maker_without_email_or_phone_is_refused(
    api: TestClient, embedded: EmbeddedSystem
) -> None:
    client_id = _started(api)
    url = f"/clients/{client_id}/assessment"
    unreachable = {"name": "Maria Korhonen", "organisation": "municipality:320"}
    for path, body in (
        ("documentation", {"makers": [unreachable]}),
        ("complete", {**COMPLETE, "makers": [MARIA, unreachable]}),
    ):
        refused = api.post(f"{url}/{path}", json=body, headers=ACTOR)
        assert refused.status_code == 422, refused.text
        assert "email or a phone" in refused.text
    bad_email = {**MARIA, "email": "not an address"}
    assert (
        api.post(f"{url}/documentation", json={"makers": [bad_email]}, headers=ACTOR).status_code
        == 422
    )
    no_makers = api.post(f"{url}/documentation", json={"makers": []}, headers=ACTOR)
    assert no_makers.status_code == 422
    assert api.get(url, headers=ACTOR).json()["completed_on"] is None
    assert not _of_type(embedded, client_id, "AssessmentDocumented")


def test_calls_without_the_new_fields_work_as_before(
    api: TestClient, embedded: EmbeddedSystem
) -> None:
    client_id = client_needing_a_plan(api, "2025-02-03", "2024-12-01", "2025-02-20")
    view = api.get(f"/clients/{client_id}/assessment", headers=ACTOR).json()
    assert (view["makers"], view["sources"], view["further_measures"]) == (None, None, None)
    agreed = _agree(api, client_id)
    assert agreed.status_code == 200, agreed.text
    assert (agreed.json()["makers"], agreed.json()["review_planned_on"]) == (None, None)
    reviewed = api.post(
        f"/clients/{client_id}/plan/review", json={"reviewed_on": "2025-09-01"}, headers=ACTOR
    )
    assert reviewed.status_code == 200, reviewed.text
    assert reviewed.json()["reviews"] == [{"reviewed_on": "2025-09-01", "content": None}]
    types = [e["event_type"] for e in _public(embedded, client_id)]
    assert "AssessmentCompleted" in types and "PlanAgreed" in types
    assert not {"AssessmentDocumented", "PlanDocumented", "ReviewDocumented"} & set(types)
    (review,) = _of_type(embedded, client_id, "PlanReviewed")
    assert review["data"]["content"] is None


def _agree(api: TestClient, client_id: str, **more: Any) -> Any:
    body = {
        "agreed_on": "2025-03-03",
        "period": {"starts_on": "2025-03-03", "ends_on": "2026-03-02"},
        "goals": ["language", "employment"],
        "measures": FINNISH,
        **more,
    }
    return api.post(f"/clients/{client_id}/plan/agree", json=body, headers=ACTOR)


def test_a_plans_documentation_at_its_agreement_and_later(
    api: TestClient, embedded: EmbeddedSystem
) -> None:
    client_id = client_needing_a_plan(api, "2025-02-03", "2024-12-01", "2025-02-20")
    early = _agree(api, client_id, review_planned_on="2025-03-02")
    assert early.status_code == 409 and early.json()["code"] == "review_planned_too_early"
    assert api.get(f"/clients/{client_id}/plan", headers=ACTOR).json()["agreed_on"] is None
    documented = {"makers": [MARIA], "sources": ["client"], "review_planned_on": "2025-08-25"}
    agreed = _agree(api, client_id, **documented)
    assert agreed.status_code == 200, agreed.text
    view = agreed.json()
    assert view["makers"] == [{**MARIA, "phone": None}]
    assert (view["sources"], view["review_planned_on"]) == (["client"], "2025-08-25")

    url = f"/clients/{client_id}/plan/documentation"
    later = api.post(
        url, json={"review_planned_on": "2025-08-29", "sources": ["client"]}, headers=ACTOR
    )
    assert later.status_code == 200, later.text
    assert later.json()["review_planned_on"] == "2025-08-29"
    assert later.json()["makers"] == view["makers"]
    too_early = api.post(url, json={"review_planned_on": "2025-01-01"}, headers=ACTOR)
    assert too_early.status_code == 409
    assert set(too_early.json()["messages"]) == {"fi", "sv", "en"}

    events = _public(embedded, client_id)
    plans = [e for e in events if e["source"] == "plans"]
    types = [e["event_type"] for e in plans]
    # The agreement, its deadlines, then what it was documented with: one save.
    at = types.index("PlanAgreed")
    assert types[at : at + 4] == ["PlanAgreed", "EnrolmentDue", "ReviewDue", "PlanDocumented"]
    first, second = (e["data"] for e in plans if e["event_type"] == "PlanDocumented")
    assert first["plan_id"] == view["plan_id"]
    assert (first["sources"], first["review_planned_on"]) == (["client"], "2025-08-25")
    assert first["makers"] == [{**MARIA, "phone": None}]
    assert second == {**second, "makers": None, "sources": None, "review_planned_on": "2025-08-29"}


def test_a_review_with_its_content_and_its_record_completed_later(
    api: TestClient, embedded: EmbeddedSystem
) -> None:
    client_id = client_needing_a_plan(api, "2025-02-03", "2024-12-01", "2025-02-20")
    assert _agree(api, client_id).status_code == 200
    content = {
        "participation": [{"service": "finnish_study", "status": "participating"}],
        "progress": [{"goal": "language", "progress": "progressing"}],
        "hindrances": ["childcare"],
        # A record of what the review decided: the plan's period stays (extend changes it).
        "changes": {"goals_added": ["education"], "period_ends_on": "2026-09-01"},
        "next_review_planned_on": "2026-02-16",
        "makers": [PEKKA],
        "sources": ["client", "education_provider"],
    }
    plan = f"/clients/{client_id}/plan"
    reviewed = api.post(
        f"{plan}/review", json={"reviewed_on": "2025-09-01", "content": content}, headers=ACTOR
    )
    assert reviewed.status_code == 200, reviewed.text
    view = reviewed.json()
    assert view["period"] == {"starts_on": "2025-03-03", "ends_on": "2026-03-02"}
    assert view["review_due"]["due"] == "2026-03-02"  # the law's, not the plan's wish
    ((record),) = view["reviews"]
    assert record["reviewed_on"] == "2025-09-01"
    assert record["content"]["changes"]["period_ends_on"] == "2026-09-01"

    (published,) = _of_type(embedded, client_id, "PlanReviewed")
    carried = published["data"]["content"]
    assert carried["participation"] == content["participation"]
    assert carried["progress"] == content["progress"]
    assert carried["hindrances"] == ["childcare"]
    assert carried["changes"]["goals_added"] == ["education"]
    assert carried["next_review_planned_on"] == "2026-02-16"
    assert carried["makers"] == [{**PEKKA, "title": None, "email": None}]
    assert carried["results"] is None
    assert not _of_type(embedded, client_id, "PlanExtended")

    # Completed later: the results, and a second maker; what is given replaces.
    url = f"{plan}/reviews/2025-09-01/documentation"
    more = {
        "results": {
            "outcomes": ["none_yet"],
            "language_skills": [{"language": "fi", "speaking": "A2.1"}],
        },
        "makers": [PEKKA, MARIA],
        "hindrances": ["childcare"],  # as it was: not recorded again
    }
    documented = api.post(url, json={"content": more}, headers=ACTOR)
    assert documented.status_code == 200, documented.text
    merged = documented.json()["reviews"][0]["content"]
    assert merged["results"]["outcomes"] == ["none_yet"]
    assert [m["name"] for m in merged["makers"]] == ["Pekka Virtanen", "Maria Korhonen"]
    assert merged["participation"] == content["participation"]  # left as it was
    (completed,) = _of_type(embedded, client_id, "ReviewDocumented")
    data = completed["data"]
    assert (data["reviewed_on"], data["plan_id"]) == ("2025-09-01", view["plan_id"])
    assert data["content"]["results"]["language_skills"][0]["speaking"] == "A2.1"
    assert data["content"]["hindrances"] is None and data["content"]["participation"] is None
    assert len(data["content"]["makers"]) == 2

    early = {"content": {"next_review_planned_on": "2025-08-31"}}
    refused = api.post(url, json=early, headers=ACTOR)
    assert refused.status_code == 409 and refused.json()["code"] == "review_planned_too_early"


def test_a_review_not_made_is_not_documented(api: TestClient) -> None:
    client_id = client_needing_a_plan(api, "2025-02-03", "2024-12-01", "2025-02-20")
    plan = f"/clients/{client_id}/plan"
    body = {"content": {"sources": ["client"]}}
    not_agreed = api.post(f"{plan}/reviews/2025-09-01/documentation", json=body, headers=ACTOR)
    assert not_agreed.status_code == 409 and not_agreed.json()["code"] == "plan_state"
    assert _agree(api, client_id).status_code == 200
    reviewed = api.post(f"{plan}/review", json={"reviewed_on": "2025-09-01"}, headers=ACTOR)
    assert reviewed.status_code == 200
    refused = api.post(f"{plan}/reviews/2025-09-02/documentation", json=body, headers=ACTOR)
    assert refused.status_code == 404
    assert refused.json()["code"] == "review_not_found"
    assert set(refused.json()["messages"]) == {"fi", "sv", "en"}
    # The review that was made is documented: by the import's or a caseworker's token alike.
    done = api.post(f"{plan}/reviews/2025-09-01/documentation", json=body, headers=ACTOR)
    assert done.status_code == 200, done.text
    assert done.json()["reviews"] == [
        {"reviewed_on": "2025-09-01", "content": {**_EMPTY, "sources": ["client"]}}
    ]


_EMPTY = {
    "participation": None,
    "progress": None,
    "results": None,
    "hindrances": None,
    "changes": None,
    "next_review_planned_on": None,
    "makers": None,
    "sources": None,
}


def test_reviews_stored_before_the_content_was_kept_are_read(
    api: TestClient, embedded: EmbeddedSystem
) -> None:
    """A Reviewed event as stored before: no ``content`` attribute at all. The plan replays
    (the review is known, with nothing recorded) and its public event has ``content`` null."""
    client_id = client_needing_a_plan(api, "2025-02-03", "2024-12-01", "2025-02-20")
    assert _agree(api, client_id).status_code == 200
    body = {"reviewed_on": "2025-09-01", "content": {"hindrances": ["none"]}}
    assert api.post(f"/clients/{client_id}/plan/review", json=body, headers=ACTOR).is_success
    node = embedded.nodes["plans"]
    app = node.app
    assert isinstance(app, PlansApplication)
    plan_id = IntegrationPlan.create_id(UUID(client_id))

    def as_stored_before(event: Any) -> Any:
        state = {k: v for k, v in vars(event).items() if k != "content"}
        old: Any = object.__new__(type(event))
        object.__setattr__(old, "__dict__", state)
        return app.mapper.to_domain_event(app.mapper.to_stored_event(old))

    history = [as_stored_before(e) for e in app.events.get(plan_id)]
    reviewed = next(e for e in history if type(e).__qualname__ == "IntegrationPlan.Reviewed")
    assert "content" not in vars(reviewed)
    plan: Any = None
    for event in history:
        plan = event.mutate(plan)
    assert isinstance(plan, IntegrationPlan)
    assert plan.reviews == {reviewed.reviewed_on: None}
    assert (plan.makers, plan.sources, plan.review_planned_on) == (None, None, None)
    public = node.service.publishes.to_public(1, reviewed)
    assert public is not None and public.event_type == "PlanReviewed"
    assert public.data.content is None  # type: ignore[attr-defined]


def test_the_te_import_names_the_te_office_as_the_source(
    api: TestClient, embedded: EmbeddedSystem
) -> None:
    export = TeExport.model_validate(EXPORT)
    token = token_for(embedded.settings, "integration", "te_office:lappi", "integration:te-import")
    report = import_export(export, api, token=token)
    assert (report.assessments_completed, report.plans_agreed) == (1, 1), report
    client_id = str(client_id_of(export, export.clients[0]))
    origin = "urn:fi:te-office:lappi:uras#TE-2024-0042"
    for kind in ("AssessmentDocumented", "PlanDocumented"):
        (event,) = _of_type(embedded, client_id, kind)
        assert event["data"]["sources"] == ["te_office"], kind
        assert event["record_source"] == origin, kind
        assert event["actor"]["id"] == "te:official.laine", kind
        assert event["data"]["makers"] is None, kind  # the export names no contacts
