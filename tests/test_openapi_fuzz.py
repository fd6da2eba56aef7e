"""Schemathesis against the staff API: whatever a client sends that the schema allows (and
much that it does not), the API answers without a server error."""

from __future__ import annotations

from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from kotoutus.embedded import EmbeddedSystem
from tests.support import AUDITOR, INTEGRATION, SUPERVISOR


def headers_for(path: str) -> dict[str, str]:
    """A caller who may use the route, so that the fuzzing reaches past the access checks."""
    if path.startswith("/audit"):
        return AUDITOR
    if path == "/inbound":
        return INTEGRATION
    return SUPERVISOR


def test_no_operation_answers_with_a_server_error(embedded: EmbeddedSystem) -> None:
    # (Schemathesis' own pytest plugin does not run on this pytest; its strategies do.)
    app = embedded.api()
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == sum(len(methods) for methods in app.openapi()["paths"].values())

    for operation in operations:

        @settings(
            max_examples=40,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy())
        def no_server_error(case: Any) -> None:
            case.call_and_validate(headers=headers_for(case.path), checks=[not_a_server_error])

        no_server_error()
