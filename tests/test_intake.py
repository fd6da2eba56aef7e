"""Intake: identities, eligibility and responsibility, corrections, inbound facts, erasure."""

from __future__ import annotations

import copy
import json
import os
import sqlite3
import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest
from fastapi.testclient import TestClient
from pydantic import TypeAdapter, ValidationError

from kotoutus.embedded import EmbeddedSystem
from services.intake.eligibility import determine_eligibility
from services.intake.keys import SQLiteClientKeys
from services.intake.model import ClientFacts, PersonalDetails, ResidencePermit
from shared.contracts.inbound import INBOUND, AddressChanged, HomeMunicipalityRegistered, example
from shared.identity import IdentityCode, birth_date_of, validate_identity_code
from shared.law import rulebook
from shared.messaging.errors import reason
from tests.support import ACTOR, INTEGRATION, bearer, files_decompressed

CHECK = "0123456789ABCDEFHJKLMNPRSTUVWXY"


def identity_code(birth: str, sign: str, individual: str) -> str:
    """DDMMYY + sign + ZZZ + check character = DDMMYYZZZ mod 31 (DOMAIN.md §5)."""
    return f"{birth}{sign}{individual}{CHECK[int(birth + individual) % 31]}"


@pytest.mark.parametrize(
    ("birth", "sign"),
    [("010594", s) for s in "-YXWVU"] + [("010516", s) for s in "ABCDEF"] + [("311299", "+")],
)
@pytest.mark.parametrize("individual", ["002", "899", "900", "999"])
def test_every_century_sign_and_temporary_numbers_are_valid(
    birth: str, sign: str, individual: str
) -> None:
    code = identity_code(birth, sign, individual)
    assert validate_identity_code(code.lower()) == code


# DVV's fictitious test persons for the new century signs (DVV's published test-code table).
DVV_TEST_CODES = [
    "010594Y9032",
    "010594Y9021",
    "020594X903P",
    "020594X902N",
    "030594W903B",
    "030694W9024",
    "040594V9030",
    "040594V902Y",
    "050594U903M",
    "050594U902L",
    "010516B903X",
    "010516B902W",
    "020516C903K",
    "020516C902J",
    "030516D9037",
    "030516D9026",
    "010501E9032",
    "020502E902X",
    "020503F9037",
    "020504A902E",
    "020504B904H",
]


@pytest.mark.parametrize("code", DVV_TEST_CODES)
def test_dvv_test_codes_are_valid(code: str) -> None:
    assert validate_identity_code(code) == code
    # One wrong check character, and the code is refused.
    wrong = code[:10] + CHECK[(CHECK.index(code[10]) + 1) % 31]
    with pytest.raises(ValueError, match="check character"):
        validate_identity_code(wrong)


def test_the_century_sign_is_part_of_the_code() -> None:
    # DVV's example: 100190-999P and 100190Y999P are two different people.
    assert validate_identity_code("100190-999P") != validate_identity_code("100190Y999P")


@pytest.mark.parametrize(
    ("code", "why"),
    [
        ("131052-308T", None),  # the Population Register Centre's published example
        ("131052-308U", "check character"),
        ("320152-308T", "birth date or century sign"),
        ("131052G308T", "not a personal identity code"),
        ("131052-308", "11 characters"),
    ],
)
def test_identity_codes_are_checked_in_full(code: str, why: str | None) -> None:
    if why is None:
        assert validate_identity_code(code) == code
    else:
        with pytest.raises(ValueError, match=why):
            validate_identity_code(code)


# Born 13 Oct 2052 by its century sign: the check character cannot catch a wrong sign.
FUTURE_BORN = "131052A308T"


@pytest.mark.parametrize(
    ("today", "refused"), [(date(2052, 10, 12), True), (date(2052, 10, 13), False)]
)
def test_an_identity_code_born_after_today_is_refused(
    monkeypatch: pytest.MonkeyPatch, today: date, refused: bool
) -> None:
    noon = datetime(today.year, today.month, today.day, 12, tzinfo=UTC)
    monkeypatch.setattr("shared.identity.utc_now", lambda: noon)
    code = TypeAdapter(IdentityCode)
    if refused:
        with pytest.raises(ValueError, match="in the future"):
            code.validate_python(FUTURE_BORN)
    else:
        assert code.validate_python(FUTURE_BORN) == FUTURE_BORN


