"""A recorded history, and the read side's projections on PostgreSQL applied from it.

The history is made through the applications, in embedded mode (SQLite files): clients
registered by intake's commands (in an assessment group, so each path runs on to a reminder),
each given a worker, every service's reactions delivered in process as the running system
would (the read side's projections there too) and the hash chains extended, in rounds of
500 clients.

- ``readside.live_events_per_s``: the history's first events, replayed, handed one at a time to
  the read side's consumer on PostgreSQL, as delivery does (one transaction per event: inbox
  row, timeline, names, caseload fold);
- ``rebuild.events_per_s``: the whole history, replayed, rebuilt into the projections on
  PostgreSQL (``Projector.rebuild``: one transaction); replaying it from the SQLite stores is
  timed apart;
- ``readside.cpu_ms_per_event.<process>``, ``rebuild.cpu_ms_per_event.<process>``: CPU
  milliseconds per event of the benchmark's process (where the read side's code runs here:
  ``readside``) and of PostgreSQL's backends of the part's database (see ``bench.cpu``).

Run alone: `.venv/bin/python bench/readside_bench.py [--clients 2000]`.
"""

from __future__ import annotations

import argparse
import base64
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from uuid import uuid4

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import cpu
from bench.common import TAG, database, folder, say, terminate_as_interrupt
from kotoutus.bootstrap import bootstrap, build_application
from kotoutus.embedded import EmbeddedSystem
from kotoutus.registry import SERVICES
from services.intake.application import IntakeApplication
from services.intake.model import ClientFacts, PermitType, PersonalDetails, ResidencePermit
from services.readside.projector import Projector
from shared.audit import HashChain
from shared.clock import utc_now
from shared.contracts import PublicEvent
from shared.replay import replay
from shared.settings import Settings
from shared.values import Actor, ActorKind, Provenance

ROUND = 500  # clients registered between deliveries


def generate(
    data_dir: Path,
    clients: int,
    seconds: float,
    progress: Callable[[int, float], None] = lambda _n, _s: None,
) -> int:
    """Registers up to ``clients`` clients in an embedded system, stopping after the round in
    which ``seconds`` ran out, and leaves its files in ``data_dir``; returns how many.

    Made in shared memory where there is room (not measured, and twice as fast without the
    disk's syncs), then copied to ``data_dir``, where everything measured reads it."""
    shm = Path("/dev/shm")
    if shm.is_dir() and shutil.disk_usage(shm).free > clients * 80_000:
        staging = Path(tempfile.mkdtemp(prefix=f"kotoutus-bench-{TAG}-", dir=shm))
        try:
            made = _generate(staging / "data", clients, seconds, progress)
            shutil.copytree(staging / "data", data_dir)
            return made
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return _generate(data_dir, clients, seconds, progress)


def _generate(
    data_dir: Path, clients: int, seconds: float, progress: Callable[[int, float], None]
) -> int:
    system = EmbeddedSystem(Settings(data_dir=data_dir))
    try:
        intake = system.nodes["intake"].app
        assert isinstance(intake, IntakeApplication)
        chains = [HashChain(node.app) for node in system.nodes.values()]
        staff = Actor(id="bench", kind=ActorKind.USER)
        today = date.today()
        started = time.monotonic()
        done = 0
        while done < clients and time.monotonic() - started < seconds:
            for number in range(done, min(done + ROUND, clients)):
                provenance = Provenance(
                    actor=staff, organisation="municipality:320", occurred_at=utc_now()
                )
                client = intake.register_client(
                    client_id=uuid4(),
                    provenance=provenance,
                    personal=PersonalDetails(given_names="Bench", family_name=f"Mark {number}"),
                    facts=ClientFacts(
                        home_municipality="320",
                        mother_tongue="uk",
                        non_temporary_social_assistance=True,
                        residence_permit=ResidencePermit(
                            type=PermitType.A, first_permit_on=today - timedelta(days=60)
                        ),
                    ),
                    # Over the last four weeks: the caseload's deadlines differ.
                    relationship_started_on=today - timedelta(days=number % 28),
                    source="bench",
                )
                intake.assign_worker(client.id, provenance=provenance, worker=f"w{number % 7}")
                done += 1
            system.deliver_all()
            for chain in chains:  # as the running system's chain keepers would
                chain.extend()
            progress(done, time.monotonic() - started)
        return done
    finally:
        system.close()


