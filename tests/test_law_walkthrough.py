"""A client walked through assessment, plan, referral, reviews and extensions, once per law
version (Act 1386/2010; Act 681/2023 as amended; the §102(2) transition), with every deadline,
its day rolled under Act 150/1930, and the rule that set it — through the staff API."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from kotoutus.embedded import EmbeddedSystem
from tests.support import ACTOR, DECREE, INTERVIEW, eventually
from tests.test_plans import FINNISH


@pytest.fixture
def api(embedded: EmbeddedSystem) -> Iterator[TestClient]:
    with TestClient(embedded.api()) as client:
        yield client


def _due(deadline: dict[str, Any]) -> tuple[str, str, str, str]:
    rule = deadline["rule"]
    return deadline["nominal"], deadline["due"], rule["law"], rule["section"]


# Each row: the law's days for one client, and what each deadline must be:
# (nominal, due, law, section) — the law of the municipality's target names its programme.
WALKS = {
    "1386/2010": {
        "started": "2024-03-04",
        "first_permit": "2024-01-15",
        "assessment": ("2024-05-04", "2024-05-06", "1386/2010", "§10(1)"),  # Sat → Mon
        "completed": "2024-04-15",
        "preparation": ("2024-04-29", "2024-04-29", "1386/2010", "§13(2)"),
        "agreed": "2024-04-22",
        "period_ends": "2025-04-21",
        "referral": ("2024-05-22", "2024-05-22", "1386/2010", "§14(3)"),
        "review": ("2025-04-22", "2025-04-22", "1386/2010", "§18(2)"),
        "reviewed": "2024-10-01",
        "next_review": ("2025-10-01", "2025-10-01", "1386/2010", "§18(2)"),
        "total_ends": "2027-04-22",  # three years from the first plan (§12(3))
        "extended_ends": "2029-04-22",  # two more on special measures (§12(4))
    },
    "681/2023": {
        "started": "2025-02-03",
        "first_permit": "2024-12-01",
        # Without delay (§14(2)); the day shown is Kemijärvi's own two-month target.
        "assessment": (
            "2025-04-03",
            "2025-04-03",
            "Kemijärven kaupungin kotouttamisohjelma 2023–2025",
            "Alkukartoitus",
        ),
        "completed": "2025-02-20",
        "preparation": ("2025-02-20", "2025-02-20", "681/2023", "§20(1)"),  # without delay
        "agreed": "2025-03-03",
        "period_ends": "2026-03-02",
        "referral": ("2025-04-03", "2025-04-03", "681/2023", "§20(5)"),
        "review": ("2025-09-03", "2025-09-03", "681/2023", "§22(1)"),
        "reviewed": "2025-09-01",
        "next_review": ("2026-03-01", "2026-03-02", "681/2023", "§22(1)"),  # Sun → Mon
        "total_ends": "2027-03-03",  # two years in all (§23(2))
        "extended_ends": "2029-03-03",  # two more on special measures (§23(3))
    },
    # A plan of 2024 reviewed in 2025: from that review the new law's six months (§102(2)).
    "transition": {
        "started": "2024-09-02",
        "first_permit": "2024-06-03",
        "assessment": ("2024-11-02", "2024-11-04", "1386/2010", "§10(1)"),  # Sat → Mon
        "completed": "2024-09-16",
        "preparation": ("2024-09-30", "2024-09-30", "1386/2010", "§13(2)"),
        "agreed": "2024-10-01",
        "period_ends": "2025-09-30",
        "referral": ("2024-11-01", "2024-11-01", "1386/2010", "§14(3)"),
        "review": ("2025-10-01", "2025-10-01", "1386/2010", "§18(2)"),
        "reviewed": "2025-03-03",
        "next_review": ("2025-09-03", "2025-09-03", "681/2023", "§22(1)"),
        "total_ends": "2027-10-01",  # the old law's maximum duration stays (§102(2))
        "extended_ends": "2029-10-01",
    },
}


@pytest.mark.parametrize("law", WALKS)
def test_a_client_s_deadlines_under_each_law(api: TestClient, law: str) -> None:
    walk = WALKS[law]
    body = {
        "relationship_started_on": walk["started"],
        "personal": {"given_names": "A", "family_name": "B"},
        "facts": {
            "non_temporary_social_assistance": True,
            "residence_permit": {"type": "A", "first_permit_on": walk["first_permit"]},
        },
    }
    client_id = api.post("/clients", json=body, headers=ACTOR).json()["client_id"]
    base = f"/clients/{client_id}/assessment"
    eventually(lambda: api.get(base, headers=ACTOR).is_success, what="assessment opened")
    assert _due(api.get(base, headers=ACTOR).json()["deadline"]) == walk["assessment"]

    start = {"started_on": walk["started"], "interview": INTERVIEW, **DECREE}
    assert api.post(f"{base}/start", json=start, headers=ACTOR).is_success
    complete = {"completed_on": walk["completed"], "plan_needed": True, "reason": "language"}
    assert api.post(f"{base}/complete", json=complete, headers=ACTOR).is_success
    plan_url = f"/clients/{client_id}/plan"
    eventually(lambda: api.get(plan_url, headers=ACTOR).is_success, what="plan opened")
    assert _due(api.get(plan_url, headers=ACTOR).json()["deadline"]) == walk["preparation"]

    agreed = api.post(
        f"{plan_url}/agree",
        json={
            "agreed_on": walk["agreed"],
            "period": {"starts_on": walk["agreed"], "ends_on": walk["period_ends"]},
            "goals": ["language"],
            "measures": FINNISH,
        },
        headers=ACTOR,
    )
    assert agreed.status_code == 200, agreed.text
    assert _due(agreed.json()["referral_due"]) == walk["referral"]
    assert _due(agreed.json()["review_due"]) == walk["review"]

    reviewed = api.post(
        f"{plan_url}/review", json={"reviewed_on": walk["reviewed"]}, headers=ACTOR
    ).json()
    assert _due(reviewed["review_due"]) == walk["next_review"]
    assert [_due(d) for d in reviewed["reviews_due"]] == [walk["review"], walk["next_review"]]

    def extend(ends_on: str, **ground: str) -> int:
        body = {"ends_on": ends_on, "reason": "r", **ground}
        return api.post(f"{plan_url}/extend", json=body, headers=ACTOR).status_code

    after = _next_day(walk["total_ends"])
    assert extend(after) == 409  # beyond the total without a ground
    assert extend(walk["total_ends"]) == 200
    assert extend(_next_day(walk["extended_ends"]), ground="special_measures") == 409
    assert extend(walk["extended_ends"], ground="special_measures") == 200


def _next_day(day: str) -> str:
    return (date.fromisoformat(day) + timedelta(days=1)).isoformat()
