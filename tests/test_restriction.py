"""Restriction of processing (GDPR Art. 18): a restricted client's data is kept but not used —
reads say only that it is restricted, the caseload and the exports leave the client out, no
letter goes out — until the restriction is lifted, with who, when and why on record."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from fastapi.testclient import TestClient

from kotoutus.embedded import EmbeddedSystem
from services.notifications.dispatcher import Dispatcher
from services.notifications.letters import MessageState
from services.notifications.outbox import INTERRUPTED, ClientOutbox
from shared.clock import HELSINKI
from shared.contracts import events as contracts
from shared.settings import Settings
from shared.values import Provenance
from tests.servers import SmtpServer
from tests.support import ACTOR, SUPERVISOR, TOKEN_KEY, eventually
from tests.test_compensation_report import register as register_for_compensation
from tests.test_national_data_store import REVIEW, exported, recorded_client
from tests.test_notification_outbox import (  # noqa: F401 (fixtures)
    MONDAY_7,
    Outbox,
    enrolment_due,
    outbox,
    smtp,
)
from tests.test_readside import row

REASON = "The person contests the accuracy of the assessment (GDPR Art. 18(1)(a))"


@pytest.fixture
def embedded_settings(tmp_path: Path) -> Settings:
    # The compensation report needs the municipality's conditions (681/2023 §59).
    return Settings(
        data_dir=tmp_path / "data",
        database_url=None,
        amqp_url=None,
        token_signing_key=TOKEN_KEY,
        late_entry_grace_hours=0,
        integration_programme_from=date(2023, 1, 1),
        integration_programme_until=date(2025, 12, 31),
        ely_agreement="Lapin ELY-keskus, sopimus kuntaan osoittamisesta 2024",
    )


@pytest.fixture
def api(embedded: EmbeddedSystem) -> Iterator[TestClient]:
    with TestClient(embedded.api()) as test_client:
        yield test_client


def compensated(api: TestClient) -> set[str]:
    response = api.get("/reports/compensation", params={"year": 2025}, headers=SUPERVISOR)
    assert response.status_code == 200, response.text
    return {person["client_id"] for person in response.json()["persons"]}


def in_export(api: TestClient, client_id: str) -> bool:
    return bool(exported(api, client_id=client_id)["records"])


def restricted_answer(response: Any) -> bool:
    return bool(response.status_code == 409 and response.json()["code"] == "processing_restricted")


def test_a_restricted_client_is_kept_but_left_out_until_lifted(api: TestClient) -> None:
    followed = recorded_client(api, "131052-308T", REVIEW)
    reported = register_for_compensation(
        api,
        "Kiintiö",
        date(1985, 1, 1),
        101,
        quota_refugee=True,
        first_home_municipality_on="2024-06-15",
        home_municipality="320",
    )
    eventually(lambda: in_export(api, followed), what="the export to hold the client")
    eventually(lambda: reported in compensated(api), what="the report to name the client")
    for client_id in (followed, reported):
        eventually(lambda c=client_id: row(api, c), what="caseload rows")  # type: ignore[misc]
    reminders = f"/clients/{followed}/reminders"
    # The case's own reads in assessment and plans, each answered from that service's store.
    case_reads = (
        f"/clients/{followed}/assessment",
        f"/clients/{followed}/assessment/responsibility",
        f"/clients/{followed}/plan",
    )
    for path in (reminders, *case_reads):
        eventually(lambda p=path: api.get(p, headers=ACTOR).is_success, what=path)  # type: ignore[misc]

    # Caseworkers do not restrict; a reason is required.
    body = {"reason": REASON}
    assert api.post(f"/clients/{followed}/restriction", json=body, headers=ACTOR).status_code == 403
    assert (
        api.post(f"/clients/{followed}/restriction", json={}, headers=SUPERVISOR).status_code == 422
    )
    for client_id in (followed, reported):
        placed = api.post(f"/clients/{client_id}/restriction", json=body, headers=SUPERVISOR)
        assert placed.status_code == 200, placed.text
        assert placed.json() == {"client_id": client_id, "restricted": True, "reason": REASON}
    # Placing it again changes nothing.
    again = api.post(f"/clients/{followed}/restriction", json=body, headers=SUPERVISOR)
    assert again.json()["restricted"] is True

    # Reads say only that the data is restricted; lists and exports leave the client out.
    assert restricted_answer(api.get(f"/clients/{followed}", headers=ACTOR))
    eventually(lambda: row(api, followed) is None, what="the caseload to leave the client out")
    eventually(lambda: row(api, reported) is None, what="the caseload to leave the client out")
    timeline = api.get(f"/clients/{followed}/timeline", headers=ACTOR)
    assert restricted_answer(timeline)
    assert "Olena" not in timeline.text and "Kovalenko" not in timeline.text
    for path in (reminders, *case_reads):
        eventually(
            lambda p=path: restricted_answer(api.get(p, headers=ACTOR)),  # type: ignore[misc]
            what=f"{path} to say only that it is restricted",
        )
    assert not in_export(api, followed)
    assert reported not in compensated(api)
    # A command's answer would show the case as a read does: those that use the data wait.
    worker = {"worker": "anna.virtanen"}
    assert restricted_answer(api.post(f"/clients/{followed}/worker", json=worker, headers=ACTOR))
    review = {"reviewed_on": "2025-09-01"}
    eventually(
        lambda: restricted_answer(
            api.post(f"/clients/{followed}/plan/review", json=review, headers=ACTOR)
        ),
        what="plans to refuse a command while restricted",
    )
    # The data is kept: the restriction's own record still answers a supervisor.
    shown = api.get(f"/clients/{followed}/restriction", headers=SUPERVISOR).json()
    assert shown == {"client_id": followed, "restricted": True, "reason": REASON}
    # Kept, and the person's right of access goes on: the copy shows the data and the
    # restriction itself (GDPR Art. 15, 18(2)).
    copy = api.get(f"/clients/{followed}/subject-access", headers=SUPERVISOR)
    assert copy.status_code == 200, copy.text
    assert copy.json()["identity"]["family_name"] == "Kovalenko"
    assert copy.json()["restricted"] is True
    assert "ProcessingRestricted" in {r["event_type"] for r in copy.json()["client"]}
    document = api.get(
        f"/clients/{followed}/subject-access", params={"format": "html"}, headers=SUPERVISOR
    )
    assert "The processing of your data is restricted" in document.text

    lifted_because = "The data was checked and corrected (GDPR Art. 18(3))"
    for client_id in (followed, reported):
        lifted = api.post(
            f"/clients/{client_id}/restriction/lift",
            json={"reason": lifted_because},
            headers=SUPERVISOR,
        )
        assert lifted.status_code == 200, lifted.text
        assert lifted.json()["restricted"] is False

    eventually(lambda: row(api, followed), what="the client back in the caseload")
    eventually(lambda: row(api, reported), what="the client back in the caseload")
    assert api.get(f"/clients/{followed}", headers=ACTOR).status_code == 200
    assert api.post(f"/clients/{followed}/worker", json=worker, headers=ACTOR).is_success
    for path in (reminders, *case_reads):
        eventually(lambda p=path: api.get(p, headers=ACTOR).is_success, what=f"{path} again")  # type: ignore[misc]
    assert in_export(api, followed)
    assert reported in compensated(api)
    # Who, when and why of both, on the client's timeline.
    entries = api.get(f"/clients/{followed}/timeline", headers=ACTOR).json()
    said = [
        (e["event_type"], e["actor"]["id"], e["reason"])
        for e in entries
        if e["event_type"] in {"ProcessingRestricted", "RestrictionLifted"}
    ]
    assert said == [
        ("ProcessingRestricted", "sanna.lahtinen", REASON),
        ("RestrictionLifted", "sanna.lahtinen", lifted_because),
    ]


async def test_no_letter_goes_out_while_restricted_and_held_ones_go_after(
    outbox: Outbox,  # noqa: F811
    smtp: SmtpServer,  # noqa: F811
) -> None:
    client_id, plan_id = uuid4(), uuid4()
    outbox.publish(contracts.EnrolmentDue, enrolment_due(client_id, plan_id, date(2025, 3, 13)))
    restricted = contracts.ProcessingRestrictedData(client_id=client_id, reason=REASON)
    outbox.publish(contracts.ProcessingRestricted, restricted, source="intake")
    assert outbox.app.letters_of(client_id).restricted

    # The reminder's hour comes and goes: nothing is sent, and it stays to be sent.
    assert await outbox.tick(datetime(2025, 3, 10, 8, 1, tzinfo=HELSINKI)) == 0
    assert await outbox.tick(datetime(2025, 3, 10, 9, 0, tzinfo=HELSINKI)) == 0
    assert smtp.inbox.received == []
    # A dispatcher started afresh holds it too.
    outbox.dispatcher = Dispatcher(outbox.app, outbox.dispatcher.channels)
    assert await outbox.tick() == 0
    assert outbox.public("NotificationSent") == []

    lifted = contracts.RestrictionLiftedData(client_id=client_id, reason="checked")
    outbox.publish(contracts.RestrictionLifted, lifted, source="intake", version=2)
    assert not outbox.app.letters_of(client_id).restricted
    assert await outbox.tick() == 1  # the held reminder, now
    [(recipients, _)] = smtp.inbox.received
    assert recipients == ["kotoutus@kemijarvi.example"]
    assert len(outbox.public("NotificationSent")) == 1
    assert outbox.clock.now > MONDAY_7


def test_an_attempt_interrupted_while_restricted_is_not_made_again() -> None:
    client_id = uuid4()
    at = datetime(2025, 3, 10, 8, 0, tzinfo=HELSINKI)
    provenance = Provenance.system("notifications", "municipality:320", at)
    letters = ClientOutbox(client_id=client_id, provenance=provenance)
    letters.schedule(
        provenance=provenance,
        message_id="m1",
        kind="referral_notice",
        audience="partner",
        channel="webhook",
        recipient="partner:adult_education_institute",
        language=None,
        send_at=at,
        cause="referral_notice:1",
        facts={},
    )
    assert letters.start(provenance=provenance, message_id="m1", now=at)
    assert letters.hold(provenance=provenance, reason=REASON)
    assert not letters.hold(provenance=provenance, reason=REASON)  # once
    # The process died mid-send; the webhook would take a repeat, but nothing starts now.
    assert letters.interrupted(provenance=provenance, message_id="m1", receiver_deduplicates=True)
    assert letters.messages["m1"].state is MessageState.FAILED
    assert letters.messages["m1"].reason == INTERRUPTED
