"""Schemathesis, all its checks, against the staff API, with a token of each role: the API
answers as its OpenAPI document says (every status, content type, header and body documented;
every request the schema allows accepted or refused only for who the caller is or what the
state is; every request it forbids refused; auth not ignored; no server error).

The one kind of refusal a schema cannot state is let through, by name: a value refused by a
rule of the domain that JSON Schema has no words for (a date compared with today or with
another field, a day no law version covers, a cursor this API did not give). Each is a 422
problem naming exactly those codes; any other code still fails the test."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Annotated, Any
from uuid import UUID, uuid4

import pytest
import schemathesis
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient
from pydantic import BaseModel, Field
from schemathesis.config import SchemathesisConfig
from schemathesis.core.failures import Failure
from schemathesis.core.transport import Response
from schemathesis.engine import events, from_schema
from schemathesis.engine.recorder import ScenarioRecorder
from schemathesis.schemas import BaseSchema

from kotoutus.embedded import EmbeddedSystem
from shared.api import Caller, install_error_handlers
from shared.auth.access import require
from shared.auth.roles import PERMISSIONS, Permission, Role
from tests.support import AUDITOR, INTEGRATION, SUPERVISOR, bearer
from tests.who_may_call import EXPECTED

# Each role's caller, of the organisation (or reach) tests use elsewhere.
ROLE_HEADERS = {
    Role.CASEWORKER: bearer(Role.CASEWORKER.value),
    Role.SUPERVISOR: SUPERVISOR,
    Role.AUDITOR: AUDITOR,
    Role.INTEGRATION: INTEGRATION,
}
# Examples per operation in the examples, fuzzing and stateful phases (the coverage phase sends
# every boundary case whatever this is).
MAX_EXAMPLES = 6
# Codes of rules JSON Schema cannot express (see the module's docstring).
UNSTATABLE_RULES = frozenset(
    {
        "no_rule_in_force",  # the rule tables' first and last days (shared.law)
        "relationship_started_in_future",  # today
        "birth_date_in_future",  # today
        "first_permit_before_birth",  # another field
        "period_ends_before_start",  # another field
        "interpreter_language_required",  # the client's other facts, as recorded
        "identity_code_birth_date_mismatch",  # another field (the code's checksum date)
        "identity_code_check",  # the check character (the pattern gives the form)
        "identity_code_date",  # a day that exists (31 Feb does not)
        "identity_code_in_future",  # today
        "invalid_cursor",  # only this API's own cursors
        "language_code",  # in ISO 639 (the pattern gives the form; the registry is long)
        "country_code",  # in ISO 3166
    }
)


@dataclass(frozen=True)
class Found:
    operation: str
    check: str
    failure: str
    request: str
    answer: str = ""

    def __str__(self) -> str:
        return (
            f"{self.operation} [{self.check}] {self.failure}\n    {self.request}\n    {self.answer}"
        )


def _refused_by_unstatable_rule(failure: Failure, response: Response | None) -> bool:
    if failure.title != "Schema-valid request rejected" or response is None:
        return False
    if response.status_code != 422:
        return False
    try:
        problem = json.loads(response.content)
    except ValueError:
        return False
    codes = {problem.get("code")} | {error.get("code") for error in problem.get("errors", [])}
    general = {"invalid_request", "invalid_message"}  # a request's, an inbound message's
    return codes - general <= UNSTATABLE_RULES and bool(codes & UNSTATABLE_RULES)


def _found_in(recorder: ScenarioRecorder) -> list[Found]:
    found: list[Found] = []
    for case_id, checks in recorder.checks.items():
        for check in checks:
            info = check.failure_info
            if info is None:
                continue
            interaction = recorder.interactions.get(case_id)
            response = interaction.response if interaction is not None else None
            if _refused_by_unstatable_rule(info.failure, response):
                continue
            answer = (
                "" if response is None else f"{response.status_code} {response.content[:800]!r}"
            )
            found.append(
                Found(
                    recorder.label, check.name, str(info.failure), info.code_sample[:2000], answer
                )
            )
    return found


PHASES = ("examples", "coverage", "fuzzing", "stateful")


def _boundary_cases_sent_by(role: Role) -> set[str]:
    """The operations whose coverage phase ``role`` runs: those it may call (the table of
    tests/who_may_call.py), except for a caseworker, who may do nothing a supervisor may not
    (asserted below). The coverage phase sends every boundary case the schema defines, some
    8 000 requests a role, and does not shrink with ``max-examples``; a caller refused an
    operation is refused before its body is read, which the other phases show for every role."""
    if role is Role.CASEWORKER:
        return set()
    return {f"{method} {path}" for (method, path), who in EXPECTED.items() if role.value in who}


def test_a_caseworker_may_do_nothing_a_supervisor_may_not() -> None:
    assert PERMISSIONS[Role.CASEWORKER] <= PERMISSIONS[Role.SUPERVISOR]
    assert all("supervisor" in callers for callers in EXPECTED.values() if "caseworker" in callers)


@pytest.mark.parametrize("role", list(ROLE_HEADERS), ids=lambda role: role.value)
def test_the_api_answers_as_its_document_says(embedded: EmbeddedSystem, role: Role) -> None:
    # (Schemathesis' own pytest plugin does not run on this pytest; its engine does, as its
    # command line runs it: every check is enabled by default.)
    app = embedded.api()
    documented = {
        f"{method.upper()} {path}"
        for path, methods in app.openapi()["paths"].items()
        for method in methods
    }

    def schema(phases: set[str]) -> BaseSchema:
        config = SchemathesisConfig.from_dict(
            {
                "headers": ROLE_HEADERS[role],
                "workers": 1,
                "generation": {"max-examples": MAX_EXAMPLES, "database": "none"},
                "phases": {phase: {"enabled": phase in phases} for phase in PHASES},
            }
        )
        return schemathesis.openapi.from_asgi("/openapi.json", app, config=config)

    boundary = _boundary_cases_sent_by(role)
    found: list[Found] = []
    errors: list[str] = []
    tested: dict[str, set[str]] = {"other phases": set(), "coverage": set()}
    runs = {
        "other phases": schema(set(PHASES) - {"coverage"}),
        "coverage": schema({"coverage"}).include(
            lambda context: (
                f"{context.operation.method.upper()} {context.operation.path}" in boundary
            )
        ),
    }
    for phases, run in runs.items():
        for event in from_schema(run).execute():
            if isinstance(event, events.ScenarioFinished):
                tested[phases].add(event.recorder.label)
                found.extend(_found_in(event.recorder))
            elif isinstance(event, events.NonFatalError | events.FatalError):
                errors.append(repr(event))
            elif isinstance(event, events.EngineFinished):
                found.extend(Found("(after the run)", "", str(f), "") for f in event.failures)

    assert not errors
    assert documented <= tested["other phases"], "operations not tested"
    assert tested["coverage"] == boundary
    assert not found, "\n".join(str(f) for f in dict.fromkeys(found))


Reader = Annotated[Caller, Depends(require(Permission.READ_CLIENT))]


class Note(BaseModel):
    text: str = Field(min_length=1)


def test_a_route_added_later_has_its_errors_documented_without_saying_so() -> None:
    app = FastAPI()
    install_error_handlers(app)

    @app.post("/things/{thing_id}/notes")
    def add_note(thing_id: UUID, body: Note, caller: Reader) -> None: ...

    @app.get("/things")
    def things(caller: Reader) -> list[str]:
        return []

    @app.get("/open")
    def open_to_all() -> None: ...

    document = app.openapi()
    paths = document["paths"]
    assert _errors(paths["/things/{thing_id}/notes"]["post"]) == {400, 401, 403, 404, 409, 422, 503}
    # (Every token-taking route takes the integration headers too: 422.)
    assert _errors(paths["/things"]["get"]) == {401, 403, 422, 503}
    assert _errors(paths["/open"]["get"]) == {503}
    # Each status's common answer is written once and referred to.
    refused = _resolved(document, paths["/things"]["get"]["responses"]["401"])
    assert refused["content"] == {
        "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
    }
    headers = {n: _resolved(document, h) for n, h in refused["headers"].items()}
    assert {"Content-Language", "WWW-Authenticate"} <= set(headers)
    assert headers["Content-Language"]["schema"]["enum"] == ["fi", "sv", "en"]
    away = _resolved(document, paths["/open"]["get"]["responses"]["503"])
    assert "Retry-After" in away["headers"]


def _resolved(document: dict[str, Any], item: dict[str, Any]) -> dict[str, Any]:
    """``item``, or what its ``$ref`` names in ``document``."""
    ref = item.get("$ref")
    if ref is None:
        return item
    found: Any = document
    for part in ref.removeprefix("#/").split("/"):
        found = found[part]
    assert isinstance(found, dict)
    return found


def _errors(operation: dict[str, Any]) -> set[int]:
    return {int(status) for status in operation["responses"] if int(status) >= 400}


def test_a_method_the_path_has_not_is_answered_with_all_it_has(embedded: EmbeddedSystem) -> None:
    # One route per method on the path: Starlette would name only the first one's.
    client = TestClient(embedded.api())
    response = client.delete(
        f"/clients/{uuid4()}/assessment", headers=ROLE_HEADERS[Role.SUPERVISOR]
    )
    assert response.status_code == 405
    assert response.headers["Content-Type"] == "application/problem+json"
    assert {"GET", "POST"} <= {method.strip() for method in response.headers["Allow"].split(",")}
