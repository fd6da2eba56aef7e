"""One error contract: every 4xx and 5xx is RFC 9457 problem details in the caller's language
and all three, from one catalogue per language, in which every message is in Finnish, Swedish
and English, and no Finnish or Swedish text carries English."""

from __future__ import annotations

import ast
import string
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

import kotoutus.registry  # noqa: F401 (every service's errors, defined)
from kotoutus.embedded import EmbeddedSystem
from shared import api as shared_api
from shared import i18n
from shared.auth.roles import Permission, Role
from shared.contracts.inbound import HomeMunicipalityRegistered, example
from shared.errors import DomainError
from shared.identity import IdentifierKind
from tests.support import ACTOR, AUDITOR, INTEGRATION

ROOT = Path(__file__).parent.parent
PACKAGES = ("shared", "services", "kotoutus")  # not the tests' own errors
PROBLEM = {"type", "title", "status", "detail", "instance", "code", "message", "messages"}
# Words an English fragment would hold and a Finnish or Swedish text never does.
ENGLISH = (
    " the ", " is ", " are ", " not ", " for ", " and ", " of ", " to ", " with ", " has ",
    " this ", " that ", " cannot ", " must ", " lacks ", " was ", " been ", " no ", " or ",
)  # fmt: skip
FUTURE_BORN = "131052A308T"  # a valid code of someone born in 2052


def english_in(text: str) -> list[str]:
    padded = f" {text.lower()} ".replace(",", " ").replace(":", " ").replace("(", " ")
    return [word.strip() for word in ENGLISH if word in padded]


def _subclasses(kind: type[DomainError]) -> Iterator[type[DomainError]]:
    for sub in kind.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def _invalid_value_codes() -> set[str]:
    """The codes of every ``InvalidValueError(...)`` raised in the code."""
    codes = set()
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Name)
                    and node.func.id == "InvalidValueError"
                ):
                    first = node.args[0]
                    assert isinstance(first, ast.Constant), f"{path}:{node.lineno}: a literal code"
                    codes.add(str(first.value))
    return codes


def used_message_ids() -> set[str]:
    """Every message the code may ask the catalogues for."""
    ours = (c for c in _subclasses(DomainError) if c.__module__.split(".")[0] in PACKAGES)
    ids = {cls.message_id or cls.code for cls in ours} | {"domain_error"}
    ids |= set(shared_api.CODES)
    ids |= {f"field.{code}" for code in _invalid_value_codes()}
    ids |= {f"role.{role.value}" for role in Role}
    ids |= {f"permission.{permission.value}" for permission in Permission}
    ids |= {f"identifier.{kind.value}" for kind in IdentifierKind}
    ids |= {f"interview_incomplete.{part}" for part in ("not_covered", "not_told")}
    ids |= {"interview_incomplete.language_unstated"}
    return ids


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


# --- the catalogues ---


def test_each_language_has_one_catalogue_with_the_same_messages() -> None:
    for language in i18n.LANGUAGES:
        assert i18n.path_of(language).exists(), language
    english = set(i18n.catalogue("en"))
    for language in ("fi", "sv"):
        assert set(i18n.catalogue(language)) == english, language


def test_every_message_the_code_uses_is_in_all_three_languages() -> None:
    used = used_message_ids()
    assert len(used) > 60  # the walk found the services' errors
    for language in i18n.LANGUAGES:
        missing = sorted(used - set(i18n.catalogue(language)))
        assert not missing, f"{language} lacks {missing}"
    for message_id in sorted(used):
        texts = [i18n.catalogue(language)[message_id] for language in i18n.LANGUAGES]
        assert all(text.strip() for text in texts), message_id
        # A parameter is filled in the same way in every language.
        assert len({frozenset(_placeholders(text)) for text in texts}) == 1, message_id


def test_no_finnish_or_swedish_text_is_english() -> None:
    english = i18n.catalogue("en")
    for language in ("fi", "sv"):
        for message_id, text in i18n.catalogue(language).items():
            assert text != english[message_id], f"{language} {message_id}: untranslated"
            assert not english_in(text), f"{language} {message_id}: {text!r}"


def test_an_english_detail_stays_out_of_the_finnish_and_swedish_text() -> None:
    class RefusedError(DomainError):
        code = "plan_refused"

    error = RefusedError("Act 1386/2010 §12(3): three years at most")
    assert error.message("fi") == i18n.text("plan_refused", "fi")
    assert error.message("sv") == i18n.text("plan_refused", "sv")
    assert error.message("en").endswith("(Act 1386/2010 §12(3): three years at most)")
    assert error.debug == "Act 1386/2010 §12(3): three years at most"


@pytest.mark.parametrize(
    ("header", "language"),
    [
        (None, "en"),
        ("sv", "sv"),
        ("sv-FI", "sv"),
        ("fi-FI,fi;q=0.9,en;q=0.8", "fi"),
        ("en;q=0.5, sv;q=0.9", "sv"),
        ("de, fi;q=0.2", "fi"),
        ("fi;q=0, sv;q=0.1", "sv"),
        ("de", "en"),
        ("*", "en"),
    ],
)
def test_the_language_is_chosen_by_accept_language(header: str | None, language: str) -> None:
    assert i18n.negotiate(header) == language


