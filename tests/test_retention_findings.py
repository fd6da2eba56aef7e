"""One class runs out while another stays: a town keeps the interview's notes five years and
the identity ten. Assessment's own timer, fed by intake's closure and holds, destroys the
notes' key on its day (a hold delays it); the identity is still there."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from kotoutus.cli import app as cli
from kotoutus.embedded import EmbeddedSystem
from services.assessment.findings_retention import FindingsRetention
from services.assessment.retention import findings_retention_watch
from services.intake.application import IntakeApplication
from services.intake.retention import retention_watch
from shared.clock import HELSINKI
from shared.settings import Settings
from shared.values import Actor, ActorKind, Provenance
from tests.support import ACTOR, eventually
from tests.test_interview_decree import NOTED, UNDERSTOOD, opened

STAFF = Actor(id="sanna.lahtinen", kind=ActorKind.USER)


def at(day: str) -> datetime:
    return datetime.fromisoformat(f"{day}T12:00").replace(tzinfo=HELSINKI)


def staff(day: str) -> Provenance:
    return Provenance(actor=STAFF, organisation="municipality:320", occurred_at=at(day))


@pytest.fixture
def town(embedded_settings: Settings, tmp_path: Path) -> Iterator[EmbeddedSystem]:
    decisions = tmp_path / "retention.toml"
    decisions.write_text(
        '[classes.assessment_findings]\nyears = 5\nsource = "Kemijärvi TOS 2026, 4.1"\n', "utf-8"
    )
    settings = embedded_settings.model_copy(
        update={"retention_file": decisions, "retention_automatic": False}
    )
    system = EmbeddedSystem(settings)
    yield system
    system.close()


@pytest.fixture
def api(town: EmbeddedSystem) -> Iterator[TestClient]:
    with TestClient(town.api()) as client:
        yield client


def notes_key(town: EmbeddedSystem, client_id: str) -> tuple[Any, ...] | None:
    """The notes' key row in assessment's store, read raw."""
    with sqlite3.connect(town.settings.data_dir / "assessment.sqlite") as connection:
        found: tuple[Any, ...] | None = connection.execute(
            "SELECT wrapped FROM assessment_client_keys_by_class"
            " WHERE client_id = ? AND retention_class = 'assessment_findings'",
            (client_id,),
        ).fetchone()
    return found


def test_the_notes_go_after_five_years_while_the_identity_stays(
    api: TestClient, town: EmbeddedSystem
) -> None:
    client_id = opened(api, "2025-01-02", quota_refugee=True)
    start = {"started_on": "2025-01-10", "interview": UNDERSTOOD, "covered": NOTED}
    assert api.post(f"/clients/{client_id}/assessment/start", json=start, headers=ACTOR).is_success
    intake: IntakeApplication = town.nodes["intake"].app
    assessment = town.nodes["assessment"].app
    cid = UUID(client_id)
    intake.close_client(cid, provenance=staff("2025-06-01"), reason="moved away")
    intake.place_hold(cid, provenance=staff("2030-01-01"), hold_id="audit", reason="audit")
    intake.lift_hold(cid, provenance=staff("2030-01-31"), hold_id="audit", reason="done")

    def told() -> FindingsRetention | None:
        found = assessment.stored(FindingsRetention.create_id(cid), FindingsRetention)
        return found if found is not None and found.version >= 4 else None

    record = eventually(told, what="assessment told of the closure and the hold")
    assert record.closed_on == at("2025-06-01").date() and record.holds == {}

    now = [at("2030-06-02")]  # five years on: but the hold stopped the clock for 30 days
    notes = findings_retention_watch(assessment, clock=lambda: now[0])
    identity = retention_watch(intake, clock=lambda: now[0], sweep_access_log=False)
    assert notes.fire() == []
    now[0] = at("2030-07-01")
    assert notes.fire() == [] and notes_key(town, client_id)[0] is not None  # type: ignore[index]

    # The command's dry run sees it due, and only it (the identity has five years to go).
    env = {
        "KOTOUTUS_DATA_DIR": str(town.settings.data_dir),
        "KOTOUTUS_RETENTION_FILE": str(town.settings.retention_file),
    }
    dry = CliRunner().invoke(cli, ["retention", "report", "--on", "2030-07-02", "--json"], env=env)
    assert dry.exit_code == 0, dry.output
    report = json.loads(dry.output)
    assert [(c["client_id"], c["retention_class"]) for c in report["clients"]] == [
        (client_id, "assessment_findings")
    ]
    watched = {c["retention_class"]: c["watched"] for c in report["classes"]}
    assert watched["assessment_findings"] and watched["client_identity"] and watched["access_log"]
    assert not watched["national_data_store"]  # kept by the state: no clock here
    assert watched["letters"] and watched["plan_contents"] and watched["dead_letters"]

    now[0] = at("2030-07-02")
    assert [d.client_id for d in notes.fire()] == [cid]
    assert notes_key(town, client_id) == (None,)  # the notes' key: a tombstone
    view = api.get(f"/clients/{client_id}/assessment", headers=ACTOR).json()
    assert view["covered"]["special_skills"] == {
        "code": None,
        "note": None,
        "note_unreadable": True,
    }
    assert set(view["covered"]) == set(NOTED)  # which matters had a note stays

    # The identity's class (ten years) stays: the person is still readable.
    assert identity.fire() == []
    assert intake.client(cid).personal is not None
    assert api.get(f"/clients/{client_id}", headers=ACTOR).json()["personal"] is not None

    # What went is a public event, once; a rebuilt timer has nothing left to do.
    node = town.nodes["assessment"]
    published = [
        node.service.publishes.to_public(n.id, node.app.mapper.to_domain_event(n))
        for n in node.app.recorder.select_notifications(1, 10_000)
    ]
    expired = [e for e in published if e and e.event_type == "AssessmentFindingsExpired"]
    assert len(expired) == 1
    assert (expired[0].data.client_id, str(expired[0].data.expired_on)) == (cid, "2030-07-02")
    assert "Kemijärvi TOS 2026" in expired[0].data.rule
    now[0] = at("2040-01-01")
    assert findings_retention_watch(assessment, clock=lambda: now[0]).fire() == []


def test_a_merged_duplicate_s_notes_have_their_clock_from_the_merge(
    api: TestClient, town: EmbeddedSystem
) -> None:
    survivor = opened(api, "2025-01-02", quota_refugee=True)
    duplicate = opened(api, "2025-01-03", quota_refugee=True)
    merged = api.post(
        f"/clients/{survivor}/merge",
        json={"duplicate_id": duplicate, "reason": "the same person, registered twice"},
        headers=ACTOR,
    )
    assert merged.is_success, merged.text
    assessment = town.nodes["assessment"].app
    cid = UUID(duplicate)

    def told() -> FindingsRetention | None:
        found = assessment.stored(FindingsRetention.create_id(cid), FindingsRetention)
        return found if found is not None and found.closed_on is not None else None

    merged_on = eventually(told, what="assessment told of the merge").closed_on
    assert merged_on is not None
    # Five years (the town's file) from the merge: kept through that day, gone the next.
    watch = findings_retention_watch(assessment, clock=lambda: at("2100-01-01"))
    [item] = [d for d in watch.report() if d.client_id == cid]
    assert item.clock_started_on == merged_on
    assert item.goes_on is not None and item.goes_on.year == merged_on.year + 5
