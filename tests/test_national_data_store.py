"""The national integration data store (Act 681/2023 §76, §102(4); Decree 874/2024): a client
recorded through the staff API gives a record that validates against the committed schema;
what is missing shows in the completeness report; the export is incremental, idempotent,
access-logged and leaves erased clients out."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any
from uuid import UUID

import jsonschema_rs
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from kotoutus.cli import app as cli
from kotoutus.embedded import EmbeddedSystem
from services.readside.reports import national_data_store_export as export
from shared.settings import Settings
from tests.support import ACTOR, AUDITOR, DECREE, INTERVIEW, SUPERVISOR, eventually

SCHEMA = json.loads(
    (Path(__file__).parent.parent / "docs" / "national-data-store.schema.json").read_text()
)
MAKER = {
    "name": "Maria Korhonen",
    "title": "kotoutumiskoordinaattori",
    "organisation": "municipality:320",
    "email": "maria.korhonen@kemijarvi.fi",
}
REVIEW = {
    "participation": [{"service": "finnish_study", "status": "participating"}],
    "progress": [{"goal": "language", "progress": "progressing"}],
    "results": {"outcomes": ["none_yet"], "language_skills": []},
    "hindrances": ["childcare"],
    "changes": {"measures_added": ["civic_orientation"]},
    "next_review_planned_on": "2026-03-02",
    "makers": [MAKER],
    "sources": ["client", "education_provider"],
}


@pytest.fixture
def api(embedded: EmbeddedSystem) -> Iterator[TestClient]:
    with TestClient(embedded.api()) as test_client:
        yield test_client


def recorded_client(api: TestClient, identity_code: str, review: dict[str, Any]) -> str:
    """A client of 2025 with an assessment, a plan and a review, all through the staff API."""
    body = {
        "relationship_started_on": "2025-03-03",
        "personal": {
            "given_names": "Olena",
            "family_name": "Kovalenko",
            "identity_code": identity_code,
        },
        "facts": {
            "mother_tongue": "uk",
            "non_temporary_social_assistance": True,
            "residence_permit": {"type": "A", "first_permit_on": "2025-02-01"},
        },
    }
    response = api.post("/clients", json=body, headers=ACTOR)
    assert response.status_code == 201, response.text
    client_id = str(response.json()["client_id"])
    base = f"/clients/{client_id}/assessment"
    eventually(lambda: api.get(base, headers=ACTOR).is_success, what="assessment")
    start = {"started_on": "2025-03-05", "interview": INTERVIEW, **DECREE}
    assert api.post(f"{base}/start", json=start, headers=ACTOR).is_success
    findings = {"literacy": "literate_latin", "education": "secondary"}
    assert api.post(f"{base}/findings", json={"findings": findings}, headers=ACTOR).is_success
    complete = {
        "completed_on": "2025-03-12",
        "plan_needed": True,
        "reason": "Finnish A1.1",
        "further_measures": ["language_skills"],
        "plan_planned_on": "2025-03-20",
        "makers": [MAKER],
        "sources": ["client", "kela"],
    }
    completed = api.post(f"{base}/complete", json=complete, headers=ACTOR)
    assert completed.is_success, completed.text
    plan = f"/clients/{client_id}/plan"
    eventually(lambda: api.get(plan, headers=ACTOR).is_success, what="plan")
    agree = {
        "agreed_on": "2025-03-20",
        "period": {"starts_on": "2025-03-20", "ends_on": "2026-03-19"},
        "goals": ["language", "employment"],
        "measures": [{"kind": "finnish_study", "target_level": "B1.1"}],
        "makers": [MAKER],
        "sources": ["client"],
        "review_planned_on": "2025-09-15",
    }
    agreed = api.post(f"{plan}/agree", json=agree, headers=ACTOR)
    assert agreed.is_success, agreed.text
    reviewed = api.post(
        f"{plan}/review", json={"reviewed_on": "2025-09-15", "content": review}, headers=ACTOR
    )
    assert reviewed.is_success, reviewed.text
    return client_id


def exported(api: TestClient, **params: Any) -> dict[str, Any]:
    response = api.get("/reports/national-data-store", params=params, headers=SUPERVISOR)
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


def record_with_review(api: TestClient, client_id: str) -> dict[str, Any]:
    def probe() -> dict[str, Any] | None:
        records = exported(api, client_id=client_id)["records"]
        return records[0] if records and records[0]["reviews"] else None

    return eventually(probe, what=f"the national record of {client_id} with its review")


def test_a_full_history_gives_a_complete_record_that_validates(api: TestClient) -> None:
    client_id = recorded_client(api, "131052-308T", REVIEW)
    record = record_with_review(api, client_id)

    jsonschema_rs.validator_for(SCHEMA).validate(record)
    assert record["schema_version"] == 1
    assert record["person"]["identity_code"] == "131052-308T"
    [assessment] = record["assessments"]
    assert assessment["drawn_up_on"] == "2025-03-12"
    assert assessment["further_measures"] == ["language_skills"]
    assert assessment["plan_planned_on"] == "2025-03-20"
    assert assessment["makers"][0]["email"] == MAKER["email"]
    assert assessment["sources"] == ["client", "kela"]
    [plan] = record["plans"]
    assert plan["review_planned_on"] == "2025-09-15"
    assert plan["duration"] == {"starts_on": "2025-03-20", "ends_on": "2026-03-19"}
    [review] = record["reviews"]
    assert review["hindrances"] == ["childcare"]
    assert review["next_review_planned_on"] == "2026-03-02"

    report = api.get("/reports/national-data-store/completeness", headers=SUPERVISOR).json()
    assert report["clients"] == 1
    assert report["complete"] == 1
    assert report["incomplete_clients"] == []


def test_a_missing_decree_item_shows_in_the_completeness_report(
    api: TestClient, embedded_settings: Settings
) -> None:
    without_hindrances = {key: value for key, value in REVIEW.items() if key != "hindrances"}
    client_id = recorded_client(api, "010190-123M", without_hindrances)
    plan_id = record_with_review(api, client_id)["plans"][0]["plan_id"]

    report = api.get("/reports/national-data-store/completeness", headers=SUPERVISOR).json()
    assert report["incomplete"] == 1
    [client] = report["incomplete_clients"]
    assert client["client_id"] == client_id
    assert client["family_name"] == "Kovalenko"
    assert client["missing"] == [f"review {plan_id} 2025-09-15: hindrances"]
    assert report["missing_by_item"] == {"review: hindrances": 1}
    as_csv = api.get(
        "/reports/national-data-store/completeness", params={"format": "csv"}, headers=SUPERVISOR
    )
    assert as_csv.headers["content-type"].startswith("text/csv")
    assert "hindrances" in as_csv.text

    env = {"KOTOUTUS_DATA_DIR": str(embedded_settings.data_dir)}
    checked = CliRunner().invoke(cli, ["report", "national-data-store", "--check"], env=env)
    assert checked.exit_code == 1, checked.output
    assert "review: hindrances" in checked.output
    assert client_id in checked.output
    # The summary in the language of --lang, or else of the locale (the items are the
    # decree's field names: data, the same in every language).
    counts = (report["clients"], report["complete"], report["incomplete"])
    summaries = {
        "en": "{} clients in the national data store: {} complete, {} missing items",
        "fi": "Kotoutumisen kansalliseen tietovarantoon kuuluvia asiakkaita {}: tiedot "
        "täydelliset {}, tietoja puuttuu {}",
        "sv": "Klienter i den nationella dataresursen för integration: {}; fullständiga {}, "
        "uppgifter saknas {}",
    }
    locale: dict[str, str | None] = {"LANGUAGE": None, "LC_ALL": None, "LC_MESSAGES": None}
    for language, chosen in (("sv", ["--lang", "sv"]), ("fi", []), ("en", ["--lang", "en"])):
        in_finland = {**env, **locale, "LANG": "fi_FI.UTF-8"}
        said = CliRunner().invoke(
            cli, ["report", "national-data-store", "--check", *chosen], env=in_finland
        )
        assert said.exit_code == 1, said.output
        assert said.stdout.splitlines()[0] == summaries[language].format(*counts)


def test_the_export_is_incremental_idempotent_logged_and_forgets_the_erased(
    embedded: EmbeddedSystem, embedded_settings: Settings
) -> None:
    with TestClient(embedded.api()) as api:
        first = recorded_client(api, "131052-308T", REVIEW)
        second = recorded_client(api, "010190-123M", REVIEW)
        record_with_review(api, first)
        record_with_review(api, second)
        everything = exported(api)
        assert {record["client_id"] for record in everything["records"]} == {first, second}
        assert exported(api, since="2030-01-01")["records"] == []

        env = {"KOTOUTUS_DATA_DIR": str(embedded_settings.data_dir)}
        lines = CliRunner().invoke(cli, ["report", "national-data-store"], env=env)
        assert lines.exit_code == 0, lines.output
        as_ndjson = [json.loads(line) for line in lines.stdout.splitlines()]
        assert {record["client_id"] for record in as_ndjson} == {first, second}

        read = api.get("/audit/access-log", params={"client_id": first}, headers=AUDITOR).json()
        whats = [entry["what"] for entry in read]
        assert "GET /reports/national-data-store" in whats
        assert "kotoutus report national-data-store" in whats

        erase = {"legal_ground": "GDPR 17(1)(a): the person asked"}
        assert api.post(f"/clients/{first}/erase", json=erase, headers=SUPERVISOR).is_success
        eventually(
            lambda: [r["client_id"] for r in exported(api)["records"]] == [second] or None,
            what="the erased client to leave the export",
        )
        report = api.get("/reports/national-data-store/completeness", headers=SUPERVISOR).json()
        assert report["clients"] == 1

    # Stopped (no delivery, no timers): the same call gives the same records, and after the
    # last position there is nothing.
    engine, seal = embedded.projector.engine, embedded.projector.seal
    once = [record.model_dump() for record in export.records(engine, seal)]
    assert once == [record.model_dump() for record in export.records(engine, seal)]
    assert [record["client_id"] for record in once] == [UUID(second)]
    assert list(export.records(engine, seal, after=once[-1]["position"])) == []
    assert len(list(export.records(engine, seal, since=date(2025, 1, 1)))) == 1


def test_the_reports_follow_the_role_table(api: TestClient) -> None:
    for path in ("/reports/national-data-store", "/reports/national-data-store/completeness"):
        assert api.get(path, headers=ACTOR).status_code == 403
        assert api.get(path, headers=AUDITOR).status_code == 200