# --- the answers ---


@pytest.fixture
def client(embedded: EmbeddedSystem) -> Iterator[TestClient]:
    with TestClient(embedded.api()) as test_client:
        yield test_client


def registration(**personal: Any) -> dict[str, Any]:
    return {
        "relationship_started_on": "2025-02-03",
        "personal": {"given_names": "Olena", "family_name": "Kovalenko", **personal},
        "facts": {"mother_tongue": "uk"},
    }


def problem_of(response: Any, status: int, instance: str = "") -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert set(body) >= PROBLEM, body
    assert body["type"] == f"urn:kotoutus:problem:{body['code']}"
    assert body["status"] == status
    assert body["instance"] in {response.request.url.path, instance}
    assert set(body["messages"]) == {"fi", "sv", "en"}
    assert body["message"] == body["detail"]
    language = response.headers["Content-Language"]
    assert body["detail"] == body["messages"][language]
    for other in ("fi", "sv"):
        assert not english_in(body["messages"][other]), body["messages"][other]
    return body


def test_a_wrong_identity_code_is_named_by_its_pointer_and_never_repeated(
    client: TestClient,
) -> None:
    wrong = "131052-308U"  # the check character is wrong
    response = client.post("/clients", json=registration(identity_code=wrong), headers=ACTOR)
    problem = problem_of(response, 422)
    assert problem["code"] == "invalid_request"
    assert problem["errors"] == [
        {
            "in": "body",
            "pointer": "/personal/identity_code",
            "code": "identity_code_check",
            "detail": "the check character of the personal identity code is wrong",
        }
    ]
    assert wrong not in response.text and "131052" not in response.text
    assert "input" not in response.text and "ctx" not in response.text

    # Pydantic's own checks have their codes, in the caller's language.
    no_names = {**registration(), "personal": {}, "relationship_started_on": "someday"}
    swedish = client.post("/clients", json=no_names, headers={**ACTOR, "Accept-Language": "sv"})
    problem = problem_of(swedish, 422)
    assert (
        problem["title"]
        == problem["detail"]
        == "Begäran innehåller felaktiga eller saknade uppgifter"
    )
    by_pointer = {e["pointer"]: e for e in problem["errors"]}
    assert by_pointer["/relationship_started_on"]["code"] == "date_from_datetime_parsing"
    assert by_pointer["/relationship_started_on"]["detail"].startswith("Värdet ska vara ett datum")
    assert "someday" not in swedish.text


def test_a_refusal_in_finnish_and_swedish_holds_no_english(client: TestClient) -> None:
    for language, start in (("fi", "Sinulla ei ole oikeutta"), ("sv", "Du har inte behörighet")):
        headers = {**AUDITOR, "Accept-Language": language}
        problem = problem_of(client.post("/clients", json=registration(), headers=headers), 403)
        assert problem["code"] == "forbidden"
        assert problem["detail"].startswith(start) and problem["title"] == problem["detail"]
        assert "debug" not in problem
    fi = problem["messages"]["fi"]
    assert "tarkastaja" in fi and "asiakkaan rekisteröinti" in fi  # the role, what it lacks
    assert "auditor" not in fi and "register_client" not in fi

    headers = {**ACTOR, "X-On-Behalf-Of": "someone.else", "Accept-Language": "sv"}
    problem = problem_of(client.post("/clients", json=registration(), headers=headers), 403)
    assert problem["detail"].startswith("Du har inte behörighet till detta: endast integrationer")
    assert "are for integrations" not in problem["messages"]["fi"] + problem["messages"]["sv"]


def test_an_unknown_route_and_method_are_problems_too(client: TestClient) -> None:
    problem = problem_of(client.get("/no/such/route", headers={"Accept-Language": "fi"}), 404)
    assert (problem["code"], problem["detail"]) == ("not_found", "Tietoa ei löydy")
    # Of a route, the path as the route names it: no id the request named is repeated.
    unknown = client.get(f"/clients/{uuid4()}/assessment", headers=AUDITOR)
    problem = problem_of(unknown, 404, "/clients/{client_id}/assessment")
    assert problem["instance"] == "/clients/{client_id}/assessment"
    wrong_method = client.put("/clients", json={}, headers=ACTOR)
    problem = problem_of(wrong_method, 405)
    assert problem["code"] == "method_not_allowed" and wrong_method.headers["Allow"] == "POST"


def test_a_body_that_is_not_json_is_a_400(client: TestClient) -> None:
    json_header = {"Content-Type": "application/json"}
    for body in (b'{"personal": {"given_names": "\xff\xfe"}}', b"{not json"):
        response = client.post("/clients", content=body, headers={**ACTOR, **json_header})
        problem = problem_of(response, 400)
        assert problem["code"] == "malformed_body" and "errors" not in problem
        # Without a token, the 401 comes first (the body says nothing about the route).
        assert client.post("/clients", content=body, headers=json_header).status_code == 401


