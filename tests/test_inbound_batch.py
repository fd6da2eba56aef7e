"""Intake's inbound batch reads ahead (issue #14): what each message of a batch would ask of
the store — is its receipt stored, whom do its identifiers name — is read for the whole batch
in one query each, and the keys of the batch's new persons are made in one transaction. The
outcomes are those of messages taken one by one: duplicates, a person the batch's first message
registered and its second found, an erased person refused."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any
from uuid import UUID

import pytest

from services.intake.application import IntakeApplication
from services.intake.keys import PersonErasedError
from shared.contracts.inbound import ResidencePermitGranted, example
from shared.identity import IdentifierKind
from shared.settings import Settings
from tests.test_intake_nothing_lost import intake_store, pair, person_code

STORES = ["embedded", "distributed"]


@pytest.fixture(params=STORES)
def intake(request: pytest.FixtureRequest) -> Iterator[IntakeApplication]:
    if request.param == "distributed":
        request.applymarker(pytest.mark.distributed)
        settings: Settings = request.getfixturevalue("distributed_settings")
    else:
        settings = request.getfixturevalue("embedded_settings")
    app = intake_store(settings)
    yield app
    app.close()


class Calls:
    """Counts the calls of some of an object's methods (they still run)."""

    def __init__(self, target: Any, *names: str) -> None:
        self.count = dict.fromkeys(names, 0)
        for name in names:
            setattr(target, name, self._counted(name, getattr(target, name)))

    def _counted(self, name: str, method: Callable[..., Any]) -> Callable[..., Any]:
        def counted(*args: Any, **kwargs: Any) -> Any:
            self.count[name] += 1
            return method(*args, **kwargs)

        return counted


def permit(n: int, tag: str) -> bytes:
    body = example(ResidencePermitGranted, f"migri-{tag}-{n}")
    body["data"]["person"] = {
        "identity_code": person_code(n),
        "given_names": "Amina",
        "family_name": "P",
    }
    return json.dumps(body).encode()


def test_a_batch_of_new_persons_reads_ahead_and_makes_its_keys_at_once(
    intake: IntakeApplication,
) -> None:
    keys = Calls(intake.keys, "_key", "_keys")
    lookups = Calls(intake.lookups, "owner", "owners")
    store = Calls(intake.recorder, "stored_ids", "select_events")
    bodies = [permit(n, "batch") for n in range(20)]
    assert intake.receive_many(bodies) == ["registered"] * 20
    assert keys.count == {"_key": 0, "_keys": 1}
    assert lookups.count == {"owner": 0, "owners": 1}
    assert store.count == {"stored_ids": 1, "select_events": 0}
    # Each new person's details open with the key made for them.
    for n in range(20):
        client_id = intake.find(IdentifierKind.IDENTITY_CODE, person_code(n))
        assert client_id is not None
        personal = intake.client(client_id).personal
        assert personal is not None and personal.identity_code == person_code(n)


def test_outcomes_are_those_of_messages_one_by_one(intake: IntakeApplication) -> None:
    first, second = pair(0, "ahead")  # the same new person, from two registries
    again = permit(1, "ahead")
    assert intake.receive_many([first, second, again, again]) == [
        "registered",
        "updated",
        "registered",
        "duplicate",
    ]
    assert intake.receive_many([first, permit(2, "ahead")]) == ["duplicate", "registered"]


def test_keys_made_ahead_never_revive_an_erased_persons(intake: IntakeApplication) -> None:
    [outcome] = intake.receive_many([permit(3, "erased")])
    assert outcome == "registered"
    client_id = intake.find(IdentifierKind.IDENTITY_CODE, person_code(3))
    assert isinstance(client_id, UUID)
    intake.keys.erase(client_id)
    # As when the key is made as its first event is sealed: refused, not made afresh.
    with pytest.raises(PersonErasedError), intake.batch():
        intake.keys.make_keys([client_id])
        intake.keys.key(client_id, create=True)
