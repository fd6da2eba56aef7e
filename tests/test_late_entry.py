"""A late entry fabricates no overdue: a deadline that had already passed when it was recorded
waits a grace period of record time for its steps, entered with their own dates; a deadline
that really passes with nothing done is still overdue, once — live and imported alike."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from uuid import UUID

import pytest
from fastapi.testclient import TestClient

from kotoutus.embedded import EmbeddedSystem
from kotoutus.te_import import TeExport, client_id_of, import_export
from services.assessment.application import AssessmentApplication
from services.assessment.domain import InitialAssessment
from services.assessment.overdue import overdue_watch
from services.plans.application import PlansApplication
from services.plans.deadlines import plan_deadline_watch
from shared.replay import replay
from shared.settings import Settings
from shared.timers import LATE_ENTRY_GRACE
from tests.support import ACTOR, DECREE, INTERVIEW, bearer, eventually, token_for

OVERDUE = {"AssessmentOverdue", "EnrolmentOverdue", "ReviewOverdue"}
TE = bearer(organisation="te_office:lappi", subject="tea.laine")

# The TE office's record of a case handled in time in 2024, imported now.
EXPORT = {
    "source": "urn:fi:te-office:lappi:uras",
    "organisation": "te_office:lappi",
    "clients": [
        {
            "record_id": "TE-2024-0077",
            "registered_by": "te:official.laine",
            "registered_at": "2024-03-04T09:12:00+02:00",
            "relationship_started_on": "2024-03-04",
            "personal": {"given_names": "Omar", "family_name": "Ali"},
            "facts": {
                "registered_jobseeker": True,
                "residence_permit": {
                    "type": "A",
                    "ground_section": "87",
                    "first_permit_on": "2023-11-01",
                },
            },
            "assessment": {
                "by": "te:official.laine",
                "at": "2024-04-12T13:00:00+03:00",
                "started_on": "2024-04-02",
                "interview": INTERVIEW,
                "completed_on": "2024-04-12",
                "plan_needed": True,
                "reason": "Finnish and work",
            },
            "plan": {
                "by": "te:official.laine",
                "at": "2024-04-20T10:00:00+03:00",
                "agreed_on": "2024-04-20",
                "period": {"starts_on": "2024-04-22", "ends_on": "2025-04-21"},
                "measures": [{"kind": "integration_training", "target_level": "B1.1"}],
            },
        }
    ],
}


@pytest.fixture
def embedded_settings(embedded_settings: Settings) -> Settings:
    """The deployment's grace for late entries (the other tests' settings turn it off)."""
    hours = LATE_ENTRY_GRACE / timedelta(hours=1)
    return embedded_settings.model_copy(update={"late_entry_grace_hours": hours})


@pytest.fixture
def api(embedded: EmbeddedSystem) -> Iterator[TestClient]:
    # The running system's own watches follow the real clock throughout.
    with TestClient(embedded.api()) as client:
        yield client


def apps(system: EmbeddedSystem) -> tuple[AssessmentApplication, PlansApplication]:
    assessment, plans = system.nodes["assessment"].app, system.nodes["plans"].app
    assert isinstance(assessment, AssessmentApplication)
    assert isinstance(plans, PlansApplication)
    return assessment, plans


def register(api: TestClient, started: date) -> UUID:
    """A client in a group the law assigns an assessment, entered now with ``started``."""
    body = {
        "relationship_started_on": started.isoformat(),
        "occurred_at": f"{started.isoformat()}T10:00:00+02:00",
        "personal": {"given_names": "Amina", "family_name": "Hassan"},
        "facts": {
            "non_temporary_social_assistance": True,
            "residence_permit": {"type": "A", "first_permit_on": "2024-06-01"},
        },
    }
    response = api.post("/clients", json=body, headers=ACTOR)
    assert response.status_code == 201, response.text
    client_id = UUID(response.json()["client_id"])
    url = f"/clients/{client_id}/assessment"
    eventually(lambda: api.get(url, headers=ACTOR).is_success, what="the assessment opened")
    return client_id


def recorded_at(app: AssessmentApplication, client_id: UUID) -> datetime:
    """The record time of the event that set the start deadline."""
    due = next(iter(app.events.get(InitialAssessment.create_id(client_id))))
    return due.timestamp


def names(app: AssessmentApplication, client_id: UUID) -> list[str]:
    return [type(e).__name__ for e in app.events.get(InitialAssessment.create_id(client_id))]


def history(system: EmbeddedSystem, client_id: UUID) -> list[str]:
    """What the auditors' replay shows of the client."""
    nodes = {name: (node.service, node.app) for name, node in system.nodes.items()}
    return [event.event_type for event in replay(nodes, client_id=client_id)]


