"""The read side in embedded mode: caseload, timeline, statistics, exactly-once application,
order independence, rebuild equality and erasure."""

from __future__ import annotations

import base64
import csv
import io
import json
from collections.abc import Iterator, Sequence
from datetime import date
from typing import Any
from uuid import UUID, uuid4

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, StaticPool, create_engine, select, update
from typer.testing import CliRunner

from kotoutus.cli import app as cli
from kotoutus.embedded import EmbeddedSystem
from services.readside.caseload import concerned_clients, fold
from services.readside.names import NameSeal
from services.readside.projector import Projector
from services.readside.service import READ_SIDE
from services.readside.tables import caseload, client_names, events, name_keys
from shared.contracts import ContractError, PublicEvent
from shared.crypto import PerClientSeal
from shared.replay import replay
from shared.settings import Settings
from tests.support import (
    ACTOR,
    AUDITOR,
    DECREE,
    INTERVIEW,
    SUPERVISOR,
    eventually,
    files_decompressed,
)


@pytest.fixture
def client(embedded: EmbeddedSystem) -> Iterator[TestClient]:
    with TestClient(embedded.api()) as test_client:
        yield test_client


def registration(given_names: str, family_name: str, started: str, language: str) -> dict[str, Any]:
    return {
        "relationship_started_on": started,
        "personal": {"given_names": given_names, "family_name": family_name},
        "facts": {
            "mother_tongue": language,
            "service_languages": ["en"],
            "interpreter_language": language,
            "needs_interpreter": True,
            "home_municipality": "320",
            "non_temporary_social_assistance": True,
            "residence_permit": {"type": "A", "first_permit_on": "2024-12-01"},
        },
    }


def register(client: TestClient, *args: str) -> str:
    response = client.post("/clients", json=registration(*args), headers=ACTOR)
    assert response.status_code == 201, response.text
    client_id: str = response.json()["client_id"]
    return client_id


def row(client: TestClient, client_id: str) -> dict[str, Any] | None:
    page = client.get("/caseload", params={"limit": 500}, headers=ACTOR).json()
    return next((item for item in page["items"] if item["client_id"] == client_id), None)


def settled(client: TestClient, client_id: str, **expected: Any) -> dict[str, Any]:
    """The client's caseload row once it shows ``expected``."""

    def probe() -> dict[str, Any] | None:
        found = row(client, client_id)
        if found and all(found.get(key) == value for key, value in expected.items()):
            return found
        return None

    return eventually(probe, what=f"caseload of {client_id} to show {expected}")


def scenario(client: TestClient) -> dict[str, str]:
    """Three clients along different paths (assessments due in 2025, long past now)."""
    amina = register(client, "Amina", "Hassan", "2025-09-01", "so")
    olena = register(client, "Olena", "Kovalenko", "2025-01-10", "uk")
    farid = register(client, "Farid", "Rahimi", "2025-03-03", "prs")
    assert client.post(
        f"/clients/{amina}/worker", json={"worker": "anna"}, headers=ACTOR
    ).is_success
    assert client.post(
        f"/clients/{olena}/worker", json={"worker": "ville"}, headers=ACTOR
    ).is_success
    for client_id in (amina, olena, farid):
        settled(client, client_id, assessment_state="due")

    def post(path: str, body: dict[str, Any]) -> None:
        response = client.post(path, json=body, headers=ACTOR)
        assert response.is_success, response.text

    # Amina: started in time, a referral, findings, completed, plan agreed.
    post(
        f"/clients/{amina}/assessment/start",
        {"started_on": "2025-10-01", "interview": INTERVIEW, **DECREE},
    )
    skills = {"language_skills": [{"language": "fi", "speaking": "A1.1", "reading": "A1.2"}]}
    when = "2025-10-01T10:00:00+03:00"
    post(f"/clients/{amina}/assessment/findings", {"findings": skills, "occurred_at": when})
    post(
        f"/clients/{amina}/assessment/referrals",
        {"referral_id": "r1", "service": "adult_education_institute", "referred_on": "2025-10-02"},
    )
    post(
        f"/clients/{amina}/assessment/complete",
        {"completed_on": "2025-10-10", "plan_needed": True, "reason": "Finnish A1.1"},
    )
    settled(client, amina, plan_state="preparation_due")
    post(
        f"/clients/{amina}/plan/agree",
        {
            "agreed_on": "2025-10-20",
            "period": {"starts_on": "2025-10-20", "ends_on": "2026-10-19"},
            "goals": ["language"],
            "measures": [{"kind": "finnish_study", "target_level": "B1.1"}],
        },
    )
    # Olena: started after the deadline (due in March).
    post(
        f"/clients/{olena}/assessment/start",
        {"started_on": "2025-04-01", "interview": INTERVIEW, **DECREE},
    )
    # Farid: nothing done; the relationship ends.
    post(f"/clients/{farid}/close", {"reason": "moved to Rovaniemi"})
    settled(client, amina, plan_state="agreed", open_referrals=1)
    settled(client, olena, assessment_state="started")
    settled(client, farid, status="closed")
    # The deadlines of 2025 and early 2026 have passed by now: the watches say so.
    settled(client, farid, assessment_overdue=True)
    settled(client, amina, enrolment_overdue=True)
    return {"amina": amina, "olena": olena, "farid": farid}


