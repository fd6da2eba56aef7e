"""Aggregates decide; contracts carry their decisions. No I/O here."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from uuid import uuid4

import pytest

from kotoutus.registry import SERVICES
from services.assessment.domain import InitialAssessment
from services.assessment.errors import (
    AssessmentAlreadyStartedError,
    AssessmentNotStartedError,
    DateBeforeError,
)
from services.assessment.model import Interview, OpenedBy
from services.notifications.domain import ClientReminders, ReminderState
from shared.contracts import CONTRACTS, ContractError, parse_event
from shared.law import rulebook
from shared.law.deadlines import deadline
from shared.values import Provenance

INTERVIEW = Interview.model_validate(
    {
        "interviewer": "official:maria",
        "interviewer_is_official": True,
        "language": "so",
        "interpreter": {"kind": "professional", "language": "so"},
    }
)
WHEN = datetime(2025, 1, 10, 9, 30, tzinfo=UTC)
BY = Provenance.system("test", "municipality:320", WHEN)


def new_assessment() -> InitialAssessment:
    due = deadline(rulebook(), "assessment.start_deadline", date(2024, 12, 31))
    assessment = InitialAssessment(
        client_id=uuid4(),
        provenance=BY,
        opened_by=OpenedBy.GROUP,
        group="social_assistance",
        deadline=due,
        responsible_organisation="municipality:320",
        legal_basis=due.legal_basis,
    )
    assessment.collect_events()
    return assessment


# rule, start of the period → nominal last day, due day (rolled to a working day), law used
YEAR_PERIODS = [
    # Years end on the same day number, or on the month's last day (150/1930 §3); 28 Feb 2027
    # is a Sunday, so the act may still be done on Monday (§5).
    ("plan.first_within_permit", "2024-02-29", "2027-02-28", "2027-03-01", "1386/2010"),
    ("plan.first_within_permit", "2021-03-01", "2024-03-01", "2024-03-01", "1386/2010"),
    ("plan.first_within_permit", "2023-12-31", "2026-12-31", "2026-12-31", "1386/2010"),
]


@pytest.mark.parametrize(("rule_id", "start", "nominal", "due", "law"), YEAR_PERIODS)
def test_year_periods_are_counted(
    rule_id: str, start: str, nominal: str, due: str, law: str
) -> None:
    result = deadline(rulebook(), rule_id, date.fromisoformat(start))
    assert result.nominal == date.fromisoformat(nominal)
    assert result.due == date.fromisoformat(due)
    assert result.rule.law == law
    assert result.rule.id == rule_id


def test_assessment_must_start_before_it_completes() -> None:
    assessment = new_assessment()
    with pytest.raises(AssessmentNotStartedError):
        assessment.complete(
            provenance=BY, completed_on=date(2025, 1, 20), plan_needed=True, reason="r"
        )
    assessment.start(provenance=BY, started_on=date(2025, 1, 15), interview=INTERVIEW)
    with pytest.raises(AssessmentAlreadyStartedError):
        assessment.start(provenance=BY, started_on=date(2025, 1, 16), interview=INTERVIEW)
    with pytest.raises(DateBeforeError):
        assessment.complete(
            provenance=BY, completed_on=date(2025, 1, 1), plan_needed=True, reason="r"
        )


def test_completing_decides_the_plan_need_in_the_same_step() -> None:
    assessment = new_assessment()
    assessment.start(provenance=BY, started_on=date(2025, 1, 15), interview=INTERVIEW)
    assessment.complete(
        provenance=BY, completed_on=date(2025, 1, 20), plan_needed=False, reason="r"
    )
    kinds = [type(e).__name__ for e in assessment.collect_events()]
    assert kinds == ["Started", "Completed", "PlanNeedDecided"]
    assert assessment.plan_needed is False


def test_reminders_do_not_depend_on_message_order() -> None:
    book = ClientReminders(client_id=uuid4(), provenance=BY)
    # The step is reported done before its deadline is announced: no reminder goes out.
    book.cancel(provenance=BY, reminder_key="assessment-start:x", reason="started")
    book.schedule(
        provenance=BY,
        reminder_key="assessment-start:x",
        deadline_kind="assessment-start",
        due=date(2025, 2, 28),
        remind_on=date(2025, 2, 28),
        responsible_organisation="municipality:320",
    )
    assert book.reminders["assessment-start:x"].state is ReminderState.CANCELLED
    # The same deadline announced twice is scheduled once.
    for _ in range(2):
        book.schedule(
            provenance=BY,
            reminder_key="plan-preparation:y",
            deadline_kind="plan-preparation",
            due=date(2025, 3, 3),
            remind_on=date(2025, 3, 3),
            responsible_organisation="municipality:320",
        )
    names = [type(e).__name__ for e in book.collect_events()]
    assert names == ["Opened", "ReminderCancelled", "ReminderScheduled"]


def test_every_public_mapping_names_a_real_event_and_contract() -> None:
    for service in SERVICES.values():
        app_module = service.application.__module__.replace("application", "domain")
        domain = __import__(app_module, fromlist=["_"])
        for qualname, contract in service.publishes.contracts.items():
            aggregate, event_name = qualname.split(".")
            assert hasattr(getattr(domain, aggregate), event_name), qualname
            assert CONTRACTS[contract.EVENT_TYPE] is contract


def _valid_body() -> dict[str, object]:
    client = str(uuid4())
    return {
        "message_id": str(uuid4()),
        "event_type": "ClientRegistered",
        "schema_version": 1,
        "source": "intake",
        "position": 1,
        "aggregate_id": client,
        "aggregate_version": 1,
        "occurred_at": "2025-01-10T09:00:00+02:00",
        "recorded_at": "2025-01-10T07:00:01+00:00",
        "actor": {"id": "caseworker:a", "kind": "user"},
        "organisation": "municipality:320",
        "data": {
            "client_id": client,
            "relationship_started_on": "2025-01-10",
            "registered_jobseeker": False,
            "responsible_organisation": "municipality:320",
        },
    }


def test_a_consumer_ignores_fields_it_does_not_know() -> None:
    body = _valid_body()
    body["added_in_a_later_version"] = True
    body["data"]["nickname"] = "x"  # type: ignore[index]
    event = parse_event(json.dumps(body), CONTRACTS)
    assert event.event_type == "ClientRegistered"


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"\xff\xfe", "not JSON"),
        (b"[1, 2]", "not a JSON object"),
        (b'{"event_type": "Nope"}', "unknown event_type 'Nope'"),
        (b'{"event_type": "ClientRegistered", "schema_version": 1}', "message_id: Field required"),
    ],
)
def test_a_message_no_contract_accepts_says_why(body: bytes, reason: str) -> None:
    with pytest.raises(ContractError, match=reason):
        parse_event(body, CONTRACTS)


def test_business_time_must_carry_its_time_zone() -> None:
    body = _valid_body()
    body["occurred_at"] = "2025-01-10T09:00:00"
    with pytest.raises(ContractError, match="occurred_at"):
        parse_event(json.dumps(body), CONTRACTS)


def test_value_objects_keep_the_names_they_were_stored_under() -> None:
    """Contracts moved beside their producers (shared/contracts/intake.py, plans.py); events
    stored before hold their value objects under the old module names and must still load."""
    from eventsourcing.persistence import JSONTranscoder

    from shared.contracts.intake import ClientFacts, Eligibility, PersonalDetails
    from shared.contracts.plans import ReviewContent
    from shared.eventstore import pydantic_transcoding

    transcoder = JSONTranscoder()
    for model in (PersonalDetails, ClientFacts, Eligibility, ReviewContent):
        transcoder.register(pydantic_transcoding(model))
    stored = (
        b'{"facts":{"_type_":"shared.contracts.clients.ClientFacts",'
        b'"_data_":{"mother_tongue":"uk"}},'
        b'"review":{"_type_":"shared.contracts.records.ReviewContent",'
        b'"_data_":{"hindrances":["childcare"]}}}'
    )
    decoded = transcoder.decode(stored)
    assert decoded["facts"] == ClientFacts(mother_tongue="uk")
    assert decoded["review"].hindrances == ("childcare",)
    assert transcoder.encode({"facts": ClientFacts()}) == transcoder.encode(
        transcoder.decode(transcoder.encode({"facts": ClientFacts()}))
    )
    assert b"shared.contracts.clients.ClientFacts" in transcoder.encode({"facts": ClientFacts()})
