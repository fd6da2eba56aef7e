"""The dry run and its application: `GET /retention/due` (supervisors and auditors, a problem
for anyone else), `kotoutus retention report|apply`, and legal holds over HTTP."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from uuid import UUID

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from kotoutus.cli import app as cli
from kotoutus.embedded import EmbeddedSystem
from services.intake.api import RegisterClient
from services.intake.application import IntakeApplication
from services.intake.retention import IDENTITY
from shared.clock import HELSINKI
from shared.settings import Settings
from shared.values import Actor, ActorKind, Provenance
from tests.support import ACTOR, AUDITOR, SUPERVISOR

STAFF = Actor(id="sanna.lahtinen", kind=ActorKind.USER)


def staff(day: str) -> Provenance:
    moment = datetime.fromisoformat(f"{day}T12:00").replace(tzinfo=HELSINKI)
    return Provenance(actor=STAFF, organisation="municipality:320", occurred_at=moment)


@pytest.fixture
def manual(embedded_settings: Settings) -> Iterator[EmbeddedSystem]:
    """An embedded system whose intake does not delete by itself (its HTTP app's lifespan
    would run the watch by the wall clock): the tests choose the day."""
    system = EmbeddedSystem(embedded_settings.model_copy(update={"retention_automatic": False}))
    yield system
    system.close()


@pytest.fixture
def api(manual: EmbeddedSystem) -> Iterator[TestClient]:
    with TestClient(manual.api()) as client:
        yield client


def closed_in_2014(app: IntakeApplication, code: str) -> UUID:
    request = RegisterClient.model_validate(
        {
            "relationship_started_on": "2012-02-03",
            "personal": {"given_names": "Olena", "family_name": "Kovalenko", "identity_code": code},
            "facts": {"mother_tongue": "uk"},
        }
    )
    client = app.register_client(
        client_id=request.client_id,
        provenance=staff("2012-02-03"),
        personal=request.personal.details(),
        facts=request.facts,
        relationship_started_on=request.relationship_started_on,
    )
    app.close_client(client.client_id, provenance=staff("2014-03-10"), reason="moved away")
    return client.client_id


def test_the_dry_run_says_what_would_go_per_class_and_client_and_holds_over_http(
    api: TestClient, manual: EmbeddedSystem
) -> None:
    app: IntakeApplication = manual.nodes["intake"].app
    olena = closed_in_2014(app, "131052-308T")
    ivan = closed_in_2014(app, "010180-1232")
    hold = {"hold_id": "appeal-1", "reason": "appeal pending", "occurred_at": "2024-01-01T12:00Z"}
    placed = api.post(f"/clients/{ivan}/legal-holds", json=hold, headers=SUPERVISOR)
    assert placed.status_code == 200, placed.text
    assert placed.json()["holds"] == {"appeal-1": "appeal pending"}
    again = api.post(f"/clients/{ivan}/legal-holds", json=hold, headers=SUPERVISOR)
    assert again.json()["holds"] == {"appeal-1": "appeal pending"}  # a retry changes nothing
    refused = api.post(f"/clients/{ivan}/legal-holds", json=hold, headers=ACTOR)
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith("application/problem+json")

    before = api.get("/retention/due", params={"on": "2024-03-10"}, headers=SUPERVISOR).json()
    assert before["clients"] == [] and before["applied"] is False
    due = api.get("/retention/due", params={"on": "2024-03-11"}, headers=AUDITOR)
    assert due.status_code == 200, due.text
    report = due.json()
    assert [(c["client_id"], c["retention_class"]) for c in report["clients"]] == [
        (str(olena), IDENTITY)
    ]
    classes = {c["retention_class"]: c for c in report["classes"]}
    assert (classes[IDENTITY]["due"], classes[IDENTITY]["held"]) == (1, 1)
    assert classes[IDENTITY]["source"].startswith("municipal decision")
    assert classes["access_log"]["period"] == "5 years"
    assert report["access_log"]["written_before"] == "2019-03-11"
    # A dry run: nothing went.
    assert app.client(olena).personal is not None and app.client(olena).expired_classes == {}

    # Only supervisors and auditors; every refusal a problem document.
    for headers, code in ((ACTOR, 403), ({}, 401)):
        answer = api.get("/retention/due", headers=headers)
        assert answer.status_code == code
        assert answer.headers["content-type"].startswith("application/problem+json")
    bad_day = api.get("/retention/due", params={"on": "someday"}, headers=SUPERVISOR)
    assert bad_day.status_code == 422
    assert bad_day.headers["content-type"].startswith("application/problem+json")

    lift = {"reason": "decided", "occurred_at": "2024-02-01T12:00Z"}
    lifted = api.post(f"/clients/{ivan}/legal-holds/appeal-1/lift", json=lift, headers=SUPERVISOR)
    assert lifted.status_code == 200 and lifted.json()["holds"] == {}
    # Held 31 days: due 31 days later than Olena.
    later = api.get("/retention/due", params={"on": "2024-04-11"}, headers=SUPERVISOR).json()
    assert {c["client_id"] for c in later["clients"]} == {str(olena), str(ivan)}


def test_the_commands_report_and_apply(manual: EmbeddedSystem, tmp_path: Path) -> None:
    app: IntakeApplication = manual.nodes["intake"].app
    olena = closed_in_2014(app, "131052-308T")
    ivan = closed_in_2014(app, "010180-1232")
    app.place_hold(ivan, provenance=staff("2024-01-01"), hold_id="audit", reason="audit")
    env = {"KOTOUTUS_DATA_DIR": str(manual.settings.data_dir)}

    dry = CliRunner().invoke(cli, ["retention", "report", "--on", "2024-03-11", "--json"], env=env)
    assert dry.exit_code == 0, dry.output
    assert [c["client_id"] for c in json.loads(dry.output)["clients"]] == [str(olena)]
    text = CliRunner().invoke(cli, ["retention", "report", "--on", "2024-03-11"], env=env)
    assert "client_identity: 1 due, 1 held" in text.output
    assert app.client(olena).personal is not None

    bad = CliRunner().invoke(cli, ["retention", "report", "--on", "2024-13-01"], env=env)
    assert bad.exit_code != 0 and "is not a day" in bad.output

    # Applied by today's date (long after 2024): hers goes, his is held.
    applied = CliRunner().invoke(cli, ["retention", "apply", "--json"], env=env)
    assert applied.exit_code == 0, applied.output
    went = json.loads(applied.output)
    assert went["applied"] is True
    assert [(c["client_id"], c["retention_class"]) for c in went["clients"]] == [
        (str(olena), IDENTITY)
    ]
    assert app.client(olena).personal is None
    assert app.client(olena).expired_classes == {IDENTITY: date.fromisoformat(went["as_of"])}
    assert app.client(ivan).personal is not None
    again = CliRunner().invoke(cli, ["retention", "apply", "--json"], env=env)
    assert json.loads(again.output)["clients"] == []  # nothing goes twice
