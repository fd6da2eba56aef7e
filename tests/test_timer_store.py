"""The deadline watch keeps what is pending in the service's store, not in the process: a
watch started again (a restart, another process) reads only what was stored since, and still
reports every deadline that passed, once; two watches of one store agree. On SQLite and on
PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event
from eventsourcing.persistence import JSONTranscoder, Transcoding

from shared.eventstore import store_env
from shared.log_position import ReadAnotherWayError
from shared.settings import Settings
from shared.timer_store import Pending
from shared.timers import DeadlineWatch, Timer
from tests.support import reads_from

DAY = date(2026, 3, 2)


@dataclass(frozen=True)
class Deadline:
    due: date


class Case(Aggregate):
    @event("Opened")
    def __init__(self) -> None:
        self.deadline: Deadline | None = None

    @event("Due")
    def move(self, deadline: Deadline) -> None:
        self.deadline = deadline

    @event("Done")
    def done(self) -> None:
        pass


class DeadlineAsText(Transcoding):
    type = Deadline
    name = "deadline"

    def encode(self, obj: Deadline) -> str:
        return obj.due.isoformat()

    def decode(self, data: str) -> Deadline:
        return Deadline(date.fromisoformat(data))


class Cases(Application[UUID]):
    name = "timer_test_cases"

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        transcoder.register(DeadlineAsText())


DUE = Timer(kind="due", sets="Case.Due", clears=("Case.Done",))


@pytest.fixture(params=["sqlite", "postgresql"])
def cases(
    request: pytest.FixtureRequest, embedded_settings: Settings, pg_database: str
) -> Iterator[Cases]:
    if request.param == "sqlite":
        settings = embedded_settings
    else:
        settings = Settings(database_url=pg_database, schema_prefix=f"t{uuid4().hex[:10]}_")
    env: dict[str, Any] = {
        k: v for k, v in store_env(settings, "timers").items() if k != "PROCESS_RECORDER_TOPIC"
    }
    app = Cases(env=env)
    yield app
    app.close()


class Marks:
    """What the watch reported, as the aggregates' ``mark_overdue`` would take it."""

    def __init__(self) -> None:
        self.marked: list[tuple[UUID, str, date]] = []

    def __call__(self, aggregate_id: UUID, kind: str, today: date) -> bool:
        self.marked.append((aggregate_id, kind, today))
        return True


def watch(app: Cases, marks: Marks, on: date) -> DeadlineWatch:
    noon = datetime.combine(on, time(12), tzinfo=UTC)
    # Recorded long before ``on``: no late-entry grace is waited for.
    return DeadlineWatch(app, [DUE], marks, clock=lambda: noon)  # type: ignore[arg-type]


def case(app: Cases, due: date) -> Case:
    made = Case()
    made.move(Deadline(due))
    app.save(made)
    return made


def test_a_watch_started_again_reads_only_what_was_stored_since_and_misses_nothing(
    cases: Cases,
) -> None:
    marks = Marks()
    early, done, moved = case(cases, DAY), case(cases, DAY), case(cases, DAY)
    done.done()
    cases.save(done)
    assert watch(cases, marks, DAY).fire() == 0  # the due day itself is on time
    position = cases.recorder.max_notification_id()
    assert position is not None

    moved.move(Deadline(DAY + timedelta(days=10)))
    cases.save(moved)
    later = case(cases, DAY + timedelta(days=1))
    starts = reads_from(cases)
    # A new watch, as after a restart: what it knew is in the store.
    assert watch(cases, marks, DAY + timedelta(days=3)).fire() == 2
    assert starts[0] == position + 1
    assert {(m[0], m[1]) for m in marks.marked} == {(early.id, "due"), (later.id, "due")}
    # Reported once: the table no longer holds them, and a third watch reads nothing old.
    assert watch(cases, marks, DAY + timedelta(days=4)).fire() == 0
    assert watch(cases, marks, DAY + timedelta(days=11)).fire() == 1
    assert marks.marked[-1] == (moved.id, "due", DAY + timedelta(days=11))


