"""The plan's contents (class ``plan_contents``) are due for the archive ten years after the plan
ended, longer by a legal hold's days: plans' own timer names each plan on its day, and deletes
nothing — the class ends in archiving, which the town's archive does, not Kotoutus."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from uuid import UUID

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from kotoutus.cli import app as cli
from kotoutus.embedded import EmbeddedSystem
from services.intake.application import IntakeApplication
from services.plans.application import PlansApplication
from services.plans.retention import plan_retention_watch
from shared.clock import HELSINKI
from shared.retention.holds import LegalHolds
from shared.settings import Settings
from shared.values import Actor, ActorKind, Provenance
from tests.support import ACTOR, eventually
from tests.test_plans import agree, client_needing_a_plan


def at(day: str) -> datetime:
    return datetime.fromisoformat(f"{day}T12:00").replace(tzinfo=HELSINKI)


def staff(day: str) -> Provenance:
    actor = Actor(id="sanna.lahtinen", kind=ActorKind.USER)
    return Provenance(actor=actor, organisation="municipality:320", occurred_at=at(day))


@pytest.fixture
def town(embedded_settings: Settings) -> Iterator[EmbeddedSystem]:
    system = EmbeddedSystem(embedded_settings.model_copy(update={"retention_automatic": False}))
    yield system
    system.close()


@pytest.fixture
def api(town: EmbeddedSystem) -> Iterator[TestClient]:
    with TestClient(town.api()) as client:
        yield client


def test_an_ended_plan_is_due_for_the_archive_ten_years_on_and_nothing_is_deleted(
    api: TestClient, town: EmbeddedSystem
) -> None:
    client_id = client_needing_a_plan(api, "2025-02-03", "2024-12-01", "2025-02-20")
    assert agree(api, client_id, "2025-03-03", "2025-03-03", "2026-03-02").is_success
    ended = api.post(
        f"/clients/{client_id}/plan/end",
        json={"ended_on": "2025-12-31", "reason": "goals_met"},
        headers=ACTOR,
    )
    assert ended.is_success, ended.text
    intake = town.nodes["intake"].app
    plans = town.nodes["plans"].app
    assert isinstance(intake, IntakeApplication) and isinstance(plans, PlansApplication)
    cid = UUID(client_id)
    intake.place_hold(cid, provenance=staff("2030-01-01"), hold_id="audit", reason="an audit")
    intake.lift_hold(cid, provenance=staff("2030-01-31"), hold_id="audit", reason="done")

    def told() -> LegalHolds | None:
        found = plans.stored(LegalHolds.create_id(cid), LegalHolds)
        return found if found is not None and found.version >= 3 else None

    assert eventually(told, what="plans told of the hold and its lifting").holds == {}

    now = [at("2036-01-31")]
    watch = plan_retention_watch(plans, clock=lambda: now[0])
    [item] = watch.report()
    # Ten years from the day after the end (kept through 31 Dec 2035), and the hold's 30 days.
    assert (item.client_id, item.retention_class) == (cid, "plan_contents")
    assert item.goes_on is not None and item.goes_on.isoformat() == "2036-01-31"
    assert item.ends_in.value == "archiving" and item.due
    assert watch.fire() == []  # archiving: reported, nothing deleted
    assert api.get(f"/clients/{client_id}/plan", headers=ACTOR).json()["end_reason"] == (
        "goals_met"
    )

    env = {"KOTOUTUS_DATA_DIR": str(town.settings.data_dir)}
    for day, listed in (("2036-01-30", []), ("2036-01-31", [(client_id, "plan_contents")])):
        dry = CliRunner().invoke(cli, ["retention", "report", "--on", day, "--json"], env=env)
        assert dry.exit_code == 0, dry.output
        report = json.loads(dry.output)
        assert [(c["client_id"], c["retention_class"]) for c in report["clients"]] == listed
        summary = {c["retention_class"]: c for c in report["classes"]}["plan_contents"]
        assert summary["watched"] and summary["ends_in"] == "archiving"
