"""A database that stays away is answered 503 with Retry-After, in the staff's languages; the
errors are the drivers' own, raised by connecting to a port nothing listens on."""

from __future__ import annotations

from collections.abc import Callable

import psycopg
import pytest
import sqlalchemy
from eventsourcing.postgres import PostgresDatastore
from fastapi import FastAPI
from fastapi.testclient import TestClient

from shared.api import install_error_handlers
from tests.conftest import PG_ADMIN_URL
from tests.support import free_port


def _event_store(port: int) -> None:
    datastore = PostgresDatastore("x", "127.0.0.1", port, "x", "x", connect_timeout=0.5)
    try:
        with datastore.transaction(commit=False) as cursor:
            cursor.execute("SELECT 1")
    finally:
        datastore.close()


def _psycopg(port: int) -> None:
    psycopg.connect(f"postgresql://x@127.0.0.1:{port}/x", connect_timeout=1).close()


def _sqlalchemy(port: int) -> None:
    engine = sqlalchemy.create_engine(f"postgresql+psycopg://x@127.0.0.1:{port}/x")
    with engine.connect():
        pass


@pytest.mark.parametrize("reach", [_event_store, _psycopg, _sqlalchemy])
def test_a_database_that_cannot_be_reached_is_a_503(reach: Callable[[int], None]) -> None:
    app = FastAPI()
    install_error_handlers(app)
    port = free_port()

    @app.get("/thing")
    def thing() -> None:
        reach(port)

    response = TestClient(app, raise_server_exceptions=False).get(
        "/thing", headers={"Accept-Language": "sv"}
    )
    assert response.status_code == 503, response.text
    assert response.headers["Retry-After"] == "5"
    body = response.json()
    assert body["code"] == "service_unavailable"
    assert body["message"] == body["messages"]["sv"]
    assert set(body["messages"]) == {"fi", "sv", "en"}
    assert str(port) not in response.text  # where the database lives is not the caller's


def test_a_database_that_answers_with_an_error_is_not_called_away() -> None:
    """A cancelled query is an OperationalError too, but the database was there: a 500."""
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/thing")
    def thing() -> None:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as connection:
            connection.execute("SET statement_timeout = 1")
            connection.execute("SELECT pg_sleep(1)")

    response = TestClient(app, raise_server_exceptions=False).get("/thing")
    assert response.status_code == 500
