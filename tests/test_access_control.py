"""Who may call what: every route of the staff API against every kind of caller, and the
access log that records each read of a client's data."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
import jwt
import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from kotoutus.cli import app as cli
from kotoutus.embedded import EmbeddedSystem
from shared.auth.access_log import AccessEntry, AccessLog
from shared.auth.tokens import LOCAL_ISSUER, LocalIssuer
from shared.clock import utc_now
from shared.settings import Settings
from tests.support import (
    ACTOR,
    AUDITOR,
    DECREE,
    INTEGRATION,
    INTERVIEW,
    TOKEN_KEY,
    ServiceProcesses,
    eventually,
)
from tests.who_may_call import CALLERS, EXPECTED

NAME = "Olena"

REGISTRATION = {
    "relationship_started_on": utc_now().date().isoformat(),
    "personal": {"given_names": NAME, "family_name": "Kovalenko"},
    "facts": {
        "non_temporary_social_assistance": True,
        "residence_permit": {"type": "A", "first_permit_on": "2025-06-01"},
    },
}


@pytest.fixture
def system(embedded: EmbeddedSystem) -> Iterator[tuple[TestClient, str]]:
    """The API with one client of municipality:320 whose assessment, plan and reminders exist."""
    with TestClient(embedded.api()) as api:
        client_id = api.post("/clients", json=REGISTRATION, headers=ACTOR).json()["client_id"]
        base = f"/clients/{client_id}/assessment"
        eventually(lambda: api.get(base, headers=ACTOR).is_success, what="assessment")
        start = {
            "started_on": REGISTRATION["relationship_started_on"],
            "interview": INTERVIEW,
            **DECREE,
        }
        assert api.post(f"{base}/start", json=start, headers=ACTOR).is_success
        done = {
            "completed_on": REGISTRATION["relationship_started_on"],
            "plan_needed": True,
            "reason": "Finnish A1.1",
        }
        assert api.post(f"{base}/complete", json=done, headers=ACTOR).is_success
        plan = f"/clients/{client_id}/plan"
        eventually(lambda: api.get(plan, headers=ACTOR).is_success, what="plan")
        reminders = f"/clients/{client_id}/reminders"
        eventually(lambda: api.get(reminders, headers=ACTOR).is_success, what="reminders")
        yield api, client_id


def test_every_route_against_every_caller(system: tuple[TestClient, str]) -> None:
    api, client_id = system
    # Routers are included lazily (FastAPI ≥ 0.16x): walk their effective routes.
    routes = {
        (method, str(route.path))
        for route in iter_route_contexts(api.app.routes)  # type: ignore[attr-defined]
        if isinstance(route.original_route, APIRoute)
        for method in route.methods or ()
    }
    assert routes == set(EXPECTED), "a route without an entry in EXPECTED (or a stale entry)"
    for (method, template), allowed in sorted(EXPECTED.items()):
        path = template.format(
            client_id=client_id,
            conflict_id="c1",
            referral_id="r1",
            message_id="m1",
            reviewed_on="2025-09-01",
            request_id="sar-1",
            hold_id="hold-1",
        )
        for who, headers in CALLERS.items():
            # An empty body: a caller let in gets 422 (or a read), and nothing changes.
            body = {} if method == "POST" else None
            response = api.request(method, path, json=body, headers=headers)
            case = f"{who} {method} {template}: {response.status_code} {response.text[:200]}"
            if who in allowed:
                assert response.status_code not in {401, 403}, case
                continue
            expected = 401 if who == "anonymous" else 403
            assert response.status_code == expected, case
            assert response.headers["Content-Type"] == "application/problem+json", case
            assert set(response.json()) == {
                *("type", "title", "status", "detail", "instance"),  # RFC 9457
                *("code", "message", "messages"),
            }, case
            assert set(response.json()["messages"]) == {"fi", "sv", "en"}, case
            assert client_id not in response.text and NAME not in response.text, case
            if expected == 401:
                assert response.headers["WWW-Authenticate"].startswith("Bearer"), case
                # Not even a body that is not JSON gets past the 401 (it is parsed first).
                garbled = api.request(method, path, content=b"{not json", headers=headers)
                assert garbled.status_code == 401, f"{case} (garbled body)"


def test_a_caseload_shows_only_the_callers_own_clients_and_logs_each(
    system: tuple[TestClient, str],
) -> None:
    api, client_id = system
    eventually(lambda: api.get("/caseload", headers=ACTOR).json()["items"], what="caseload of 320")
    other = CALLERS["other_caseworker"]
    assert api.get("/caseload", headers=other).json()["items"] == []
    asked = api.get("/caseload", params={"organisation": "municipality:320"}, headers=other)
    assert asked.status_code == 403
    assert client_id not in asked.text
    everyone = api.get("/caseload", headers=AUDITOR).json()["items"]
    assert [item["client_id"] for item in everyone] == [client_id]

    before = len(_log(api).query(client_id=client_id))
    page = api.get("/caseload", headers=ACTOR).json()
    assert [item["family_name"] for item in page["items"]] == ["Kovalenko"]
    rows = _log(api).query(client_id=client_id)[before:]
    assert [(row.what, row.actor, row.outcome) for row in rows] == [
        ("GET /caseload", "anna.virtanen", 200)
    ]


def test_a_lookup_reveals_only_the_callers_own_clients(system: tuple[TestClient, str]) -> None:
    api, client_id = system
    code = {"personal": {"identity_code": "131052-308T"}, "reason": "DVV assigned a code"}
    assert api.post(f"/clients/{client_id}/corrections", json=code, headers=ACTOR).is_success
    lookup = {"kind": "identity_code", "value": "131052-308T"}
    mine = api.post("/clients/lookup", json=lookup, headers=ACTOR).json()
    assert mine == {"client_id": client_id}
    theirs = api.post("/clients/lookup", json=lookup, headers=CALLERS["other_caseworker"])
    assert theirs.json() == {"client_id": None}


def test_only_integrations_name_another_author(system: tuple[TestClient, str]) -> None:
    api, _ = system
    headers = {**ACTOR, "X-On-Behalf-Of": "someone.else"}
    refused = api.post("/clients", json=REGISTRATION, headers=headers)
    assert refused.status_code == 403
    on_behalf = {**INTEGRATION, "X-On-Behalf-Of": "te:official.laine", "X-Record-Source": "x#1"}
    created = api.post("/clients", json=REGISTRATION, headers=on_behalf)
    assert created.status_code == 201, created.text


def _log(api: TestClient) -> AccessLog:
    log = api.app.state.access_log  # type: ignore[attr-defined]
    assert isinstance(log, AccessLog)
    return log


def test_a_read_is_logged_once_with_who_what_why_and_outcome(
    system: tuple[TestClient, str],
) -> None:
    api, client_id = system
    before = len(_log(api).query(client_id=client_id))
    headers = {**ACTOR, "X-Purpose": "preparing the plan meeting"}
    assert api.get(f"/clients/{client_id}/assessment", headers=headers).status_code == 200
    rows = _log(api).query(client_id=client_id)[before:]
    assert len(rows) == 1
    row = rows[0]
    assert (row.actor, row.role, row.organisation) == (
        "anna.virtanen",
        "caseworker",
        "municipality:320",
    )
    assert row.what == "GET /clients/{client_id}/assessment"
    assert row.purpose == "preparing the plan meeting"
    assert row.source == "testclient"
    assert row.outcome == 200
    assert utc_now() - row.at < timedelta(minutes=1)

    # Commands are the event log's to record, not the access log's.
    api.post(f"/clients/{client_id}/close", json={}, headers=ACTOR)
    assert len(_log(api).query(client_id=client_id)) == before + 1


def test_refused_reads_are_logged_too(system: tuple[TestClient, str]) -> None:
    api, client_id = system
    other = CALLERS["other_caseworker"]
    assert api.get(f"/clients/{client_id}", headers=other).status_code == 403
    assert api.get(f"/clients/{client_id}").status_code == 401
    rows = _log(api).query(client_id=client_id)[-2:]
    assert [(r.actor, r.outcome) for r in rows] == [("rovaniemi.caseworker", 403), (None, 401)]
    assert rows[0].organisation == "municipality:698"


def test_auditors_query_the_log_and_caseworkers_cannot(system: tuple[TestClient, str]) -> None:
    api, client_id = system
    assert api.get(f"/clients/{client_id}/reminders", headers=ACTOR).status_code == 200
    refused = api.get("/audit/access-log", params={"client_id": client_id}, headers=ACTOR)
    assert refused.status_code == 403
    found = api.get(
        "/audit/access-log",
        params={"client_id": client_id, "actor": "anna.virtanen"},
        headers=AUDITOR,
    )
    assert found.status_code == 200, found.text
    what = [(row["what"], row["outcome"]) for row in found.json()]
    assert ("GET /clients/{client_id}/reminders", 200) in what
    assert ("GET /audit/access-log", 403) in what  # the caseworker's try, logged
    assert all(row["actor"] == "anna.virtanen" for row in found.json())
    later = api.get(
        "/audit/access-log", params={"since": utc_now().isoformat()}, headers=AUDITOR
    ).json()
    assert later == []
    # The auditor's own queries are in the log.
    mine = _log(api).query(actor="aino.auditor")
    assert [r.what for r in mine][-2:] == ["GET /audit/access-log"] * 2


def _refuses_changes(log: AccessLog) -> None:
    log.append(
        AccessEntry(
            at=utc_now(),
            actor="anna.virtanen",
            role="caseworker",
            organisation="municipality:320",
            client_id=str(uuid4()),
            what="GET /clients/{client_id}",
            purpose=None,
            source="127.0.0.1",
            outcome=200,
        )
    )
    table = log.table
    for statement in (table.update().values(outcome=404), table.delete()):
        with pytest.raises(sa.exc.DBAPIError, match="append-only"), log.engine.begin() as conn:
            conn.execute(statement)
    assert len(log.query()) == 1


def test_the_access_log_refuses_update_and_delete_sqlite(tmp_path: Path) -> None:
    log = AccessLog.for_settings(Settings(data_dir=tmp_path, database_url=None))
    try:
        _refuses_changes(log)
    finally:
        log.close()


@pytest.mark.distributed
def test_the_access_log_refuses_update_delete_and_truncate_postgres(pg_database: str) -> None:
    settings = Settings(database_url=pg_database, schema_prefix=f"t{uuid4().hex[:10]}_")
    log = AccessLog.for_settings(settings)
    try:
        _refuses_changes(log)
        with pytest.raises(sa.exc.DBAPIError, match="append-only"), log.engine.begin() as conn:
            conn.execute(sa.text(f'TRUNCATE "{settings.schema_for("access")}".access_log'))
        assert AccessLog.for_settings(settings).query()  # a second process finds it in place
    finally:
        log.close()


# --- tokens ---


def test_the_embedded_default_makes_its_key_and_the_cli_issues_tokens(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli,
        [
            "token",
            "issue",
            "--role",
            "caseworker",
            "--organisation",
            "municipality:320",
            "--subject",
            "anna.virtanen",
            "--hours",
            "1",
        ],
        env={"KOTOUTUS_DATA_DIR": str(tmp_path), "KOTOUTUS_TOKEN_SIGNING_KEY": None},
    )
    assert result.exit_code == 0, result.output
    key = tmp_path / "token-signing-key.pem"
    assert key.stat().st_mode & 0o777 == 0o600
    settings = Settings(data_dir=tmp_path, token_signing_key=None)
    token = LocalIssuer(settings).verify(result.output.strip())
    assert (token.subject, token.roles, token.organisation) == (
        "anna.virtanen",
        ("caseworker",),
        "municipality:320",
    )
    unknown = CliRunner().invoke(
        cli,
        ["token", "issue", "--role", "admin", "--organisation", "x", "--subject", "y"],
        env={"KOTOUTUS_DATA_DIR": str(tmp_path), "KOTOUTUS_TOKEN_SIGNING_KEY": None},
    )
    assert unknown.exit_code == 2


def _claims(**overrides: Any) -> dict[str, Any]:
    now = utc_now()
    claims = {
        "iss": LOCAL_ISSUER,
        "aud": "kotoutus",
        "sub": "anna.virtanen",
        "exp": now + timedelta(hours=1),
        "roles": ["caseworker"],
        "organisation": "municipality:320",
    }
    return {**claims, **overrides}


def test_bad_tokens_are_answered_401_and_odd_ones_403(embedded: EmbeddedSystem) -> None:
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    key = load_pem_private_key(TOKEN_KEY.read_bytes(), password=None)
    past = utc_now() - timedelta(hours=1)

    def signed(**overrides: Any) -> str:
        return jwt.encode(_claims(**overrides), key, algorithm="EdDSA")  # type: ignore[arg-type]

    unsigned = jwt.encode(_claims(), None, algorithm="none")
    shared_secret = jwt.encode(
        _claims(), "a shared secret anyone who verifies knows", algorithm="HS256"
    )
    with TestClient(embedded.api()) as api:
        for token in (
            signed(exp=past),
            signed(aud="another-app"),
            signed(iss="urn:somewhere:else"),
            signed(exp=None),
            signed(organisation=None),
            unsigned,
            shared_secret,
            "not-a-token",
        ):
            response = api.post(
                "/clients/lookup", json={}, headers={"Authorization": f"Bearer {token}"}
            )
            assert response.status_code == 401, (token, response.text)
            assert response.headers["WWW-Authenticate"].startswith("Bearer")
        for roles in (["caseworker", "auditor"], ["admin"], []):
            response = api.post(
                "/clients/lookup",
                json={},
                headers={"Authorization": f"Bearer {signed(roles=roles)}"},
            )
            assert response.status_code == 403, (roles, response.text)
        # A role claim of another application is ignored; one of ours decides.
        other = signed(roles=["wiki-editor", "caseworker"])
        response = api.post(
            "/clients/lookup", json={}, headers={"Authorization": f"Bearer {other}"}
        )
        assert response.status_code == 422


class _Issuer(BaseHTTPRequestHandler):
    documents: dict[str, bytes] = {}

    def do_GET(self) -> None:
        body = self.documents.get(self.path)
        self.send_response(200 if body else 404)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body or b"{}")

    def log_message(self, *_: Any) -> None:
        pass


@pytest.fixture
def oidc_issuer() -> Iterator[tuple[str, rsa.RSAPrivateKey]]:
    """A real OpenID Connect discovery document and JWKS, served over HTTP."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Issuer)
    issuer = f"http://127.0.0.1:{server.server_address[1]}/realms/kemijarvi"
    jwk = jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
    _Issuer.documents = {
        "/realms/kemijarvi/.well-known/openid-configuration": json.dumps(
            {"issuer": issuer, "jwks_uri": f"{issuer}/keys"}
        ).encode(),
        "/realms/kemijarvi/keys": json.dumps(
            {"keys": [{**jwk, "kid": "k1", "use": "sig", "alg": "RS256"}]}
        ).encode(),
    }
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield issuer, key
    server.shutdown()
    server.server_close()