@pytest.mark.parametrize(
    ("code", "born"),
    [
        ("131052-308T", date(1952, 10, 13)),
        (identity_code("311299", "+", "002"), date(1899, 12, 31)),
        (identity_code("010594", "Y", "903"), date(1994, 5, 1)),
        (identity_code("010516", "F", "999"), date(2016, 5, 1)),  # temporary: a real date
    ],
)
def test_the_birth_date_is_read_from_the_code(code: str, born: date) -> None:
    assert birth_date_of(code) == born


@pytest.fixture
def api(embedded: EmbeddedSystem) -> Iterator[TestClient]:
    with TestClient(embedded.api()) as client:
        yield client


def registration(**personal: Any) -> dict[str, Any]:
    return {
        "relationship_started_on": "2025-02-03",
        "personal": {"given_names": "Olena", "family_name": "Kovalenko", **personal},
        "facts": {
            "mother_tongue": "uk",
            "residence_permit": {
                "type": "temporary_protection",
                "ground_section": "109",
                "first_permit_on": "2024-11-20",
            },
        },
    }


def register(api: TestClient, **personal: Any) -> dict[str, Any]:
    response = api.post("/clients", json=registration(**personal), headers=ACTOR)
    assert response.status_code == 201, response.text
    return dict(response.json())


@pytest.mark.parametrize(
    ("change", "pointer", "code"),
    [
        ({"personal": {"identity_code": "131052-308U"}}, "/personal/identity_code",
         "identity_code_check"),
        ({"personal": {"identity_code": FUTURE_BORN}}, "/personal/identity_code",
         "identity_code_in_future"),
        ({"personal": {"identity_code": "131052-308T", "birth_date": "1952-10-14"}},
         "/personal/birth_date", "identity_code_birth_date_mismatch"),
        # A birth date read from the code is checked as a typed one is.
        ({"personal": {"identity_code": identity_code("011224", "A", "002")}},
         "/facts/residence_permit/first_permit_on", "first_permit_before_birth"),
        ({"facts": {"mother_tongue": "xx"}}, "/facts/mother_tongue", "language_code"),
        ({"relationship_started_on": "2999-01-01"}, "/relationship_started_on",
         "relationship_started_in_future"),
        ({"personal": {"birth_date": "2025-01-01"}}, "/facts/residence_permit/first_permit_on",
         "first_permit_before_birth"),
        ({"facts": {"citizenship": ["XX"]}}, "/facts/citizenship/0", "country_code"),
    ],
)  # fmt: skip
def test_bad_input_is_answered_422_with_what_is_wrong(
    api: TestClient, change: dict[str, Any], pointer: str, code: str
) -> None:
    body = registration()
    for key, value in change.items():
        body[key] = {**body[key], **value} if isinstance(value, dict) else value
    response = api.post("/clients", json=body, headers=ACTOR)
    assert response.status_code == 422
    assert response.headers["Content-Type"] == "application/problem+json"
    [error] = response.json()["errors"]
    assert (error["in"], error["pointer"], error["code"]) == ("body", pointer, code)
    assert error["detail"]  # what is wrong, in words; never the value
    submitted = body["personal"].get("identity_code")
    assert submitted is None or submitted not in response.text


def test_a_client_without_a_code_gets_one_later_and_stays_one_client(api: TestClient) -> None:
    client = register(api, migri_customer_number="1234567")
    client_id = client["client_id"]
    found = api.post(
        "/clients/lookup", json={"kind": "migri_customer_number", "value": "1234567"}, headers=ACTOR
    )
    assert found.json()["client_id"] == client_id
    corrected = api.post(
        f"/clients/{client_id}/corrections",
        json={"personal": {"identity_code": "131052-308T"}, "reason": "DVV assigned a code"},
        headers=ACTOR,
    )
    assert corrected.status_code == 200, corrected.text
    assert corrected.json()["personal"]["migri_customer_number"] == "1234567"
    assert corrected.json()["personal"]["birth_date"] == "1952-10-13"  # read from the code
    lookup = {"kind": "identity_code", "value": "131052-308t"}
    assert api.post("/clients/lookup", json=lookup, headers=ACTOR).json()["client_id"] == client_id
    other = api.post("/clients", json=registration(identity_code="131052-308T"), headers=ACTOR)
    assert other.status_code == 409
    assert other.json()["code"] == "identifier_in_use"