def test_caseload_shows_each_client_as_their_events_say(client: TestClient) -> None:
    ids = scenario(client)
    amina = row(client, ids["amina"])
    assert amina is not None
    assert (amina["given_names"], amina["family_name"]) == ("Amina", "Hassan")
    assert amina["organisation"] == "municipality:320"
    assert amina["worker"] == "anna"
    assert amina["group"] == "social_assistance"
    assert (amina["mother_tongue"], amina["needs_interpreter"]) == ("so", True)
    assert amina["assessment_state"] == "completed"
    assert amina["plan_state"] == "agreed"
    assert amina["open_referrals"] == 1
    assert amina["next_review"] is not None
    # Agreed in October 2025, nobody recorded an enrolment within six months.
    assert amina["next_deadline_kind"] == "enrolment"
    assert (amina["enrolment_overdue"], amina["overdue"]) == (True, True)

    farid = row(client, ids["farid"])
    assert farid is not None
    assert farid["status"] == "closed"
    # Nothing was started by the due day in 2025: the overdue watch has said so by now.
    assert farid["assessment_overdue"] is True
    assert farid["overdue"] is True
    assert farid["next_deadline_kind"] == "assessment_start"


def test_caseload_filters_sorts_and_pages(client: TestClient) -> None:
    ids = scenario(client)

    def listed(**params: Any) -> list[str]:
        response = client.get("/caseload", params=params, headers=ACTOR)
        assert response.status_code == 200, response.text
        return [item["client_id"] for item in response.json()["items"]]

    assert listed(worker="anna") == [ids["amina"]]
    assert listed(language="uk") == [ids["olena"]]
    assert listed(language="u") == []  # a language is matched whole
    assert set(listed(language="en")) == set(ids.values())  # a service language counts too
    assert listed(status="closed") == [ids["farid"]]
    assert set(listed(organisation="municipality:320")) == set(ids.values())
    other = client.get("/caseload", params={"organisation": "te_office:lappi"}, headers=ACTOR)
    assert other.status_code == 403  # a caseworker lists their own organisation's clients
    everyone = client.get("/caseload", params={"organisation": "te_office:lappi"}, headers=AUDITOR)
    assert everyone.json()["items"] == []
    assert set(listed(overdue=True)) == {ids["farid"], ids["amina"]}
    assert listed(overdue=False) == [ids["olena"]]
    assert listed(assessment_state="started") == [ids["olena"]]
    farid_due = row(client, ids["farid"])["next_deadline"]  # type: ignore[index]
    assert listed(due_from=farid_due, due_to=farid_due) == [ids["farid"]]

    # Sorted by the next deadline, those without one last; descending reverses exactly.
    ascending = listed(sort="next_deadline")
    assert ascending[-1] == ids["olena"]  # started, no plan yet: no open deadline
    assert listed(sort="next_deadline", order="desc") == ascending[::-1]

    # Pages of one: every client once, in the same order, then no cursor.
    for sort in ("next_deadline", "relationship_started_on", "client_id", "last_event_at"):
        for order in ("asc", "desc"):
            seen: list[str] = []
            cursor = None
            while True:
                params = {"limit": 1, "sort": sort, "order": order}
                if cursor:
                    params["cursor"] = cursor
                page = client.get("/caseload", params=params, headers=ACTOR).json()
                seen += [item["client_id"] for item in page["items"]]
                cursor = page["next_cursor"]
                if cursor is None:
                    break
            assert seen == listed(sort=sort, order=order), (sort, order)
            assert len(seen) == 3

    refused = client.get("/caseload", params={"cursor": "bm9wZQ"}, headers=ACTOR)
    assert refused.status_code == 422
    naive = json.dumps(["last_event_at", "2025-01-01T00:00:00", ids["amina"]]).encode()
    crafted = base64.urlsafe_b64encode(naive).decode()
    params = {"cursor": crafted, "sort": "last_event_at"}
    assert client.get("/caseload", params=params, headers=ACTOR).status_code == 422
    other_sort = client.get("/caseload", params={"limit": 1}, headers=ACTOR).json()["next_cursor"]
    assert (
        client.get(
            "/caseload", params={"cursor": other_sort, "sort": "client_id"}, headers=ACTOR
        ).status_code
        == 422
    )