def test_tokens_of_an_oidc_issuer_are_verified_against_its_published_keys(
    tmp_path: Path, oidc_issuer: tuple[str, rsa.RSAPrivateKey]
) -> None:
    issuer, key = oidc_issuer
    settings = Settings(data_dir=tmp_path, database_url=None, amqp_url=None, oidc_issuer=issuer)
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def token(signer: rsa.RSAPrivateKey, kid: str, **overrides: Any) -> dict[str, str]:
        claims = _claims(**{"iss": issuer, **overrides})
        signed = jwt.encode(claims, signer, algorithm="RS256", headers={"kid": kid})
        return {"Authorization": f"Bearer {signed}"}

    system = EmbeddedSystem(settings)
    try:
        with TestClient(system.api()) as api:
            created = api.post("/clients", json=REGISTRATION, headers=token(key, "k1"))
            assert created.status_code == 201, created.text
            client = f"/clients/{created.json()['client_id']}"
            assert api.get(client, headers=token(key, "k1")).status_code == 200
            for refused in (
                token(stranger, "k2"),  # a key the issuer never published
                token(stranger, "k1"),  # a known key id, but not its signature
                token(key, "k1", exp=utc_now() - timedelta(minutes=5)),  # expired
                token(key, "k1", iss="http://127.0.0.1:1/other"),  # another issuer
            ):
                response = api.get(client, headers=refused)
                assert response.status_code == 401, response.text
                assert NAME not in response.text
    finally:
        system.close()


@pytest.mark.distributed
def test_service_processes_log_reads_to_postgres(processes: ServiceProcesses) -> None:
    processes.start("intake")
    url = processes.url("intake")
    created = httpx.post(f"{url}/clients", json=REGISTRATION, headers=ACTOR, timeout=30)
    assert created.status_code == 201, created.text
    client_id = created.json()["client_id"]
    headers = {**ACTOR, "X-Purpose": "checking the address"}
    assert httpx.get(f"{url}/clients/{client_id}", headers=headers, timeout=10).is_success
    rows = httpx.get(
        f"{url}/audit/access-log", params={"client_id": client_id}, headers=AUDITOR, timeout=10
    ).json()
    assert [(r["actor"], r["what"], r["purpose"], r["outcome"]) for r in rows] == [
        ("anna.virtanen", "GET /clients/{client_id}", "checking the address", 200)
    ]
    assert rows[0]["source"] == "127.0.0.1"