def test_the_century_sign_tells_two_people_apart(api: TestClient) -> None:
    first = register(api, identity_code=identity_code("010190", "-", "999"))
    second = register(api, identity_code=identity_code("010190", "Y", "999"))
    assert first["client_id"] != second["client_id"]


FACTS_2025 = ClientFacts(
    residence_permit=ResidencePermit(
        type="A", ground_section="87", first_permit_on=date(2024, 6, 1)
    )
)


@pytest.mark.parametrize(
    ("facts", "on", "in_scope", "group", "law"),
    [
        (FACTS_2025, date(2024, 12, 31), True, "on_request", "1386/2010"),
        (FACTS_2025.model_copy(update={"registered_jobseeker": True}), date(2024, 12, 31), True,
         "unemployed_jobseeker", "1386/2010"),
        (FACTS_2025.model_copy(update={"quota_refugee": True}), date(2025, 1, 1), True,
         "international_protection", "681/2023"),
        (FACTS_2025, date(2025, 1, 1), True, "other_in_need", "681/2023"),
        # From 2025 the unemployed jobseeker (681/2023 §14(1)(1)), not every registered one.
        (FACTS_2025.model_copy(update={"registered_jobseeker": True}), date(2025, 1, 1), True,
         "other_in_need", "681/2023"),
        (FACTS_2025.model_copy(update={"registered_jobseeker": True, "unemployed": True}),
         date(2025, 1, 1), True, "unemployed_jobseeker", "681/2023"),
        # The first permit is over three years old under the new law …
        (FACTS_2025, date(2027, 6, 2), False, None, "681/2023"),
        # … which does not bind trafficking victims.
        (FACTS_2025.model_copy(update={"trafficking_victim": True}), date(2027, 6, 2), True,
         "trafficking_victim", "681/2023"),
        (ClientFacts(), date(2025, 1, 1), False, None, "681/2023"),
    ],
)  # fmt: skip
def test_eligibility_by_the_law_of_the_day(
    facts: ClientFacts, on: date, in_scope: bool, group: str | None, law: str
) -> None:
    eligibility, rule = determine_eligibility(rulebook(), facts, on)
    assert (eligibility.in_scope, eligibility.group, rule.law) == (in_scope, group, law)
    assert eligibility.reasons


def test_a_trafficking_victim_is_assessed_late_only_if_first_reached_late() -> None:
    """681/2023 §14(6): after the three years only if first reached after they ran out."""
    victim = FACTS_2025.model_copy(update={"trafficking_victim": True})  # permit 2024-06-01
    late = date(2027, 6, 2)  # the permit is over three years old
    reached_late, _ = determine_eligibility(rulebook(), victim, late, reached_on=late)
    assert (reached_late.in_scope, reached_late.group) == (True, "trafficking_victim")
    reached_in_time, _ = determine_eligibility(
        rulebook(), victim, late, reached_on=date(2025, 3, 3)
    )
    assert not reached_in_time.in_scope
    assert "over 3 years old" in " ".join(reached_in_time.reasons)