def history(data_dir: Path) -> list[PublicEvent]:
    """Every public event of the services' stores, with the personal fields (the names
    projection needs them), in record order: what ``kotoutus projections rebuild`` reads."""
    settings = Settings(data_dir=data_dir)
    nodes = {
        name: (service, build_application(settings, service)) for name, service in SERVICES.items()
    }
    try:
        return list(replay(nodes, personal=True))
    finally:
        for _, app in nodes.values():
            app.close()


def _settings(url: str) -> Settings:
    return Settings(
        database_url=url,
        schema_prefix="bench_",
        master_key=base64.b64encode(os.urandom(32)).decode(),
    )


def _meter(url: str) -> cpu.CpuMeter:
    """This process's CPU (the read side's code runs in it) and its database's backends."""
    meter = cpu.CpuMeter({}, url.rsplit("/", 1)[1])
    meter.fixed["readside"] = meter.fixed.pop("bench")
    return meter


def live(events: list[PublicEvent], results: dict[str, float] | None = None) -> float:
    """Events per second handed one at a time to the read side on PostgreSQL; with
    ``results``, CPU ms per event into them (``readside.cpu_ms_per_event.*``)."""
    with database("live") as url:
        system = bootstrap(_settings(url), names=[])
        try:
            consumer = system.read_side
            assert consumer is not None
            meter = _meter(url)
            meter.start()
            started = time.perf_counter()
            for event in events:
                consumer.handle([event])
            rate = len(events) / (time.perf_counter() - started)
            _report("readside", meter, len(events), results)
            return rate
        finally:
            system.close()


def rebuild(events: list[PublicEvent], results: dict[str, float] | None = None) -> float:
    """Events per second rebuilt into the read side's projections on PostgreSQL; with
    ``results``, CPU ms per event into them (``rebuild.cpu_ms_per_event.*``)."""
    with database("rebuild") as url:
        system = bootstrap(_settings(url), names=[])
        try:
            projector = system.read_side
            assert isinstance(projector, Projector)
            meter = _meter(url)
            meter.start()
            started = time.perf_counter()
            projector.rebuild(events)
            rate = len(events) / (time.perf_counter() - started)
            _report("rebuild", meter, len(events), results)
            return rate
        finally:
            system.close()


def _report(part: str, meter: cpu.CpuMeter, events: int, results: dict[str, float] | None) -> None:
    found: dict[str, float] = {} if results is None else results
    ms = cpu.per_unit(f"{part}.cpu_ms_per_event", meter.stop(), events, found)
    for line in cpu.report(part, "event", ms, single=["readside"]):
        say(line)
    per = found[f"{part}.pg_transactions_per_event"] = meter.transactions / events
    say(f"    PostgreSQL transactions per event: {per:.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=2000)
    parser.add_argument("--live", type=int, default=5000, help="events applied live")
    args = parser.parse_args()
    terminate_as_interrupt()
    with folder("readside") as data_dir:
        clients = generate(data_dir, args.clients, float("inf"))
        started = time.perf_counter()
        events = history(data_dir)
        say(
            f"history: {clients} clients, {len(events)} public events "
            f"(replayed at {len(events) / (time.perf_counter() - started):.0f}/s)"
        )
        print(f"readside.live_events_per_s  {live(events[: args.live]):10.0f}")
        print(f"rebuild.events_per_s        {rebuild(events):10.0f}")


if __name__ == "__main__":
    main()
