"""The command line as a newcomer meets it: every bad argument gets a clear message and an exit
status, never a traceback; the staff API is found where `kotoutus run` listens; `register`
takes everything `POST /clients` does."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from typer.testing import CliRunner

from kotoutus.cli import app as cli
from kotoutus.embedded import EmbeddedSystem
from shared.settings import Settings
from tests.support import ACTOR, eventually, free_port

TOKEN = ACTOR["Authorization"].removeprefix("Bearer ")
CLIENT = "8d0f6a52-5d0e-4a43-9a4c-0b1b6c3f2e11"
REGISTER = ["clients", "register", "--token", TOKEN, "--relationship-started-on"]

# (arguments, exit status, words the message must hold)
BAD_INPUTS: list[tuple[list[str], int, str]] = [
    ([*REGISTER, "2025-02-31"], 2, "is not a day"),
    ([*REGISTER, "yesterday"], 2, "is not a day"),
    ([*REGISTER, "2025-02-03", "--birth-date", "31.12.1990"], 2, "is not a day"),
    ([*REGISTER, "2025-02-03", "--facts", "{not json"], 2, "not JSON"),
    ([*REGISTER, "2025-02-03", "--facts", "[1, 2]"], 2, "a JSON object"),
    ([*REGISTER, "2025-02-03", "--facts", '{"home_municipality": "Kemi"}'], 2, "home_municipality"),
    ([*REGISTER, "2025-02-03", "--facts", '{"no_such_fact": true}'], 2, "no_such_fact"),
    (["clients", "reminders", "not-a-uuid", "--token", TOKEN], 2, "client_id"),
    (
        [
            "clients",
            "start-assessment",
            CLIENT,
            "2025-13-01",
            "--language",
            "uk",
            "--interviewer",
            "x",
            "--token",
            TOKEN,
        ],
        2,
        "is not a day",
    ),
    (
        [
            "clients",
            "start-assessment",
            CLIENT,
            "2025-03-01",
            "--language",
            "uk",
            "--interviewer",
            "x",
            "--covered",
            "{",
            "--token",
            TOKEN,
        ],
        2,
        "not JSON",
    ),
    (
        ["clients", "complete-assessment", CLIENT, "someday", "--reason", "r", "--token", TOKEN],
        2,
        "is not a day",
    ),
    (["import-te", "/no/such/export.json", "--token", TOKEN], 2, "does not exist"),
    (["token", "issue", "--role", "boss", "--organisation", "o", "--subject", "s"], 2, "choose"),
    (["report", "national-data-store", "--since", "last week"], 2, "a day"),
    (["report", "national-data-store", "--after", "-1"], 2, "--after"),
    (["serve", "nonsense"], 2, "choose one of"),
]


@pytest.mark.parametrize(("arguments", "status", "words"), BAD_INPUTS)
def test_a_bad_argument_gets_a_message_and_an_exit_status(
    arguments: list[str], status: int, words: str, tmp_path: Path
) -> None:
    env = {"KOTOUTUS_DATA_DIR": str(tmp_path / "data"), "KOTOUTUS_PORT": "1"}
    result = CliRunner().invoke(cli, arguments, env=env)
    assert result.exit_code == status, result.output
    assert isinstance(result.exception, SystemExit)  # not an error escaping as a traceback
    assert "Traceback" not in result.output
    assert words in result.output


def test_a_bad_te_export_is_named_not_traced(tmp_path: Path) -> None:
    export = tmp_path / "export.json"
    export.write_text('{"clients": "not a list"}')
    result = CliRunner().invoke(cli, ["import-te", str(export), "--token", TOKEN])
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit)
    assert "not a TE export" in result.output


def test_without_an_api_the_commands_call_where_kotoutus_run_listens(tmp_path: Path) -> None:
    env = {"KOTOUTUS_DATA_DIR": str(tmp_path / "data"), "KOTOUTUS_PORT": "1"}
    result = CliRunner().invoke(cli, ["clients", "reminders", CLIENT, "--token", TOKEN], env=env)
    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit)
    assert "cannot reach the staff API at http://127.0.0.1:1/clients/" in result.output


@pytest.fixture
def running(embedded_settings: Settings) -> Iterator[int]:
    """The embedded system's API on a free port, as `kotoutus run` serves it."""
    port = free_port()
    system = EmbeddedSystem(embedded_settings)
    server = uvicorn.Server(uvicorn.Config(system.api(), port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    eventually(lambda: server.started or None, what="the API to listen")
    yield port
    server.should_exit = True
    thread.join(timeout=30)


def test_register_takes_everything_post_clients_does(
    running: int, embedded_settings: Settings
) -> None:
    env = {"KOTOUTUS_DATA_DIR": str(embedded_settings.data_dir), "KOTOUTUS_PORT": str(running)}
    facts = {
        "non_temporary_social_assistance": True,
        "residence_permit": {"type": "A", "ground_section": "87", "first_permit_on": "2025-01-20"},
        "home_municipality": "320",
    }
    result = CliRunner().invoke(
        cli,
        [
            *REGISTER,
            "2025-02-03",
            "--given-names",
            "Olena",
            "--family-name",
            "Kovalenko",
            "--identity-code",
            "131052-308T",
            "--email",
            "olena@example.fi",
            "--phone",
            "+358 40 123 4567",
            "--mother-tongue",
            "uk",
            "--facts",
            json.dumps(facts),
        ],
        env=env,
    )
    assert result.exit_code == 0, result.output
    client = json.loads(result.stdout)
    assert client["personal"]["birth_date"] == "1952-10-13"
    assert client["personal"]["contact"]["email"] == "olena@example.fi"
    assert client["facts"]["residence_permit"]["ground_section"] == "87"
    assert client["eligibility"]["group"] == "social_assistance"
