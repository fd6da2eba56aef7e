"""Records from the TE office's system become events with their origin and original authors."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from kotoutus.embedded import EmbeddedSystem
from kotoutus.te_import import TeExport, client_id_of, import_export
from tests.support import INTERVIEW, bearer, token_for

EXPORT = {
    "source": "urn:fi:te-office:lappi:uras",
    "organisation": "te_office:lappi",
    "clients": [
        {
            "record_id": "TE-2024-0042",
            "registered_by": "te:official.laine",
            "registered_at": "2024-03-04T09:12:00+02:00",
            "relationship_started_on": "2024-03-04",
            "personal": {"given_names": "Omar", "family_name": "Ali", "unhcr_number": "UN-42"},
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
                "job_seeking_obligation": True,
            },
        }
    ],
}


@pytest.fixture
def api(embedded: EmbeddedSystem) -> Iterator[TestClient]:
    with TestClient(embedded.api()) as client:
        yield client


def test_an_export_is_imported_once_with_its_origin_and_authors(
    api: TestClient, embedded: EmbeddedSystem
) -> None:
    export = TeExport.model_validate(EXPORT)
    # The import runs as the TE office's integration; the records name their own authors.
    token = token_for(embedded.settings, "integration", "te_office:lappi", "integration:te-import")
    report = import_export(export, api, token=token)
    assert (report.registered, report.assessments_completed, report.plans_agreed) == (1, 1, 1)
    again = import_export(export, api, token=token)
    assert (again.registered, again.assessments_completed, again.plans_agreed) == (0, 0, 0)
    assert not again.skipped

    client_id = str(client_id_of(export, export.clients[0]))
    te = bearer(organisation="te_office:lappi", subject="tea.laine")
    client = api.get(f"/clients/{client_id}", headers=te).json()
    assert client["responsible_organisation"] == "te_office:lappi"
    plan = api.get(f"/clients/{client_id}/plan", headers=te).json()
    assert plan["agreed_on"] == "2024-04-20"

    events = _public(embedded, client_id)
    by_type = {e["event_type"]: e for e in events}
    origin = "urn:fi:te-office:lappi:uras#TE-2024-0042"
    assert by_type["ClientRegistered"]["data"]["source"] == origin
    for kind in ("ClientRegistered", "AssessmentStarted", "AssessmentCompleted", "PlanAgreed"):
        event = by_type[kind]
        assert event["actor"]["id"] == "te:official.laine", kind
        assert event["organisation"] == "te_office:lappi", kind
        assert event["record_source"] == origin, kind
    assert by_type["PlanAgreed"]["occurred_at"].startswith("2024-04-20T10:00:00")


def _public(system: EmbeddedSystem, client_id: str) -> list[dict[str, Any]]:
    system.deliver_all()
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
