"""The integration path across the 2025 boundary with the four services as OS processes on
PostgreSQL and RabbitMQ: a jobseeker and a non-jobseeker, one overdue, one with an old-law plan
extended after the handover."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from kotoutus.registry import SERVICES
from shared.settings import Settings
from tests.support import (
    ACTOR,
    AUDITOR,
    DECREE,
    INTERVIEW,
    SUPERVISOR,
    ServiceProcesses,
    bearer,
    eventually,
)

TE = bearer(organisation="te_office:lappi", subject="tea.laine")  # a TE office caseworker

pytestmark = pytest.mark.distributed
PERMIT = {"type": "A", "ground_section": "87", "first_permit_on": "2024-01-15"}


def ok(response: httpx.Response) -> Any:
    assert response.is_success, response.text
    return response.json()


def test_clients_walk_across_the_2025_boundary(
    processes: ServiceProcesses, distributed_settings: Settings
) -> None:
    for name in SERVICES:
        processes.start(name, wait=False)
    for name in SERVICES:
        processes.wait_ready(name)
    intake, assessment, plans = (processes.url(n) for n in ("intake", "assessment", "plans"))

    def register(started: str, **facts: Any) -> str:
        body = {
            "relationship_started_on": started,
            "occurred_at": f"{started}T10:00:00+03:00",  # lived then, before the handover
            "personal": {"given_names": "A", "family_name": "B"},
            "facts": {"residence_permit": PERMIT, **facts},
        }
        return str(ok(httpx.post(f"{intake}/clients", json=body, headers=ACTOR))["client_id"])

    def case(client_id: str) -> Any:
        response = httpx.get(f"{assessment}/clients/{client_id}/assessment", headers=AUDITOR)
        return response.json() if response.is_success else None

    jobseeker = register("2024-04-02", registered_jobseeker=True)
    overdue = register("2024-09-02", registered_jobseeker=True)
    other = register("2024-11-04", non_temporary_social_assistance=True)
    for client_id in (jobseeker, overdue, other):
        eventually(lambda c=client_id: case(c), what="an assessment per client")
    eventually(lambda: case(overdue)["overdue_on"], what="the overdue fact")

    # The jobseeker's assessment and an old-law plan, in 2024.
    base = f"{assessment}/clients/{jobseeker}/assessment"
    ok(
        httpx.post(
            f"{base}/start",
            json={"started_on": "2024-04-20", "interview": INTERVIEW, **DECREE},
            headers=TE,
        )
    )
    done = {"completed_on": "2024-05-06", "plan_needed": True, "reason": "work"}
    ok(httpx.post(f"{base}/complete", json=done, headers=TE))
    plan = f"{plans}/clients/{jobseeker}/plan"
    eventually(lambda: httpx.get(plan, headers=TE).is_success, what="plan preparation due")
    agree = {
        "agreed_on": "2024-05-20",
        "period": {"starts_on": "2024-05-20", "ends_on": "2025-05-19"},
        "measures": [{"kind": "finnish_study", "target_level": "A2.2"}],
        "job_seeking_obligation": True,
    }
    assert ok(httpx.post(f"{plan}/agree", json=agree, headers=TE))["agreed_on"] == "2024-05-20"

    # 1 Jan 2025: the handover, first as a dry run.
    dry = ok(httpx.post(f"{intake}/handover/2025", json={"dry_run": True}, headers=SUPERVISOR))
    real = ok(httpx.post(f"{intake}/handover/2025", json={"dry_run": False}, headers=SUPERVISOR))
    assert real["transferred"] == dry["transferred"]
    assert {i["client_id"] for i in real["transferred"]} == {jobseeker, overdue}
    assert (
        ok(httpx.post(f"{intake}/handover/2025", json={"dry_run": False}, headers=SUPERVISOR))[
            "count"
        ]
        == 0
    )

    def responsible(client_id: str, on: str) -> Any:
        return ok(
            httpx.get(
                f"{assessment}/clients/{client_id}/assessment/responsibility",
                params={"on": on},
                headers=AUDITOR,
            )
        )

    # The open (overdue) assessment follows the client; its deadline keeps the old law.
    eventually(
        lambda: responsible(overdue, "2025-01-02")["organisation"] == "employment_authority:320",
        what="the open case to follow the client",
    )
    assert responsible(overdue, "2024-12-31")["organisation"] == "te_office:lappi"
    assert responsible(overdue, "2025-01-02")["deadline"]["rule"]["law"] == "1386/2010"
    # The completed one stays the TE office's record: records stay attributable.
    assert responsible(jobseeker, "2025-01-02")["organisation"] == "te_office:lappi"
    assert responsible(other, "2025-01-02")["organisation"] == "municipality:320"
    eventually(
        lambda: (
            httpx.get(plan, headers=AUDITOR).json()["responsible_organisation"]
            == "employment_authority:320"
        ),
        what="the plan to follow the client",
    )

    # In 2025, the old-law plan is extended within the old law's five years.
    extend = {"ends_on": "2026-05-19", "reason": "A2.2 not yet reached"}
    # Now the employment authority's client, and its caseworker's to extend.
    theirs = bearer(organisation="employment_authority:320", subject="eero.koski")
    extended = ok(httpx.post(f"{plan}/extend", json=extend, headers=theirs))
    assert extended["period"]["ends_on"] == "2026-05-19"
