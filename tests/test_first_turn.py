"""Fewer round trips without weaker promises (issue #14): a consumer's batch is not checked
against its tracking before its first try (the tracking row's key refuses a message handled
before), and a staff registration does not read whether its id is taken before its first try
(the store refuses a second registration). Either way a refusal is answered as before."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from eventsourcing.persistence import Tracking

from kotoutus.registry import SERVICES
from services.intake.application import IntakeApplication
from services.intake.errors import ClientAlreadyRegisteredError
from services.intake.model import ClientFacts, PersonalDetails
from shared.clock import utc_now
from shared.errors import DomainError
from shared.eventstore import store_env
from shared.settings import Settings
from shared.values import Provenance
from tests.test_batches import COUNT, Counter, app, settings  # noqa: F401 (fixtures)
from tests.test_exactly_once import message, total
from tests.test_intake_nothing_lost import person_code


class Asks:
    """Counts the tracking lookups of ``app``, a batch's query of what it handled before."""

    def __init__(self, counter: Counter) -> None:
        self.count = 0
        looked_up = counter.tracked

        def tracked(trackings: Sequence[Tracking]) -> set[tuple[str, int]]:
            self.count += 1
            return looked_up(trackings)

        counter.tracked = tracked  # type: ignore[method-assign]


def test_a_new_batch_is_stored_without_a_lookup_and_a_redelivered_one_changes_nothing(
    app: Counter,  # noqa: F811
) -> None:
    asks = Asks(app)
    batch = [message(p) for p in range(1, 4)]
    assert app.process_many(batch, COUNT) == 3
    assert asks.count == 0
    assert app.process_many(batch, COUNT) == 0  # refused by the tracking rows, then looked up
    assert app.process_many([batch[0], message(4)], COUNT) == 1  # partly seen
    assert total(app) == 4


def test_a_duplicate_whose_handler_now_refuses_is_skipped_not_refused(
    app: Counter,  # noqa: F811
) -> None:
    seen = message(1)
    assert app.process_many([seen], COUNT) == 1
    app.refused = frozenset({1, 2})  # what it did before, its handler would now refuse
    assert app.process_many([seen], COUNT) == 0
    with pytest.raises(DomainError):
        app.process_many([message(2)], COUNT)  # a new one is refused
    assert total(app) == 1


def _register(intake: IntakeApplication, client_id: Any, code: str | None = None) -> None:
    intake.register_client(
        client_id=client_id,
        provenance=Provenance.system("test", "municipality:320", utc_now()),
        personal=PersonalDetails(given_names="A", family_name="B", identity_code=code),
        facts=ClientFacts(),
        relationship_started_on=utc_now().date(),
    )


def test_a_taken_id_is_answered_as_before(tmp_path: Path) -> None:
    embedded = Settings(data_dir=tmp_path, database_url=None)
    intake = SERVICES["intake"].application(embedded, store_env(embedded, "intake"))
    assert isinstance(intake, IntakeApplication)
    try:
        first, second = uuid4(), uuid4()
        _register(intake, first, person_code(1))
        _register(intake, second)
        with pytest.raises(ClientAlreadyRegisteredError):
            _register(intake, first)
        # The taken id is answered ahead of an identity code another client holds.
        with pytest.raises(ClientAlreadyRegisteredError):
            _register(intake, second, person_code(1))
        # And ahead of the person's erasure (their key is gone).
        intake.erase(second, provenance=Provenance.system("test", "m", utc_now()), legal_ground="t")
        with pytest.raises(ClientAlreadyRegisteredError):
            _register(intake, second)
        assert len(list(intake.client_ids())) == 2
    finally:
        intake.close()