def test_timeline_tells_who_what_when_why_in_order(client: TestClient) -> None:
    ids = scenario(client)
    entries = client.get(f"/clients/{ids['farid']}/timeline", headers=ACTOR).json()
    kinds = [entry["event_type"] for entry in entries]
    assert kinds[:3] == ["ClientRegistered", "EligibilityDetermined", "ResponsibilityAssigned"]
    assert {"AssessmentDue", "ReminderScheduled", "ClientClosed"} <= set(kinds)
    recorded = [entry["recorded_at"] for entry in entries]
    assert recorded == sorted(recorded)
    closed = next(entry for entry in entries if entry["event_type"] == "ClientClosed")
    assert closed["reason"] == "moved to Rovaniemi"
    assert closed["actor"]["id"] == "anna.virtanen"
    assert closed["organisation"] == "municipality:320"
    eligibility = next(e for e in entries if e["event_type"] == "EligibilityDetermined")
    assert eligibility["legal_basis"], "a rule decided it: the timeline cites it"
    # The timeline is not where names are kept.
    registered = entries[0]
    assert registered["data"]["name"] is None
    assert client.get(f"/clients/{ids['farid']}0/timeline", headers=ACTOR).status_code == 422
    unknown = "00000000-0000-4000-8000-000000000000"
    assert client.get(f"/clients/{unknown}/timeline", headers=ACTOR).status_code == 404


def test_statistics_count_the_programme_by_month_and_year(client: TestClient) -> None:
    scenario(client)
    report = client.get("/statistics", params={"year": 2025}, headers=SUPERVISOR).json()
    figures = {(f["period"], f["measure"], f["dimension"]): f["value"] for f in report["figures"]}
    # From 2025 the law says "without delay" (681/2023 §14(2)): starts are counted against the
    # day the municipality learned of the person, and against its own two-month target.
    target = "assessments_started_against_municipal_target"
    assert figures[("2025", target, "within_municipal_target")] == 1
    assert figures[("2025", target, "after_municipal_target")] == 1
    assert figures[("2025", "assessments_started_within_municipal_target_share", "all")] == 0.5
    assert figures[("2025-10", target, "within_municipal_target")] == 1
    assert figures[("2025-04", target, "after_municipal_target")] == 1
    assert figures[("2025", "assessments_started_on_the_day_learned", "no")] == 2
    assert figures[("2025", "assessments_started_on_the_day_learned_share", "all")] == 0.0
    assert ("2025", "assessments_started", "within_deadline") not in figures
    assert figures[("2025", "plans_agreed", "person")] == 1
    assert figures[("2025", "referrals_made", "adult_education_institute")] == 1
    assert figures[("2025", "language_levels", "fi/speaking/A1.1")] == 1
    assert figures[("now", "clients", "social_assistance/active")] == 2
    assert figures[("now", "clients", "social_assistance/closed")] == 1

    as_csv = client.get("/statistics", params={"year": 2025, "format": "csv"}, headers=SUPERVISOR)
    assert as_csv.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(as_csv.text)))
    assert len(rows) == len(report["figures"])
    assert {
        "period": "2025",
        "measure": "plans_agreed",
        "dimension": "person",
        "value": "1",
    } in rows
    empty = client.get("/statistics", params={"year": 2023}, headers=SUPERVISOR).json()
    assert all(f["period"] == "now" for f in empty["figures"])


