"""The initial interview under Government Decree 869/2024: the nine matters of §2(1) covered,
the four of §2(3) told, in a language the client understands (§4(1)); free-text notes are
personal data, sealed with the client's key."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from kotoutus.embedded import EmbeddedSystem
from shared.settings import Settings
from tests.support import ACTOR, INTERVIEW, eventually, files_decompressed

UNDERSTOOD = {**INTERVIEW, "client_understands_language": True}
NOTE = "Kuorma-autokortti Kiovasta; haluaa ajaa linja-autoa"  # personal data
ALL_TOLD = ["service_goals", "plan_and_process", "plan_obligations", "personal_data"]
CODED = {
    "literacy": {"code": "literate_latin"},
    "finnish_swedish": {"code": "none"},
    "education_and_work_history": {"code": "vocational"},
    "plan_need": {"code": "needed"},
}
NOTED = {
    "study_and_work_skills": {"note": "studied by distance learning"},
    "employment_education_needs": {"note": "a bus driver's licence"},
    "special_skills": {"note": NOTE},
    "life_situation": {"note": "two children at school"},
    "other_service_needs": {"note": "civic orientation in Ukrainian"},
}


@pytest.fixture
def api(embedded: EmbeddedSystem) -> Iterator[TestClient]:
    with TestClient(embedded.api()) as client:
        yield client


def opened(api: TestClient, started: str, **facts: Any) -> str:
    """A registered client of a group the law assigns an assessment, once it is open."""
    body = {
        "relationship_started_on": started,
        "personal": {"given_names": "Olena", "family_name": "Kovalenko"},
        "facts": {
            "residence_permit": {
                "type": "A",
                "ground_section": "87",
                "first_permit_on": "2024-06-01",
            },
            **facts,
        },
    }
    response = api.post("/clients", json=body, headers=ACTOR)
    assert response.status_code == 201, response.text
    client_id = str(response.json()["client_id"])
    url = f"/clients/{client_id}/assessment"
    eventually(lambda: api.get(url, headers=ACTOR).is_success, what="the assessment")
    return client_id


def post(api: TestClient, client_id: str, step: str, body: dict[str, Any]) -> Any:
    return api.post(f"/clients/{client_id}/assessment/{step}", json=body, headers=ACTOR)


def complete(api: TestClient, client_id: str, on: str) -> Any:
    body = {"completed_on": on, "plan_needed": True, "reason": "Finnish from the start"}
    return post(api, client_id, "complete", body)


def test_a_2025_assessment_completes_once_the_nine_are_covered_and_the_four_told(
    api: TestClient,
) -> None:
    client_id = opened(api, "2025-01-02", quota_refugee=True)
    start = {"started_on": "2025-01-10", "interview": UNDERSTOOD, "covered": CODED}
    started = post(api, client_id, "start", {**start, "told": ["personal_data"]})
    assert started.status_code == 200, started.text
    assert started.json()["still_to_tell"] == ALL_TOLD[:3]

    refused = complete(api, client_id, "2025-01-20")
    assert refused.status_code == 409 and refused.json()["code"] == "interview_incomplete"
    messages = refused.json()["messages"]
    assert set(messages) == {"fi", "sv", "en"}
    assert "Government Decree 869/2024 §2(1)" in messages["en"]
    assert "Government Decree 869/2024 §2(3)" in messages["en"]
    for missing in (*NOTED, "service_goals", "plan_obligations"):
        assert all(missing in text for text in messages.values()), missing
    assert "literacy" not in messages["en"] and "personal_data" not in messages["en"]
    assert "elämäntilanne" in messages["fi"] and "869/2024 2 § 1 mom." in messages["fi"]

    # Covered in part and told in part: still refused, naming only what is left.
    partly = post(api, client_id, "interview", {"covered": NOTED, "told": ALL_TOLD[:2]})
    assert partly.status_code == 200, partly.text
    assert partly.json()["still_to_cover"] == []
    refused = complete(api, client_id, "2025-01-20").json()["messages"]["en"]
    assert "§2(1)" not in refused and "plan_obligations" in refused
    assert "service_goals" not in refused

    assert post(api, client_id, "interview", {"told": ALL_TOLD}).is_success
    done = complete(api, client_id, "2025-01-20")
    assert done.status_code == 200, done.text
    view = done.json()
    assert view["told"] == ALL_TOLD and (view["still_to_cover"], view["still_to_tell"]) == ([], [])
    assert view["covered"]["literacy"] == {
        "code": "literate_latin",
        "note": None,
        "note_unreadable": False,
    }


def test_coded_findings_cover_their_matters(api: TestClient) -> None:
    client_id = opened(api, "2025-02-03", quota_refugee=True)
    start = {"started_on": "2025-02-05", "interview": UNDERSTOOD, "covered": NOTED}
    assert post(api, client_id, "start", {**start, "told": ALL_TOLD}).is_success
    findings = {
        "literacy": "literate_non_latin",
        "education": "higher",
        "years_of_work_experience": 6,
        "language_skills": [{"language": "fi", "speaking": "A1.1"}],
    }
    view = post(api, client_id, "findings", {"findings": findings}).json()
    assert view["still_to_cover"] == ["plan_need"]
    assert complete(api, client_id, "2025-02-10").status_code == 409
    plan_need = {"covered": {"plan_need": {"note": "decided at the next meeting"}}}
    assert post(api, client_id, "interview", plan_need).is_success
    assert complete(api, client_id, "2025-02-10").status_code == 200


def test_an_old_law_assessment_completes_without_them(api: TestClient) -> None:
    client_id = opened(api, "2024-11-04", non_temporary_social_assistance=True)
    assert post(
        api, client_id, "start", {"started_on": "2024-11-10", "interview": INTERVIEW}
    ).is_success
    done = complete(api, client_id, "2024-11-20")
    assert done.status_code == 200, done.text
    assert (done.json()["still_to_cover"], done.json()["still_to_tell"]) == ([], [])


def test_the_interview_is_in_a_language_the_client_understands(api: TestClient) -> None:
    client_id = opened(api, "2025-01-02", quota_refugee=True)
    alone = {"interviewer": "official:maria", "interviewer_is_official": True, "language": "fi"}
    not_understood = {**alone, "client_understands_language": False}
    refused = post(
        api, client_id, "start", {"started_on": "2025-01-10", "interview": not_understood}
    )
    assert refused.status_code == 409
    assert refused.json()["code"] == "interview_language_not_understood"
    assert "Government Decree 869/2024 §4(1)" in refused.json()["messages"]["en"]
    same = {**not_understood, "interpreter": {"kind": "professional", "language": "fi"}}
    assert (
        post(api, client_id, "start", {"started_on": "2025-01-10", "interview": same}).status_code
        == 409
    )

    # Not stated at the start: completion names it; the statement may be recorded later.
    started = post(api, client_id, "start", {"started_on": "2025-01-10", "interview": alone})
    assert started.status_code == 200, started.text
    body = {"covered": {**CODED, **NOTED}, "told": ALL_TOLD}
    assert post(api, client_id, "interview", body).is_success
    refused = complete(api, client_id, "2025-01-20")
    assert refused.status_code == 409 and "§4(1)" in refused.json()["messages"]["en"]
    assert (
        post(api, client_id, "interview", {"client_understands_language": False}).status_code == 409
    )
    stated = post(api, client_id, "interview", {"client_understands_language": True})
    assert stated.json()["interview"]["client_understands_language"] is True
    assert complete(api, client_id, "2025-01-20").status_code == 200

    # Through a professional interpreter into the client's own language.
    other = opened(api, "2025-01-02", quota_refugee=True)
    interpreted = {**not_understood, "interpreter": {"kind": "professional", "language": "uk"}}
    accepted = post(api, other, "start", {"started_on": "2025-01-10", "interview": interpreted})
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["interview"]["client_understands_language"] is False


def test_codes_only_where_a_matter_has_them(api: TestClient) -> None:
    client_id = opened(api, "2025-01-02", quota_refugee=True)
    assert post(
        api, client_id, "start", {"started_on": "2025-01-10", "interview": UNDERSTOOD}
    ).is_success
    for covered in (
        {"life_situation": {"code": "fine"}},  # no codes: a note
        {"literacy": {"code": "fluent"}},  # not a literacy code
        {"literacy": {"code": "literate_latin", "note": "and Cyrillic"}},  # one or the other
        {"literacy": {}},
        {"hobbies": {"note": "chess"}},  # not a matter of the decree
    ):
        assert post(api, client_id, "interview", {"covered": covered}).status_code == 422, covered
    assert post(api, client_id, "interview", {"told": ["the_weather"]}).status_code == 422


def test_a_note_reads_back_for_staff_and_is_sealed_at_rest(
    api: TestClient, embedded: EmbeddedSystem, embedded_settings: Settings
) -> None:
    client_id = opened(api, "2025-01-02", quota_refugee=True)
    start = {"started_on": "2025-01-10", "interview": UNDERSTOOD, "covered": NOTED}
    version = post(api, client_id, "start", start).json()["version"]
    view = post(api, client_id, "interview", {"covered": NOTED}).json()
    assert view["version"] == version  # nothing new, no event
    assert view["covered"]["special_skills"] == {
        "code": None,
        "note": NOTE,
        "note_unreadable": False,
    }

    stored = files_decompressed(list(embedded_settings.data_dir.glob("assessment.sqlite*")))
    assert b"InterviewRecorded" in stored  # the event is there ...
    for text in (NOTE, "Kuorma-autokortti", "two children at school"):
        assert text.encode() not in stored, text  # ... its notes are not, in clear
        assert text.encode("utf-16-le") not in stored, text

    # Once the person is erased (intake's ClientErased), nobody can read the notes; the
    # matters stay covered.
    erase = {"legal_ground": "GDPR Art. 17(1)(a)"}
    assert api.post(f"/clients/{client_id}/erase", json=erase, headers=ACTOR).is_success

    def unreadable() -> dict[str, Any] | None:
        view = api.get(f"/clients/{client_id}/assessment", headers=ACTOR).json()
        return view if view["covered"]["special_skills"]["note_unreadable"] else None

    view = eventually(unreadable, what="the notes forgotten with the person")
    assert view["covered"]["special_skills"] == {
        "code": None,
        "note": None,
        "note_unreadable": True,
    }
    assert set(view["covered"]) == set(NOTED)
    # Nothing new is sealed for the erased person under a fresh key.
    more = {"covered": {"life_situation": {"note": "moved to Oulu"}}}
    refused = post(api, client_id, "interview", more)
    assert refused.status_code == 409 and refused.json()["code"] == "person_erased"