def test_a_late_entry_is_not_overdue_before_its_start_is_entered(
    api: TestClient, embedded: EmbeddedSystem
) -> None:
    assessment, _ = apps(embedded)
    client_id = register(api, date(2025, 1, 1))  # due early in 2025, long past now
    recorded = recorded_at(assessment, client_id)
    # The watch looks at once (woken by the write), before the caseworker enters the start.
    assert overdue_watch(assessment, clock=lambda: recorded).fire() == 0
    start = {"started_on": "2025-01-01", "interview": INTERVIEW, **DECREE}
    started = api.post(f"/clients/{client_id}/assessment/start", json=start, headers=ACTOR)
    assert started.status_code == 200, started.text
    later = recorded + LATE_ENTRY_GRACE + timedelta(days=400)
    assert overdue_watch(assessment, clock=lambda: later).fire() == 0
    assert names(assessment, client_id) == ["Due", "Started", "InterviewRecorded"]
    view = api.get(f"/clients/{client_id}/assessment", headers=ACTOR).json()
    assert (view["started_on"], view["overdue_on"]) == ("2025-01-01", None)
    assert not OVERDUE & set(history(embedded, client_id))


def test_a_late_entry_left_undone_is_overdue_once_when_the_grace_has_run_out(
    api: TestClient, embedded: EmbeddedSystem
) -> None:
    assessment, _ = apps(embedded)
    client_id = register(api, date(2025, 1, 1))
    recorded = recorded_at(assessment, client_id)
    due = assessment.assessment_of(client_id).deadline.due
    last_moment = recorded + LATE_ENTRY_GRACE - timedelta(microseconds=1)
    assert overdue_watch(assessment, clock=lambda: last_moment).fire() == 0
    ran_out = recorded + LATE_ENTRY_GRACE
    watch = overdue_watch(assessment, clock=lambda: ran_out)
    assert watch.fire() == 1
    assert watch.fire() == 0
    # Restarted much later: the log says it was marked.
    later = ran_out + timedelta(days=30)
    assert overdue_watch(assessment, clock=lambda: later).fire() == 0
    assert names(assessment, client_id) == ["Due", "Overdue"]
    overdue = list(assessment.events.get(InitialAssessment.create_id(client_id)))[-1]
    # Business time: the end of the due day, however late it was recorded.
    assert overdue.provenance.occurred_at.date() == due  # type: ignore[attr-defined]
    assert assessment.assessment_of(client_id).overdue_on == due + timedelta(days=1)


def test_a_live_deadline_that_passes_undone_is_overdue_once_the_next_day(
    api: TestClient, embedded: EmbeddedSystem
) -> None:
    assessment, _ = apps(embedded)
    # Entered as it happens: the deadline is still ahead when it is recorded.
    client_id = register(api, datetime.now(UTC).date())
    due = assessment.assessment_of(client_id).deadline.due

    def watch_on(day: date) -> int:
        noon = datetime.combine(day, time(12), tzinfo=UTC)
        return overdue_watch(assessment, clock=lambda: noon).fire()

    assert watch_on(due) == 0  # the due day itself is still on time
    assert watch_on(due + timedelta(days=1)) == 1  # no grace for a deadline recorded live
    assert watch_on(due + timedelta(days=2)) == 0
    assert names(assessment, client_id) == ["Due", "Overdue"]
    assert history(embedded, client_id).count("AssessmentOverdue") == 1


def test_an_import_with_on_time_dates_records_no_overdue_but_a_missed_review(
    api: TestClient, embedded: EmbeddedSystem
) -> None:
    assessment, plans = apps(embedded)
    export = TeExport.model_validate(EXPORT)
    token = token_for(embedded.settings, "integration", "te_office:lappi", "integration:te-import")
    report = import_export(export, api, token=token)
    assert (report.assessments_completed, report.plans_agreed) == (1, 1), report
    client_id = client_id_of(export, export.clients[0])
    now = datetime.now(UTC)
    assert overdue_watch(assessment, clock=lambda: now).fire() == 0
    assert plan_deadline_watch(plans, clock=lambda: now).fire() == 0
    # The caseworker enters the enrolment of April 2024 (in time) the next day.
    enrol: dict[str, Any] = {"enrolled_on": "2024-05-06", "service": "integration_training"}
    enrolled = api.post(f"/clients/{client_id}/plan/enrol", json=enrol, headers=TE)
    assert enrolled.status_code == 200, enrolled.text

    later = now + LATE_ENTRY_GRACE + timedelta(days=1)
    assert overdue_watch(assessment, clock=lambda: later).fire() == 0
    # Nobody recorded the review due in April 2025: that one did pass undone.
    assert plan_deadline_watch(plans, clock=lambda: later).fire() == 1
    recorded = history(embedded, client_id)
    assert "AssessmentStarted" in recorded and "PlanEnrolled" in recorded
    assert [name for name in recorded if name in OVERDUE] == ["ReviewOverdue"]

    def timeline() -> list[str] | None:
        response = api.get(f"/clients/{client_id}/timeline", headers=TE)
        found = [entry["event_type"] for entry in response.json()] if response.is_success else []
        return found if "ReviewOverdue" in found else None

    shown = eventually(timeline, what="the review overdue on the timeline")
    assert [name for name in shown if name in OVERDUE] == ["ReviewOverdue"]
    view = api.get(f"/clients/{client_id}/assessment", headers=TE).json()
    assert (view["started_on"], view["overdue_on"]) == ("2024-04-02", None)