def tables(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    with engine.connect() as connection:
        return {
            table.name: sorted(connection.execute(select(table)).all(), key=repr)
            for table in (caseload, client_names, name_keys, events)
        }


def history(embedded: EmbeddedSystem) -> list[PublicEvent]:
    nodes = {name: (node.service, node.app) for name, node in embedded.nodes.items()}
    return list(replay(nodes, personal=True))


def test_rebuilt_projections_equal_the_live_ones_row_for_row(
    client: TestClient, embedded: EmbeddedSystem, embedded_settings: Settings
) -> None:
    scenario(client)
    embedded.deliver_all()
    live = tables(embedded.projector.engine)
    assert all(live.values())
    # Damage the live rows, then rebuild through the command line.
    with embedded.projector.engine.begin() as connection:
        connection.execute(update(caseload).values(worker="someone else", open_referrals=7))
        connection.execute(update(client_names).values(family_name=b"Wrong"))
    assert tables(embedded.projector.engine) != live
    env = {"KOTOUTUS_DATA_DIR": str(embedded_settings.data_dir)}
    result = CliRunner().invoke(cli, ["projections", "rebuild"], env=env)
    assert result.exit_code == 0, result.output
    assert tables(embedded.projector.engine) == live
    only_caseload = CliRunner().invoke(cli, ["projections", "rebuild", "caseload"], env=env)
    assert only_caseload.exit_code == 0, only_caseload.output
    assert tables(embedded.projector.engine) == live
    unknown = CliRunner().invoke(cli, ["projections", "rebuild", "nonsense"], env=env)
    assert unknown.exit_code != 0


def test_a_redelivered_event_changes_nothing(client: TestClient, embedded: EmbeddedSystem) -> None:
    scenario(client)
    embedded.deliver_all()
    before = tables(embedded.projector.engine)
    for event in history(embedded):
        assert embedded.projector.apply(event) is False
    assert tables(embedded.projector.engine) == before


@pytest.fixture(scope="module")
def recorded_history(tmp_path_factory: pytest.TempPathFactory) -> list[PublicEvent]:
    settings = Settings(data_dir=tmp_path_factory.mktemp("history"), late_entry_grace_hours=0)
    system = EmbeddedSystem(settings)
    with TestClient(system.api()) as test_client:  # closes the system when it ends
        scenario(test_client)
        return history(system)


SEAL = NameSeal(bytes(32))


def fresh_projector() -> Projector:
    """A projector of its own, in memory (one connection, so one database)."""
    return Projector(create_engine("sqlite://", poolclass=StaticPool), SEAL)


def readable(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """The projections with names opened: two projectors seal with keys of their own."""
    found = tables(engine)
    del found["name_keys"]
    with engine.connect() as connection:
        keys = {row.client_id: row.wrapped for row in connection.execute(select(name_keys))}
    found["client_names"] = sorted(
        (
            row.client_id,
            SEAL.open(UUID(row.client_id), keys.get(row.client_id), row.given_names),
            SEAL.open(UUID(row.client_id), keys.get(row.client_id), row.family_name),
            row.version,
            row.erased,
        )
        for row in found["client_names"]
    )
    return found


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(order=st.randoms(use_true_random=False))
def test_any_arrival_order_gives_the_same_rows(
    order: Any, recorded_history: list[PublicEvent]
) -> None:
    in_order = fresh_projector()
    for event in recorded_history:
        in_order.apply(event)
    expected = readable(in_order.engine)
    assert expected["client_names"]

    shuffled_events = list(recorded_history)
    order.shuffle(shuffled_events)
    shuffled = fresh_projector()
    for event in shuffled_events:
        shuffled.apply(event)
    for event in shuffled_events[: len(shuffled_events) // 3]:
        assert shuffled.apply(event) is False  # and again: redelivered
    assert readable(shuffled.engine) == expected


def test_erasure_empties_the_name_for_good(
    client: TestClient, embedded: EmbeddedSystem, embedded_settings: Settings
) -> None:
    ids = scenario(client)
    farid = ids["farid"]
    erase = {"legal_ground": "GDPR 17(1)(a)"}
    assert client.post(f"/clients/{farid}/erase", json=erase, headers=ACTOR).is_success
    erased = settled(client, farid, status="erased")
    assert (erased["given_names"], erased["family_name"]) == (None, None)
    assert row(client, ids["amina"])["family_name"] == "Hassan"  # type: ignore[index]
    embedded.deliver_all()

    # The registration arriving again (redelivered, or late) does not bring the name back.
    registered = next(
        e
        for e in history(embedded)
        if e.event_type == "ClientRegistered" and str(e.data.client_id) == farid  # type: ignore[attr-defined]
    )
    assert registered.data.name is None  # type: ignore[attr-defined]  # the key is gone
    late = fresh_projector()
    everything = history(embedded)
    erasure = [e for e in everything if e.event_type == "ClientErased"]
    for event in erasure + [e for e in everything if e not in erasure]:
        late.apply(event)
    with late.engine.connect() as connection:
        name = connection.execute(
            select(client_names).where(client_names.c.client_id == farid)
        ).one()
        key = connection.execute(select(name_keys).where(name_keys.c.client_id == farid)).first()
    assert (name.given_names, name.family_name, name.erased) == (None, None, True)
    assert key is None

    # Nowhere in the read side's file, nor its write-ahead log.
    result = CliRunner().invoke(
        cli, ["projections", "rebuild"], env={"KOTOUTUS_DATA_DIR": str(embedded_settings.data_dir)}
    )
    assert result.exit_code == 0, result.output
    # Names are sealed at rest: no plain name in the read side's file or its log, and the
    # erased client's key is gone for good.
    stored = files_decompressed(list(embedded_settings.data_dir.glob("readside.sqlite*")))
    assert b'"event_type":"ClientRegistered"' in stored  # it reads the compressed bodies …
    for plain in (b"Rahimi", b"Hassan", b"Kovalenko", b"Amina"):
        assert plain not in stored, plain  # … and finds no name in it
    with embedded.projector.engine.connect() as connection:
        keys = set(connection.execute(select(name_keys.c.client_id)).scalars())
    assert farid not in keys
    assert ids["amina"] in keys


@settings(max_examples=50, deadline=None)
@given(order=st.randoms(use_true_random=False))
def test_a_clients_row_is_the_same_whatever_order_the_fold_is_given(
    order: Any, recorded_history: list[PublicEvent]
) -> None:
    for client_id in {c for e in recorded_history for c in concerned_clients(e)}:
        mine = [e for e in recorded_history if client_id in concerned_clients(e)]
        expected = fold(client_id, mine)
        assert expected is not None
        order.shuffle(mine)
        again = fold(client_id, mine)
        assert again is not None
        assert again.columns() == expected.columns()


def test_an_event_the_read_side_refuses_is_dead_lettered_and_the_rest_go_on(
    embedded: EmbeddedSystem, monkeypatch: pytest.MonkeyPatch
) -> None:
    handle = embedded.projector.handle

    def refuse_reminders(events: Sequence[PublicEvent]) -> int:
        # All or nothing: a batch with a reminder fails whole (the transport sets it aside).
        if any(event.event_type == "ReminderScheduled" for event in events):
            raise ContractError("the read side cannot take this one (test)")
        return handle(events)

    monkeypatch.setattr(embedded.projector, "handle", refuse_reminders)
    with TestClient(embedded.api()) as client:
        client_id = register(client, "Amina", "Hassan", date.today().isoformat(), "so")
        embedded.deliver_all()
        # Everything else about the client arrived; the reminder waits as a dead letter.
        settled(client, client_id, assessment_state="due")
        letters = [d for d in embedded.dead_letters.all() if d.consumer == READ_SIDE]
        assert [d.reason for d in letters] == [
            "ContractError: the read side cannot take this one (test)"
        ]
        monkeypatch.setattr(embedded.projector, "handle", handle)
        assert embedded.resubmit(READ_SIDE) == [letters[0].message_id]
        kinds = [
            e["event_type"]
            for e in client.get(f"/clients/{client_id}/timeline", headers=ACTOR).json()
        ]
        assert "ReminderScheduled" in kinds


def test_a_clients_names_open_with_one_unwrapping_and_each_fails_alone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    client_id = uuid4()
    wrapped = SEAL.new_key(client_id)
    first = SEAL.seal(client_id, wrapped, "Olena")
    family = SEAL.seal(client_id, wrapped, "Kovalenko")
    assert first is not None and family is not None
    unwrapped: list[UUID] = []
    cipher = PerClientSeal._cipher

    def counted(seal: PerClientSeal, owner: UUID, key: bytes) -> Any:
        unwrapped.append(owner)
        return cipher(seal, owner, key)

    monkeypatch.setattr(PerClientSeal, "_cipher", counted)

    assert SEAL.open_all(client_id, wrapped, [first, family]) == ["Olena", "Kovalenko"]
    assert unwrapped == [client_id]  # once for both
    tampered = first[:-1] + bytes([first[-1] ^ 1])
    assert SEAL.open_all(client_id, wrapped, [tampered, family]) == [None, "Kovalenko"]
    assert SEAL.open_all(client_id, wrapped, [None, family]) == [None, "Kovalenko"]
    assert SEAL.open_all(client_id, None, [first, family]) == [None, None]  # key forgotten
    assert SEAL.open_all(uuid4(), wrapped, [first, family]) == [None, None]  # another client's
    other_master = NameSeal(bytes([1]) * 32)
    assert other_master.open_all(client_id, wrapped, [first, family]) == [None, None]
    assert SEAL.open(client_id, wrapped, family) == "Kovalenko"