def test_an_inbound_body_that_is_not_json_is_a_400_as_the_document_says(
    client: TestClient,
) -> None:
    structured = {"Content-Type": "application/cloudevents+json"}
    binary = {
        "Content-Type": "application/json",
        "ce-specversion": "1.0",
        "ce-id": str(uuid4()),
        "ce-source": "urn:fi:dvv:vtj",
        "ce-type": HomeMunicipalityRegistered.TYPE,
    }
    for headers, body, reason in [
        (structured, b"{not json", "the body is not JSON"),
        (structured, '{"id": "ä"}'.encode("utf-16"), "not UTF-8"),
        (binary, b"{not json", "the body (the event's data) is not JSON"),
        (binary, b"", "the body (the event's data) is not JSON"),
        # Deeper than the parser reads (a 500 before): malformed as far as we can tell.
        (structured, b"[" * 5000 + b"]" * 5000, "nested too deeply"),
        (structured, b'{"a":' * 5000 + b"1" + b"}" * 5000, "nested too deeply"),
        (binary, b"[" * 5000 + b"]" * 5000, "nested too deeply"),
    ]:
        response = client.post("/inbound", content=body, headers={**INTEGRATION, **headers})
        problem = problem_of(response, 400)
        assert problem["code"] == "malformed_body" and "errors" not in problem
        assert reason in problem["messages"]["en"]
        # Without a token, the 401 comes first.
        assert client.post("/inbound", content=body, headers=headers).status_code == 401
    # JSON that no contract reads is a 422, as before.
    for headers, body in [(structured, b"[]"), (binary, b"[1]")]:
        response = client.post("/inbound", content=body, headers={**INTEGRATION, **headers})
        assert problem_of(response, 422)["code"] == "invalid_message"


def test_a_value_at_fault_is_named_once(client: TestClient) -> None:
    # The path's client_id is declared by the route and by its access check: FastAPI reports
    # its error once for each.
    response = client.post(
        "/clients/not-an-id/assessment/start", json={"started_on": 20250115}, headers=ACTOR
    )
    problem = problem_of(response, 422, "/clients/{client_id}/assessment/start")
    assert [(e["pointer"], e["in"], e["code"]) for e in problem["errors"]] == [
        ("/client_id", "path", "uuid_parsing"),
        ("/started_on", "body", "iso_text_required"),
        ("/interview", "body", "missing"),
    ]


def test_swedish_is_chosen_by_accept_language(client: TestClient) -> None:
    response = client.post("/clients", json=registration(), headers={"Accept-Language": "sv"})
    problem = problem_of(response, 401)
    assert response.headers["Content-Language"] == "sv"
    assert problem["title"] == problem["detail"] == problem["messages"]["sv"]
    assert problem["detail"].startswith("Logga in")
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_an_inbound_message_is_refused_in_three_languages_by_pointer(client: TestClient) -> None:
    message = example(HomeMunicipalityRegistered)
    message["data"] = {**message["data"], "person": {"identity_code": FUTURE_BORN}}
    response = client.post(
        "/inbound", json=message, headers={**INTEGRATION, "Accept-Language": "fi"}
    )
    problem = problem_of(response, 422)
    assert problem["code"] == "invalid_message"
    assert problem["detail"] == problem["title"]  # the English reason is in English only
    assert [(e["pointer"], e["code"]) for e in problem["errors"]] == [
        ("/data/person/identity_code", "identity_code_in_future")
    ]
    assert problem["errors"][0]["detail"] == "Henkilötunnuksen syntymäaika on tulevaisuudessa"
    assert "data.person.identity_code" in problem["messages"]["en"]
    assert FUTURE_BORN not in response.text


def test_a_failure_of_ours_is_a_500_problem_that_shows_nothing_of_it() -> None:
    app = FastAPI()
    shared_api.install_error_handlers(app)

    @app.get("/thing")
    def thing() -> None:
        raise RuntimeError("the secret at db.internal:5432")

    response = TestClient(app, raise_server_exceptions=False).get("/thing")
    problem = problem_of(response, 500)
    assert problem["code"] == "internal_error"
    assert "secret" not in response.text and "db.internal" not in response.text


def test_the_openapi_document_names_problems_for_every_error(embedded: EmbeddedSystem) -> None:
    document = embedded.api().openapi()
    schemas = document["components"]["schemas"]
    assert "HTTPValidationError" not in schemas and "ValidationError" not in schemas
    assert set(schemas["Problem"]["properties"]) >= PROBLEM
    answered = 0
    for path in document["paths"].values():
        for operation in path.values():
            for status, given in operation["responses"].items():
                if status.startswith(("4", "5")):
                    # The common answer of a status is referred to, written once.
                    ref = given.get("$ref", "")
                    response = (
                        document["components"]["responses"][ref.rsplit("/", 1)[1]] if ref else given
                    )
                    assert set(response["content"]) == {"application/problem+json"}
                    assert "Content-Language" in response["headers"]
                    answered += 1
    assert answered > 50