def test_a_status_change_decides_again_and_records_the_transfer(
    api: TestClient, embedded: EmbeddedSystem
) -> None:
    client_id = register(api)["client_id"]
    assert api.get(f"/clients/{client_id}", headers=ACTOR).json()["responsible_organisation"] == (
        "municipality:320"
    )
    changed = api.post(
        f"/clients/{client_id}/facts",
        json={
            "changes": {"registered_jobseeker": True, "unemployed": True},
            "effective_on": "2025-03-03",
        },
        headers=ACTOR,
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["responsible_organisation"] == "employment_authority:320"
    assert changed.json()["eligibility"]["group"] == "unemployed_jobseeker"
    events = _public_events(embedded, client_id)
    transferred = events["ResponsibilityTransferred"]
    assert transferred["data"]["from_organisation"] == "municipality:320"
    assert transferred["data"]["to_organisation"] == "employment_authority:320"
    assert transferred["legal_basis"][0]["law"] == "681/2023"
    # The client is now the employment authority's: the municipality's caseworker is refused.
    now_theirs = {"changes": {"registered_jobseeker": True}, "effective_on": "2025-03-04"}
    refused = api.post(f"/clients/{client_id}/facts", json=now_theirs, headers=ACTOR)
    assert refused.status_code == 403
    assert refused.json()["code"] == "client_of_another_organisation"
    theirs = bearer(organisation="employment_authority:320", subject="eero.koski")
    # The same facts again change nothing.
    again = api.post(f"/clients/{client_id}/facts", json=now_theirs, headers=theirs)
    assert again.json()["version"] == changed.json()["version"]
    bad = api.post(
        f"/clients/{client_id}/facts",
        json={"changes": {"mother_tongue": "klingon"}, "effective_on": "2025-03-04"},
        headers=theirs,
    )
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["pointer"] == "/changes/mother_tongue"


def _public_events(system: EmbeddedSystem, client_id: str) -> dict[str, dict[str, Any]]:
    node = system.nodes["intake"]
    found = {}
    for notification in node.app.recorder.select_notifications(1, 10_000):
        event = node.service.publishes.to_public(
            notification.id, node.app.mapper.to_domain_event(notification)
        )
        if event is not None and str(event.aggregate_id) == client_id:
            found[event.event_type] = json.loads(event.model_dump_json())
    return found


def inbound(model: type[Any], message_id: str | None = None, **data: Any) -> dict[str, Any]:
    message = example(model, message_id or str(uuid4()))
    message["data"] = {**copy.deepcopy(model.EXAMPLE), **data}
    return message


def test_inbound_facts_register_update_and_are_applied_once(api: TestClient) -> None:
    first = inbound(HomeMunicipalityRegistered, message_id="dvv-1")
    assert api.post("/inbound", json=first, headers=INTEGRATION).json() == {"outcome": "registered"}
    assert api.post("/inbound", json=first, headers=INTEGRATION).json() == {"outcome": "duplicate"}
    code = {"kind": "identity_code", "value": "131052-308T"}
    client_id = api.post("/clients/lookup", json=code, headers=ACTOR).json()["client_id"]
    assert client_id

    jobseeker = inbound(INBOUND["fi.employment.jobseeker-registration-started.v1"])
    assert api.post("/inbound", json=jobseeker, headers=INTEGRATION).json() == {
        "outcome": "updated"
    }
    theirs = bearer(organisation="employment_authority:320")
    client = api.get(f"/clients/{client_id}", headers=theirs).json()
    assert client["facts"]["registered_jobseeker"] is True
    assert client["facts"]["home_municipality"] == "320"
    assert client["responsible_organisation"] == "employment_authority:320"


def test_facts_that_disagree_raise_a_conflict_that_staff_resolve(api: TestClient) -> None:
    client_id = register(api, identity_code="131052-308T", birth_date="1952-10-13")["client_id"]
    disagreeing = inbound(
        HomeMunicipalityRegistered,
        person={"identity_code": "131052-308T", "family_name": "Kovalenko-Smith"},
    )
    assert api.post("/inbound", json=disagreeing, headers=INTEGRATION).json() == {
        "outcome": "conflict"
    }
    client = api.get(f"/clients/{client_id}", headers=ACTOR).json()
    assert client["personal"]["family_name"] == "Kovalenko"  # not overwritten
    assert client["facts"]["home_municipality"] == "320"  # what agreed was applied
    [(conflict_id, field)] = client["open_conflicts"].items()
    assert field == "family_name"
    resolved = api.post(
        f"/clients/{client_id}/conflicts/{conflict_id}/resolve",
        json={"accept": True, "reason": "married name, seen in passport"},
        headers=ACTOR,
    )
    assert resolved.status_code == 200, resolved.text
    assert resolved.json()["personal"]["family_name"] == "Kovalenko-Smith"
    assert resolved.json()["open_conflicts"] == {}


def test_identifiers_that_name_two_clients_change_neither(api: TestClient) -> None:
    one = register(api, identity_code="131052-308T")["client_id"]
    two = register(api, migri_customer_number="7654321")["client_id"]
    both = inbound(
        HomeMunicipalityRegistered,
        person={"identity_code": "131052-308T", "migri_customer_number": "7654321"},
    )
    assert api.post("/inbound", json=both, headers=INTEGRATION).json() == {"outcome": "conflict"}
    for client_id in (one, two):
        client = api.get(f"/clients/{client_id}", headers=ACTOR).json()
        assert list(client["open_conflicts"].values()) == ["identifiers"]
        assert client["facts"]["home_municipality"] is None


@pytest.mark.parametrize(
    ("code", "birth_date", "group"),
    [
        ("131052-308T", "1952-10-13", "65+"),
        (identity_code("010190", "-", "999"), "1990-01-01", "30-64"),  # temporary
        (identity_code("040518", "A", "902"), "2018-05-04", "0-6"),
    ],
)
def test_the_birth_date_and_age_group_come_from_the_identity_code(
    api: TestClient, code: str, birth_date: str, group: str
) -> None:
    registered = register(api, identity_code=code)
    assert registered["personal"]["birth_date"] == birth_date
    assert registered["age_group"] == group  # on 2025-02-03, the start of the relationship
    # Erased, the code is free: a message from another system registers the person anew.
    erase = {"legal_ground": "GDPR 17(1)(a)"}
    assert api.post(
        f"/clients/{registered['client_id']}/erase", json=erase, headers=ACTOR
    ).is_success
    message = inbound(HomeMunicipalityRegistered, person={"identity_code": code})
    assert api.post("/inbound", json=message, headers=INTEGRATION).json() == {
        "outcome": "registered"
    }
    lookup = {"kind": "identity_code", "value": code}
    client_id = api.post("/clients/lookup", json=lookup, headers=ACTOR).json()["client_id"]
    client = api.get(f"/clients/{client_id}", headers=ACTOR).json()
    assert client["personal"]["birth_date"] == birth_date
    assert client["age_group"] == group


def test_an_identity_code_born_in_the_future_is_refused_everywhere(api: TestClient) -> None:
    message = inbound(HomeMunicipalityRegistered, person={"identity_code": FUTURE_BORN})
    refused = api.post("/inbound", json=message, headers=INTEGRATION)
    assert refused.status_code == 422
    assert "data.person.identity_code" in refused.json()["message"]
    assert "in the future" in refused.json()["message"]
    assert FUTURE_BORN not in refused.text  # personal input is not echoed
    client_id = register(api, migri_customer_number="1234567")["client_id"]
    correction = {"personal": {"identity_code": FUTURE_BORN}, "reason": "DVV gave a code"}
    wrong = api.post(f"/clients/{client_id}/corrections", json=correction, headers=ACTOR)
    assert wrong.status_code == 422
    [error] = wrong.json()["errors"]
    assert error["pointer"] == "/personal/identity_code"
    assert error["code"] == "identity_code_in_future"
    # As a dead letter's reason, over AMQP, the same words name the field.
    with pytest.raises(ValidationError) as caught:
        PersonalDetails.model_validate({"identity_code": FUTURE_BORN})
    assert "identity_code" in reason(caught.value) and "in the future" in reason(caught.value)


def test_inbound_messages_that_cannot_be_accepted_say_why(api: TestClient) -> None:
    died = inbound(INBOUND["fi.dvv.died.v1"], person={"foreign_id": "X-1"})
    unknown = api.post("/inbound", json=died, headers=INTEGRATION)
    assert unknown.status_code == 409
    assert unknown.json()["code"] == "unknown_person"
    nameless = inbound(HomeMunicipalityRegistered, person={"given_names": "Olena"})
    refused = api.post("/inbound", json=nameless, headers=INTEGRATION)
    assert refused.status_code == 422
    assert "data.person" in refused.json()["message"]
    assert "needs an identifier" in refused.json()["message"]
    wrong_type = {**inbound(HomeMunicipalityRegistered), "type": "fi.dvv.unknown.v9"}
    assert (
        "unknown type"
        in api.post("/inbound", json=wrong_type, headers=INTEGRATION).json()["message"]
    )


def test_erasure_leaves_statistics_and_a_tombstone(
    api: TestClient, embedded: EmbeddedSystem, embedded_settings: Any
) -> None:
    client_id = register(api, identity_code="131052-308T", birth_date="1952-10-13")["client_id"]
    erased = api.post(
        f"/clients/{client_id}/erase",
        json={"legal_ground": "GDPR 17(1)(a): retention period ended"},
        headers=ACTOR,
    )
    assert erased.status_code == 200, erased.text
    view = erased.json()
    assert view["erased"] is True and view["personal"] is None
    assert view["age_group"] == "65+"
    assert view["facts"]["mother_tongue"] == "uk"
    lookup = {"kind": "identity_code", "value": "131052-308T"}
    assert api.post("/clients/lookup", json=lookup, headers=ACTOR).json()["client_id"] is None
    erasure = _public_events(embedded, client_id)["ClientErased"]
    assert erasure["actor"] == {"id": "anna.virtanen", "kind": "user"}
    assert erasure["data"]["legal_ground"].startswith("GDPR 17(1)(a)")
    # Every stored event of the client, the first included, now reads without the person.
    intake = embedded.nodes["intake"].app
    stored = list(intake.events.get(UUID(client_id)))
    assert stored and all(getattr(e, "personal", None) is None for e in stored)
    # A replay from the first event still works, and shows no person.
    fresh = EmbeddedSystem(embedded_settings)
    try:
        client = fresh.nodes["intake"].app.repository.get(UUID(client_id))
        assert client.personal is None and client.erased
    finally:
        fresh.close()


def test_an_erased_persons_key_is_gone_from_every_file_of_the_keys_store(
    api: TestClient, embedded: EmbeddedSystem, embedded_settings: Any
) -> None:
    # Crypto-shredding holds only if the wrapped key is nowhere on disk afterwards: not in the
    # row's old bytes left in its page, not in a journal or write-ahead log beside the file.
    client_id = register(api, identity_code=identity_code("121160", "-", "911"))["client_id"]
    other_id = register(api, identity_code=identity_code("131161", "-", "922"))["client_id"]
    path = embedded_settings.data_dir / "intake-keys.sqlite"
    with sqlite3.connect(path) as connection:
        wrapped = dict(connection.execute("SELECT client_id, wrapped FROM client_keys"))
    theirs, kept = bytes(wrapped[client_id]), bytes(wrapped[other_id])

    erased = api.post(
        f"/clients/{client_id}/erase", json={"legal_ground": "GDPR 17(1)(a)"}, headers=ACTOR
    )
    assert erased.status_code == 200, erased.text

    files = b"".join(f.read_bytes() for f in path.parent.glob("intake-keys.sqlite*"))
    assert theirs not in files
    assert kept in files  # the scan reads where keys are: the other person's is found


def test_erasure_reaches_the_dead_letters(api: TestClient, embedded: EmbeddedSystem) -> None:
    code = identity_code("070485", "-", "518")
    person = {
        "identity_code": code,
        "birth_date": "1985-04-07",
        "given_names": "Ljudmyla",
        "foreign_id": "A1",  # short: must not match other letters by chance
    }
    client_id = register(api, **person)["client_id"]
    other_id = register(api, identity_code=identity_code("080586", "-", "627"))["client_id"]
    registered = json.dumps(_public_events(embedded, client_id)["ClientRegistered"]).encode()
    assert b"Ljudmyla" in registered
    letters = embedded.dead_letters
    # What a consumer could not apply, and another system's message naming the person.
    letters.add("readside", "m-registered", "intake.ClientRegistered", registered, "test")
    letters.add("intake.inbound", "dvv-1", "dvv.died", f'{{"x": "{code}"}}'.encode(), "test")
    others = json.dumps(_public_events(embedded, other_id)["ClientRegistered"]).encode()
    letters.add("readside", "m-other", "intake.ClientRegistered", others, "test")
    # Someone else's message, parsed, whose text holds "A1" by chance: not hers.
    stranger = inbound(AddressChanged, "dvv-2", address="Kauppakatu 1 A1, 98100 Kemijärvi")
    stranger["data"]["person"] = {"identity_code": identity_code("090979", "-", "246")}
    letters.add("intake.inbound", "dvv-2", "dvv.address", json.dumps(stranger).encode(), "t")

    erased = api.post(
        f"/clients/{client_id}/erase", json={"legal_ground": "GDPR 17(1)(a)"}, headers=ACTOR
    )
    assert erased.status_code == 200, erased.text

    kept = {letter.message_id: letter.body for letter in letters.all()}
    assert set(kept) == {"m-registered", "m-other", "dvv-2"}  # her inbound message is gone
    event = json.loads(kept["m-registered"])
    assert event["data"]["name"] is None and event["data"]["client_id"] == client_id
    assert event["event_type"] == "ClientRegistered"  # the facts stay, to be re-submitted
    assert kept["m-other"] == others  # another person's letter is untouched
    # No copy left in the file, in a live row or a freed one.
    raw = embedded.dead_letters.path.read_bytes()
    assert b"Ljudmyla" not in raw and code.encode() not in raw


def test_no_plaintext_identity_code_is_stored(
    api: TestClient, embedded: EmbeddedSystem, embedded_settings: Any
) -> None:
    code = identity_code("240680", "-", "123")
    client_id = register(api, identity_code=code, birth_date="1980-06-24")["client_id"]
    api.post(
        f"/clients/{client_id}/corrections",
        json={"personal": {"given_names": "Olena Maria"}, "reason": "spelling"},
        headers=ACTOR,
    )
    embedded.deliver_all()
    stored = files_decompressed(list(Path(embedded_settings.data_dir).rglob("*")))
    for form in (code, code.lower(), code.replace("-", "")):
        assert form.encode() not in stored
    assert b"Olena Maria" not in stored


def test_a_correction_that_contradicts_the_identity_code_is_refused(api: TestClient) -> None:
    client_id = register(api, identity_code="131052-308T")["client_id"]
    response = api.post(
        f"/clients/{client_id}/corrections",
        json={"personal": {"birth_date": "1952-10-14"}, "reason": "typo"},
        headers=ACTOR,
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["code"] == "identity_code_birth_date_mismatch"
    assert "1952" not in json.dumps(response.json())  # personal input is not echoed
    address = inbound(INBOUND["fi.dvv.address-changed.v1"])
    assert api.post("/inbound", json=address, headers=INTEGRATION).json() == {"outcome": "updated"}
    contact = api.get(f"/clients/{client_id}", headers=ACTOR).json()["personal"]["contact"]
    assert contact == {"phone": None, "email": None, "address": "Kauppakatu 1 A 2, 98100 Kemijärvi"}


def test_a_duplicate_is_merged_and_its_identifiers_follow(
    api: TestClient, embedded: EmbeddedSystem
) -> None:
    survivor = register(api, identity_code="131052-308T")["client_id"]
    duplicate = register(api, unhcr_number="UNHCR-1-2")["client_id"]
    merged = api.post(
        f"/clients/{survivor}/merge",
        json={"duplicate_id": duplicate, "reason": "same person, seen at the reception centre"},
        headers=ACTOR,
    )
    assert merged.status_code == 200, merged.text
    assert merged.json()["personal"]["unhcr_number"] == "UNHCR-1-2"
    old = api.get(f"/clients/{duplicate}", headers=ACTOR).json()
    assert old["closed_reason"] == f"duplicate of {survivor}"
    lookup = {"kind": "unhcr_number", "value": "UNHCR-1-2"}
    assert api.post("/clients/lookup", json=lookup, headers=ACTOR).json()["client_id"] == survivor
    assert _public_events(embedded, survivor)["ClientsMerged"]["data"]["duplicate_id"] == duplicate
    again = api.post(
        f"/clients/{survivor}/merge", json={"duplicate_id": duplicate, "reason": "x"}, headers=ACTOR
    )
    assert again.status_code == 409


def test_a_failed_command_gives_its_identifiers_back(api: TestClient) -> None:
    code = identity_code("150390", "-", "211")
    refused = api.post(
        "/clients",
        json={**registration(identity_code=code), "relationship_started_on": "2001-01-01"},
        headers=ACTOR,
    )
    assert refused.status_code == 422  # no rule in force on that day
    client_id = register(api, identity_code=code)["client_id"]  # the code is free again
    # A corrected identifier no longer names the client; the new one does.
    corrected = identity_code("150390", "-", "213")
    fixed = api.post(
        f"/clients/{client_id}/corrections",
        json={"personal": {"identity_code": corrected}, "reason": "typo in the code"},
        headers=ACTOR,
    )
    assert fixed.status_code == 200, fixed.text

    def owner(value: str) -> Any:
        lookup = {"kind": "identity_code", "value": value}
        return api.post("/clients/lookup", json=lookup, headers=ACTOR).json()["client_id"]

    assert (owner(code), owner(corrected)) == (None, client_id)


def test_an_address_change_keeps_the_phone_and_email(api: TestClient) -> None:
    contact = {"phone": "+358 40 123 4567", "email": "omar@example.fi"}
    client_id = register(api, identity_code="131052-308T", contact=contact)["client_id"]
    address = inbound(INBOUND["fi.dvv.address-changed.v1"])
    assert api.post("/inbound", json=address, headers=INTEGRATION).json() == {"outcome": "updated"}
    kept = api.get(f"/clients/{client_id}", headers=ACTOR).json()["personal"]["contact"]
    assert kept["phone"] == "+358 40 123 4567" and kept["email"] == "omar@example.fi"
    assert kept["address"].startswith("Kauppakatu 1")


def test_dead_letter_reasons_never_repeat_personal_input() -> None:
    with pytest.raises(ValidationError) as caught:
        PersonalDetails.model_validate(
            {"given_names": "Olena", "identity_code": "131052-308T", "birth_date": "1985-04-12"}
        )
    text = reason(caught.value)
    assert "identity code and the birth date" in text
    for personal in ("Olena", "131052-308T", "1985"):
        assert personal not in text


def test_a_refused_correction_gives_its_new_identifier_back(api: TestClient) -> None:
    closed = register(api)["client_id"]
    ended = {"reason": "moved away"}
    assert api.post(f"/clients/{closed}/close", json=ended, headers=ACTOR).is_success
    code = identity_code("010190", "-", "999")
    correction = {"personal": {"identity_code": code}, "reason": "DVV gave a code"}
    refused = api.post(f"/clients/{closed}/corrections", json=correction, headers=ACTOR)
    assert refused.status_code == 409
    assert refused.json()["code"] == "client_closed"
    lookup = {"kind": "identity_code", "value": code}
    assert api.post("/clients/lookup", json=lookup, headers=ACTOR).json() == {"client_id": None}
    # The code's real owner can be registered: the refused command kept nothing.
    owner = register(api, identity_code=code, birth_date="1990-01-01")["client_id"]
    assert api.post("/clients/lookup", json=lookup, headers=ACTOR).json() == {"client_id": owner}
    # And a clash names no other client (the caller may be of another organisation).
    clash = api.post("/clients", json=registration(identity_code=code), headers=ACTOR)
    assert clash.status_code == 409
    assert owner not in clash.text


def test_history_holding_a_code_now_refused_still_reads() -> None:
    """Earlier versions accepted future-born codes: their stored events must still load."""
    from pydantic import ValidationError

    from services.intake.model import PersonalDetails as Details
    from shared.eventstore import pydantic_transcoding

    stored = {"given_names": "A", "family_name": "B", "identity_code": "131052A308T"}
    with pytest.raises(ValidationError, match="in the future"):
        Details.model_validate(stored)  # new input is refused …
    read = pydantic_transcoding(Details).decode(stored)  # … what is stored still reads
    assert read.identity_code == "131052A308T"  # type: ignore[attr-defined]


def test_the_key_store_keeps_no_connection_of_a_thread_that_ended(tmp_path: Path) -> None:
    # The server's worker threads come and go; each that used the keys had a connection.
    path = tmp_path / "intake-keys.sqlite"
    keys = SQLiteClientKeys(bytes(32), path)

    def open_files() -> int:
        fds = Path("/proc/self/fd")
        return sum(1 for fd in fds.iterdir() if str(path) in os.path.realpath(fd))

    try:
        for _ in range(6):
            worker = threading.Thread(target=keys.key, args=(uuid4(),), kwargs={"create": True})
            worker.start()
            worker.join()
        # Each new thread's connection closed those of the threads that had ended: what is
        # open is this thread's and the last worker's (the file, its log, its shared memory).
        assert open_files() <= 2 * 3
    finally:
        keys.close()
    assert open_files() == 0
    assert sorted(f.name for f in tmp_path.iterdir()) == ["intake-keys.sqlite"]  # no log left