def test_two_watches_of_one_store_agree(cases: Cases) -> None:
    for offset in range(5):
        case(cases, DAY + timedelta(days=offset))
    marks = Marks()
    first, second = watch(cases, marks, DAY), watch(cases, marks, DAY)
    first.follow()
    end = cases.recorder.max_notification_id()
    assert first.pending.position() == end
    # A page the second read from where the first had started is refused as a whole...
    table = second.pending
    stale = {(uuid4(), "due"): Pending(datetime.now(UTC))}
    assert table.advance(0, 3, stale) is False
    assert table.position() == end
    assert (
        len(table.due(datetime.combine(DAY + timedelta(days=10), time(0), UTC), inclusive=False))
        == 5
    )
    # ... and the second goes on from where the first got to.
    starts = reads_from(cases)
    second.follow()
    assert starts == [(end or 0) + 1]
    assert watch(cases, marks, DAY + timedelta(days=3)).fire() == 3


def test_pages_that_change_no_timer_are_read_but_not_written(cases: Cases) -> None:
    marks = Marks()
    first = watch(cases, marks, DAY)
    table = first.pending
    first.follow()
    stored = table.position()
    for _ in range(3):
        cases.save(Case())  # an event no timer takes
    starts = reads_from(cases)
    first.follow()
    first.follow()
    assert table.position() == stored  # nothing written for them...
    end = cases.recorder.max_notification_id() or 0
    # ... and read once: the second look starts after them (each look ends on an empty page).
    assert starts == [stored + 1, end + 1, end + 1]
    # The next page that sets a timer stores everything read up to it.
    case(cases, DAY)
    first.follow()
    assert table.position() == cases.recorder.max_notification_id()
    assert watch(cases, marks, DAY + timedelta(days=1)).fire() == 1


def test_timers_read_another_way_are_read_again_from_the_start(cases: Cases) -> None:
    # A new version (or other settings) reads the log otherwise: what the table holds was read
    # the old way, so it is dropped and the log is read again, as a start did when the timers
    # were kept in the process.
    kept, done = case(cases, DAY), case(cases, DAY)
    done.done()
    cases.save(done)
    marks = Marks()
    watch(cases, marks, DAY).follow()
    never_cleared = Timer(kind="due", sets="Case.Due", clears=())
    noon = datetime.combine(DAY + timedelta(days=1), time(12), tzinfo=UTC)
    starts = reads_from(cases)
    again = DeadlineWatch(cases, [never_cleared], marks, clock=lambda: noon)  # type: ignore[arg-type]
    assert again.fire() == 2
    assert starts[0] == 1
    assert {m[0] for m in marks.marked} == {kept.id, done.id}
    # The first reading again: read anew once more. The done case is cleared again; the other
    # is due again, as this test's marks record nothing in the log (a real mark does).
    assert watch(cases, marks, DAY + timedelta(days=2)).fire() == 1
    assert marks.marked[-1][0] == kept.id


def test_a_process_of_the_earlier_reading_leaves_the_table_once_another_took_it(
    cases: Cases,
) -> None:
    # A rolling deploy: the new version took the table over (read anew from the start); the
    # old process, still running, must not write its reading into it again.
    case(cases, DAY)
    marks = Marks()
    old = watch(cases, marks, DAY)
    old.follow()
    never_cleared = Timer(kind="due", sets="Case.Due", clears=())
    noon = datetime.combine(DAY + timedelta(days=1), time(12), tzinfo=UTC)
    new = DeadlineWatch(cases, [never_cleared], marks, clock=lambda: noon)  # type: ignore[arg-type]
    new.follow()
    taken = new.pending.position()
    done = case(cases, DAY)
    done.done()
    cases.save(done)
    with pytest.raises(ReadAnotherWayError):
        old.follow()
    with pytest.raises(ReadAnotherWayError):
        old.pending.position()
    assert new.pending.position() == taken  # the old page was refused …
    assert new.fire() == 2  # … and the new reading keeps its own: the done case stays due
