"""The read side's refusals are the same problem documents as the services': RFC 9457, the
catalogue's texts in Finnish, Swedish and English, nothing of the request repeated."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from kotoutus.embedded import EmbeddedSystem
from shared import i18n
from tests.support import ACTOR
from tests.test_error_contract import problem_of


@pytest.fixture
def client(embedded: EmbeddedSystem) -> Iterator[TestClient]:
    with TestClient(embedded.api()) as test_client:
        yield test_client


def test_a_cursor_the_api_did_not_give_is_a_field_problem_in_three_languages(
    client: TestClient,
) -> None:
    cursor = "bm9wZSBub3QgYSBjdXJzb3I"
    response = client.get(
        "/caseload", params={"cursor": cursor}, headers={**ACTOR, "Accept-Language": "sv"}
    )
    problem = problem_of(response, 422, "/caseload")
    assert problem["code"] == "invalid_request"
    assert problem["errors"] == [
        {
            "pointer": "/cursor",
            "in": "query",
            "code": "invalid_cursor",
            "detail": i18n.text("field.invalid_cursor", "sv"),
        }
    ]
    assert response.headers["Content-Language"] == "sv"
    assert cursor not in response.text


def test_a_timeline_of_no_client_is_a_not_found_problem(client: TestClient) -> None:
    unknown = "00000000-0000-4000-8000-000000000000"
    response = client.get(
        f"/clients/{unknown}/timeline", headers={**ACTOR, "Accept-Language": "fi"}
    )
    problem = problem_of(response, 404, "/clients/{client_id}/timeline")
    assert problem["code"] == "not_found"
    assert problem["messages"] == i18n.texts("not_found") | {
        "en": f"{i18n.text('not_found', 'en')} (client {unknown})"
    }
