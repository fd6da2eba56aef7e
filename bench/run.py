"""Every benchmark and its raw ceiling, measured in one run on this machine (issue #14:
performance is measured, not assumed). Prints each figure with its ratio to the ceiling that
bounds it and writes them all to `bench-results.json` (flat dotted keys; null for a figure
whose part failed: a failure is reported and the other parts still run).

`make bench`: the full run (100 000 clients' history for the caseload and the rebuild, or as
many as the application path makes in --history-seconds); `make bench-quick`: the same keys
in under ten minutes (smaller histories and runs). Needs PostgreSQL on 127.0.0.1:5432 and
RabbitMQ on 127.0.0.1:5672 (KOTOUTUS_TEST_PG_URL, KOTOUTUS_TEST_AMQP_URL); each part uses a
database, schemas and broker names of its own, removed afterwards.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import ceilings, embedded_bench, inbound_bench, readside_bench, thread_bench
from bench.common import ROOT, folder, say, terminate_as_interrupt

# Every key of bench-results.json, in order: (key, unit, the ceiling its ratio is to).
KEYS: list[tuple[str, str, str | None]] = [
    ("thread.registrations_per_s", "/s", "ceiling.es_command_per_s"),
    ("thread.latency_p50_ms", "ms", None),
    ("thread.latency_p99_ms", "ms", None),
    ("inbound.events_per_s", "/s", "ceiling.publish_confirmed_per_s"),
    ("readside.live_events_per_s", "/s", "ceiling.asyncpg_row_per_s"),
    ("rebuild.events_per_s", "/s", "ceiling.asyncpg_batch_row_per_s"),
    ("caseload.p99_ms", "ms", None),
    ("caseload.req_per_s", "/s", None),
    ("caseload.clients", "", None),
    ("embedded.registrations_per_s", "/s", "ceiling.es_command_per_s"),
    ("embedded.rss_mb", "MB", None),
    ("embedded.clients", "", None),
    ("embedded.disk_kb_per_client", "kB", None),
    ("ceiling.es_command_per_s", "/s", "ceiling.asyncpg_row_per_s"),
    ("ceiling.asyncpg_row_per_s", "/s", None),
    ("ceiling.asyncpg_batch_row_per_s", "/s", None),
    ("ceiling.publish_confirmed_per_s", "/s", None),
]
NOTES = {
    "thread.latency_p50_ms": "POST → reminder stored, at 100 registrations/s",
    "thread.latency_p99_ms": "POST → reminder stored, at 100 registrations/s",
    "caseload.p99_ms": "embedded, one caller, pages of 50",
    "caseload.req_per_s": "embedded, 8 callers, pages of 50",
    "caseload.clients": "clients in the history",
    "embedded.registrations_per_s": "SQLite, to the PostgreSQL ceiling",
    "embedded.clients": "clients stored when measured",
    "ceiling.es_command_per_s": "plain eventsourcing, get + save",
    "ceiling.publish_confirmed_per_s": "aio-pika, 100 confirms in flight",
}


class Run:
    """The parts, each timed, its exception reported and the run going on."""

    def __init__(self) -> None:
        self.results: dict[str, float] = {}
        self.failures: list[str] = []

    def part(self, name: str, measure: Callable[[], Any]) -> Any:
        say(f"— {name}")
        started = time.monotonic()
        try:
            found = measure()
        except KeyboardInterrupt:
            raise
        except BaseException as error:  # SystemExit of a helper too: the others still run
            traceback.print_exc()
            self.failures.append(f"{name}: {type(error).__name__}: {error}"[:500])
            say(f"  FAILED after {time.monotonic() - started:.0f} s: {error!r:.300}")
            return None
        say(f"  ({time.monotonic() - started:.0f} s)")
        return found


def rounded(key: str, value: float | None) -> float | int | None:
    if value is None:
        return None
    return int(value) if key.endswith(".clients") else round(value, 3)


def table(results: dict[str, float]) -> str:
    lines = [f"{'figure':34} {'value':>12}  {'ratio':>7}  to / what"]
    for key, unit, ceiling in KEYS:
        value = results.get(key)
        if value is None:
            shown = "null"
        elif key.endswith(".clients"):
            shown = f"{int(value):,}"
        else:
            shown = f"{value:,.1f} {unit}"
        ratio = ""
        if value is not None and ceiling and results.get(ceiling):
            ratio = f"{value / results[ceiling]:.3f}"
        about = ceiling or ""
        if key in NOTES:
            about = f"{about} ({NOTES[key]})" if about else NOTES[key]
        lines.append(f"{key:34} {shown:>12}  {ratio:>7}  {about}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="under ten minutes, same keys")
    parser.add_argument("--clients", type=int, help="history: 2000 quick, 100000 full")
    parser.add_argument(
        "--history-seconds",
        type=float,
        help="stop making the history after this long (240 quick, 900 full)",
    )
    parser.add_argument("--output", type=Path, default=ROOT / "bench-results.json")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="py-spy each service process during the thread's run (its figures are then "
        "a little lower: the sampling takes CPU)",
    )
    args = parser.parse_args()
    terminate_as_interrupt()
    quick = args.quick
    clients = args.clients or (2000 if quick else 100_000)
    history_seconds = args.history_seconds or (240 if quick else 900)
    started = time.monotonic()
    say(
        f"Kotoutus benchmark ({'quick' if quick else 'full'}), {platform.node()}, "
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC"
    )

    run = Run()
    results = run.results
    try:
        run.part("ceilings", lambda: ceilings.measure(quick, results))
        profile = Path(tempfile.mkdtemp(prefix="kotoutus-profile-")) if args.profile else None
        run.part("distributed thread", lambda: thread_bench.measure(quick, results, profile))
        run.part("inbound through intake", lambda: inbound_bench.measure(quick, results))
        with folder("history") as work:
            data_dir = work / "data"

            def progress(done: int, seconds: float) -> None:
                if done % 10_000 == 0 or done == clients:
                    say(f"  {done} clients in {seconds:.0f} s")

            began = time.monotonic()
            made = run.part(
                f"history: up to {clients} clients through the applications (embedded)",
                lambda: readside_bench.generate(data_dir, clients, history_seconds, progress),
            )
            if made and made < clients:
                minutes = (time.monotonic() - began) / 60
                say(
                    f"  stopped after {minutes:.0f} min at {made} clients (--history-seconds): "
                    f"{clients} would take about {minutes * clients / made:.0f} min or more"
                )
            if made:
                events = run.part("replay of the history", lambda: readside_bench.history(data_dir))
                if events:
                    say(f"  {len(events)} public events")
                    live = 5000 if quick else 20_000

                    def live_apply() -> None:
                        rate = readside_bench.live(events[:live], results)
                        results["readside.live_events_per_s"] = rate
                        say(f"  the first {min(live, len(events))} events, one per transaction")

                    run.part("read side, live", live_apply)

                    def rebuild() -> None:
                        results["rebuild.events_per_s"] = readside_bench.rebuild(events, results)

                    run.part("read side, rebuild", rebuild)
                del events
                run.part(
                    "embedded: caseload and registrations",
                    lambda: embedded_bench.measure(
                        data_dir, made, quick, work / "kotoutus-run.log", results
                    ),
                )
    except KeyboardInterrupt as stop:
        run.failures.append(f"interrupted ({stop}): the parts not yet run are null")
        raise
    finally:
        figures = {key: rounded(key, results.get(key)) for key, _, _ in KEYS}
        # And the CPU ms of each process per unit of work (bench.cpu), as measured.
        figures.update(
            {key: rounded(key, results[key]) for key in sorted(results.keys() - figures.keys())}
        )
        args.output.write_text(json.dumps(figures, indent=2) + "\n")
        say("")
        say(table(results))
        say(f"\nwritten to {args.output} ({(time.monotonic() - started) / 60:.1f} min)")
        for failure in run.failures:
            say(f"FAILED {failure}")
    if run.failures:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
