"""Embedded mode: the same services in one process on SQLite, delivery in-process."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator, Sequence
from datetime import date
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest
import uvicorn
from eventsourcing.domain import Aggregate
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from kotoutus.cli import app as cli
from kotoutus.embedded import EmbeddedSystem
from kotoutus.registry import SERVICES
from services.assessment.application import AssessmentApplication
from services.intake.application import IntakeApplication
from services.intake.model import ClientFacts, PermitType, PersonalDetails, ResidencePermit
from shared import inconsistencies
from shared.contracts import events as contracts
from shared.errors import DomainError, NotFoundError
from shared.messaging.consumers import Handlers
from shared.service import Service
from shared.settings import Settings
from shared.values import Provenance
from tests.support import ACTOR, DECREE, INTERVIEW, bearer, eventually, free_port, token_for

IN_AN_ASSESSMENT_GROUP = ClientFacts(
    home_municipality="320",
    non_temporary_social_assistance=True,
    residence_permit=ResidencePermit(type=PermitType.A, first_permit_on=date(2024, 6, 1)),
)
REGISTRATION: dict[str, Any] = {
    "relationship_started_on": "2024-10-24",
    "occurred_at": "2024-10-24T10:00:00+03:00",  # lived in 2024, before the TE office ceased
    "personal": {"given_names": "Amina", "family_name": "Hassan", "birth_date": "1990-05-17"},
    "facts": {
        "registered_jobseeker": True,
        "mother_tongue": "so",
        "interpreter_language": "so",
        "needs_interpreter": True,
        "residence_permit": {"type": "A", "ground_section": "87", "first_permit_on": "2024-06-01"},
    },
}


@pytest.fixture
def client(embedded: EmbeddedSystem) -> Iterator[TestClient]:
    with TestClient(embedded.api()) as test_client:
        yield test_client


def reminders(
    client: TestClient, client_id: str, headers: dict[str, str] = ACTOR
) -> dict[str, dict[str, Any]]:
    response = client.get(f"/clients/{client_id}/reminders", headers=headers)
    return {r["deadline_kind"]: r for r in response.json()} if response.status_code == 200 else {}


def test_the_thread_in_one_process(client: TestClient) -> None:
    registered = client.post("/clients", json=REGISTRATION, headers=ACTOR)
    assert registered.status_code == 201, registered.text
    # A jobseeker whose client relationship started in 2024: the TE office answers.
    assert registered.json()["responsible_organisation"] == "te_office:lappi"
    client_id = registered.json()["client_id"]
    te = bearer(organisation="te_office:lappi", subject="tea.laine")  # whose client it now is

    due = eventually(lambda: reminders(client, client_id, te).get("assessment-start"), what="due")
    # 24 Oct + 2 months = Christmas Eve → the next working day after Christmas.
    assert (due["due"], due["state"]) == ("2024-12-27", "scheduled")
    assessment = client.get(f"/clients/{client_id}/assessment", headers=te).json()
    assert assessment["deadline"]["nominal"] == "2024-12-24"
    assert assessment["deadline"]["rolled_by"]["law"] == "150/1930"

    base = f"/clients/{client_id}/assessment"
    start = {"started_on": "2024-11-04", "interview": INTERVIEW, **DECREE}
    assert client.post(f"{base}/start", json=start, headers=te).is_success
    done = client.post(
        f"{base}/complete",
        json={"completed_on": "2024-11-08", "plan_needed": True, "reason": "literacy training"},
        headers=te,
    )
    assert done.is_success, done.text

    def plan_due() -> dict[str, Any] | None:
        found = reminders(client, client_id, te)
        cancelled = found.get("assessment-start", {}).get("state") == "cancelled"
        return found.get("plan-preparation") if cancelled else None

    plan = eventually(plan_due, what="plan reminder")
    # Decided on Friday 8 Nov 2024: two weeks under Act 1386/2010 → Friday 22 Nov.
    assert (plan["due"], plan["responsible_organisation"]) == ("2024-11-22", "te_office:lappi")


def test_a_restart_resumes_delivery_where_tracking_says(embedded_settings: Settings) -> None:
    first = EmbeddedSystem(embedded_settings)
    intake = first.nodes["intake"].app
    assert isinstance(intake, IntakeApplication)
    client = intake.register_client(
        client_id=uuid4(),
        provenance=Provenance.system("test", "municipality:320", _now()),
        personal=PersonalDetails(given_names="A", family_name="B"),
        facts=IN_AN_ASSESSMENT_GROUP,
        relationship_started_on=_now().date(),
    )
    first.close()  # stopped before anything was delivered

    second = EmbeddedSystem(embedded_settings)
    second.deliver_all()
    assessment = second.nodes["assessment"].app
    assert isinstance(assessment, AssessmentApplication)
    assert assessment.assessment_of(client.id).version == 1
    second.close()

    third = EmbeddedSystem(embedded_settings)  # nothing pending: nothing happens again
    third.deliver_all()
    assessment = third.nodes["assessment"].app
    assert isinstance(assessment, AssessmentApplication)
    assert len(list(assessment.events.get(assessment.assessment_of(client.id).id))) == 1
    third.close()


def _now() -> Any:
    from shared.clock import utc_now

    return utc_now()


class RefusedError(DomainError):
    code = "refused"
    texts = {"en": "refused by the test consumer"}


def test_a_message_a_consumer_refuses_is_dead_lettered_and_delivery_goes_on(
    embedded_settings: Settings,
) -> None:
    refused: set[UUID] = set()
    accepted: list[UUID] = []

    def picky(app: Any, message: contracts.ClientRegistered) -> Sequence[Aggregate]:
        client_id = message.data.client_id  # type: ignore[attr-defined]
        if client_id in refused:
            raise RefusedError(f"client {client_id}")
        accepted.append(client_id)
        return ()

    picky_service = Service(
        name="picky",
        application=SERVICES["notifications"].application,
        publishes=SERVICES["notifications"].publishes,
        policies=Handlers[Any]().on(contracts.ClientRegistered, picky),
    )
    system = EmbeddedSystem(
        embedded_settings, {"intake": SERVICES["intake"], "picky": picky_service}
    )
    intake = system.nodes["intake"].app
    assert isinstance(intake, IntakeApplication)
    ids = [uuid4(), uuid4()]
    refused.add(ids[0])
    for client_id in ids:
        intake.register_client(
            client_id=client_id,
            provenance=Provenance.system("test", "municipality:320", _now()),
            personal=PersonalDetails(given_names="A", family_name="B"),
            facts=ClientFacts(),
            relationship_started_on=_now().date(),
        )
    system.deliver_all()
    assert accepted == [ids[1]]
    [letter] = system.dead_letters.all()
    assert letter.consumer == "picky"
    assert letter.routing_key == "intake.ClientRegistered"
    assert f"RefusedError: client {ids[0]}" in letter.reason
    assert str(ids[0]) in letter.body.decode()
    # The cause fixed, the dead letter is handed over again and applied once.
    refused.clear()
    assert system.resubmit("picky") == [letter.message_id]
    assert accepted == [ids[1], ids[0]]
    assert system.dead_letters.all() == []
    system.close()


def test_errors_say_what_is_wrong_in_the_callers_language(client: TestClient) -> None:
    anonymous = client.post("/clients", json=REGISTRATION, headers={"Accept-Language": "sv"})
    assert anonymous.status_code == 401
    assert anonymous.headers["WWW-Authenticate"].startswith("Bearer")
    assert anonymous.json()["code"] == "not_authenticated"
    assert anonymous.json()["message"].startswith("Logga in")

    somali = {**REGISTRATION, "facts": {**REGISTRATION["facts"], "mother_tongue": "Somali"}}
    bad = client.post("/clients", json=somali, headers=ACTOR)
    assert bad.status_code == 422
    [error] = bad.json()["errors"]
    assert (error["pointer"], error["code"]) == ("/facts/mother_tongue", "language_code")
    assert "Somali" not in bad.text  # the value at fault is named, never repeated

    too_early = {**REGISTRATION, "relationship_started_on": "2001-01-01"}
    refused = client.post("/clients", json=too_early, headers={**ACTOR, "Accept-Language": "fi"})
    assert refused.status_code == 422
    assert refused.json()["code"] == "no_rule_in_force"
    assert refused.json()["message"].startswith("Päivälle 2001-01-01")

    client_id = str(uuid4())
    body = {**REGISTRATION, "client_id": client_id}
    assert client.post("/clients", json=body, headers=ACTOR).status_code == 201
    again = client.post("/clients", json=body, headers={**ACTOR, "Accept-Language": "sv"})
    assert again.status_code == 409
    assert again.json()["message"].startswith("Klienten är redan registrerad")

    unknown = client.get(f"/clients/{uuid4()}/assessment", headers=ACTOR)
    assert unknown.status_code == 404
    assert set(unknown.json()["messages"]) == {"fi", "sv", "en"}


def test_the_cli_registers_a_client_through_the_api(embedded: EmbeddedSystem) -> None:
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(embedded.api(), port=port, log_level="warning"))
    thread = threading.Thread(target=server.run)
    thread.start()
    try:
        api = f"http://127.0.0.1:{port}"
        eventually(lambda: _answers(f"{api}/health"), what="the API")
        result = CliRunner().invoke(
            cli,
            [
                "clients",
                "register",
                "--given-names",
                "Olena",
                "--family-name",
                "Kovalenko",
                "--relationship-started-on",
                "2025-02-03",
                "--token",
                token_for(embedded.settings, "caseworker"),
                "--api",
                api,
            ],
        )
        assert result.exit_code == 0, result.output
        assert '"responsible_organisation": "municipality:320"' in result.output
    finally:
        server.should_exit = True
        thread.join()


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def test_kotoutus_run_serves_the_api_docs(tmp_path: Path) -> None:
    """The README's first command, as a newcomer runs it."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("KOTOUTUS_")}
    process = subprocess.Popen(
        [sys.executable, "-m", "kotoutus.cli", "run", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        eventually(lambda: _answers(f"http://127.0.0.1:{port}/docs"), what="the docs page")
        assert (tmp_path / "kotoutus-data" / "intake.sqlite").exists()
    finally:
        process.terminate()
        output = process.communicate(timeout=20)[0].decode()
    assert f"API docs: http://127.0.0.1:{port}/docs" in output


def test_an_inconsistency_of_our_records_is_retried_and_reported_not_dead_lettered(
    embedded_settings: Settings,
) -> None:
    """A consumer that cannot find what our own events name is not the sender's fault: the
    message is kept (no dead letter), reported as an inconsistency, and applied once the
    records agree; the other links go on meanwhile."""
    missing: set[UUID] = set()
    accepted: list[UUID] = []

    def strict(app: Any, message: contracts.ClientRegistered) -> Sequence[Aggregate]:
        client_id = message.data.client_id  # type: ignore[attr-defined]
        if client_id in missing:
            raise NotFoundError(f"Case {client_id}")
        accepted.append(client_id)
        return ()

    strict_service = Service(
        name="strict",
        application=SERVICES["notifications"].application,
        publishes=SERVICES["notifications"].publishes,
        policies=Handlers[Any]().on(contracts.ClientRegistered, strict),
    )
    system = EmbeddedSystem(
        embedded_settings,
        {
            "intake": SERVICES["intake"],
            "assessment": SERVICES["assessment"],
            "strict": strict_service,
        },
    )
    intake = system.nodes["intake"].app
    assert isinstance(intake, IntakeApplication)
    client_id = uuid4()
    missing.add(client_id)
    before = sum(inconsistencies.counts().values())
    intake.register_client(
        client_id=client_id,
        provenance=Provenance.system("test", "municipality:320", _now()),
        personal=PersonalDetails(given_names="A", family_name="B"),
        facts=IN_AN_ASSESSMENT_GROUP,
        relationship_started_on=_now().date(),
    )
    system.deliver_all()
    assert accepted == []
    assert system.dead_letters.all() == []
    assert sum(inconsistencies.counts().values()) > before
    assessment = system.nodes["assessment"].app
    assert isinstance(assessment, AssessmentApplication)
    assert assessment.assessment_of(client_id).version == 1  # the other link went on
    missing.clear()  # the records repaired: the same message applies, once
    system.deliver_all()
    system.deliver_all()
    assert accepted == [client_id]
    system.close()
