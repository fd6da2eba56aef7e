"""CPU time of each process of a measured path, per unit of work, and what it says about more
cores (issue #14: where a target is beyond this machine, the CPU milliseconds per registration
of each process and what the design would reach on more cores).

CPU time, unlike a rate, hardly depends on what else the machine runs: it is read from
``/proc/<pid>/stat`` (user + system time of every thread of a process), for

- the services' processes (their pids),
- the benchmark's own process (the load generator, and the follower that waits for results),
- PostgreSQL's backends serving the part's own database (found by the database's name in their
  process title, as ``pgrep -f "postgres: .* <database> "`` would; sampled while the part runs,
  so that a backend that ends meanwhile still counts up to its last sample),
- PostgreSQL's server processes that serve no one database (checkpointer, WAL writer, …) and
  RabbitMQ's ``beam.smp``: shared with whatever else uses these servers, so counted whole and
  marked shared.

Beside them, the transactions PostgreSQL committed or rolled back in the part's database
(``pg_stat_database``), per unit: each is a few round trips and a commit.

The bounds: the processes together need ``total`` ms of CPU per registration, so N cores carry
at most N·1000/total per second; a process that runs once (it cannot be scaled out) carries at
most 1000/its ms per second whatever the cores.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterable, Mapping
from pathlib import Path

import psycopg

TICKS = os.sysconf("SC_CLK_TCK")
SHARED = ("postgres.server", "rabbitmq")  # servers others use too: counted whole
CORES = (2, 4, 8, 16, 32)


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of ``pid`` (all its threads), None if it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()  # after "pid (comm) "
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime: fields 14, 15


def _title(pid: int) -> str:
    try:
        return (
            Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        )
    except OSError:
        return ""


def _pids() -> Iterable[int]:
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            yield int(entry.name)


def server_processes(database: str | None) -> dict[str, set[int]]:
    """PostgreSQL's backends of ``database``, its server processes, RabbitMQ's VM."""
    found: dict[str, set[int]] = {"postgres": set(), "postgres.server": set(), "rabbitmq": set()}
    for pid in _pids():
        title = _title(pid)
        if title.startswith("postgres: "):
            # A backend's title: "postgres: <cluster>: <user> <database> <client> <state>".
            if "(" in title or "[local]" in title:
                if database and f" {database} " in title:
                    found["postgres"].add(pid)
            elif " worker " not in title:  # an autovacuum worker is some database's
                found["postgres.server"].add(pid)
        elif "/bin/postgres " in title or title.endswith("/bin/postgres"):
            found["postgres.server"].add(pid)  # the postmaster
        elif "beam.smp" in title.split(" ", 1)[0]:
            found["rabbitmq"].add(pid)
    return found


def transactions(database: str) -> int:
    """Transactions committed and rolled back in ``database`` so far (PostgreSQL's counters,
    read from another database: the reading is not one of them)."""
    from bench.common import PG_ADMIN

    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute("SELECT pg_stat_clear_snapshot()")
        row = conn.execute(
            "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = %s",
            (database,),
        ).fetchone()
    return int(row[0]) if row else 0


class CpuMeter:
    """CPU seconds of named groups of processes between ``start`` and ``stop``: the fixed
    ``processes`` (name → pid), this process as ``bench``, and the servers' processes (see
    ``server_processes``), the latter sampled every ``every`` seconds meanwhile."""

    def __init__(
        self, processes: Mapping[str, int], database: str | None, every: float = 0.5
    ) -> None:
        self.fixed = {**processes, "bench": os.getpid()}
        self.database = database
        self.every = every
        self._first: dict[int, float] = {}
        self._last: dict[int, float] = {}
        self._groups: dict[int, str] = {}
        self._stop = threading.Event()
        self._sampler: threading.Thread | None = None
        self.transactions = 0  # in the database, between start and stop
        self.seconds = 0.0  # between start and stop

    def _sample(self, first: bool = False) -> None:
        groups = {pid: name for name, pid in self.fixed.items()}
        for name, pids in server_processes(self.database).items():
            groups.update({pid: name for pid in pids})
        for pid, name in groups.items():
            seconds = cpu_seconds(pid)
            if seconds is None:
                continue
            self._groups[pid] = name
            if first:
                self._first[pid] = seconds
            elif pid not in self._first:
                self._first[pid] = 0.0  # started meanwhile: all its time is the part's
            self._last[pid] = seconds

    def start(self) -> None:
        if self.database:
            self.transactions = -transactions(self.database)
        self._sample(first=True)
        self.seconds = -time.monotonic()
        self._sampler = threading.Thread(target=self._run, name="cpu-meter", daemon=True)
        self._sampler.start()

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            self._sample()

    def stop(self) -> dict[str, float]:
        """CPU seconds of each group since ``start``."""
        self._stop.set()
        if self._sampler is not None:
            self._sampler.join()
        self._sample()
        self.seconds += time.monotonic()
        if self.database:
            time.sleep(1.5)  # a busy backend reports its counts at most once a second
            self.transactions += transactions(self.database)
        used: dict[str, float] = {}
        for pid, name in self._groups.items():
            used[name] = used.get(name, 0.0) + self._last[pid] - self._first[pid]
        return used


def idle(meter: CpuMeter, seconds: float) -> tuple[dict[str, float], float]:
    """What each group spends per second while nothing is asked of it (followers of logs
    polling, timers, heartbeats, and whatever else uses the shared servers), and the
    transactions per second in the database meanwhile."""
    meter.start()
    time.sleep(seconds)
    used = meter.stop()
    return {name: value / meter.seconds for name, value in used.items()}, (
        meter.transactions / meter.seconds
    )


def beyond_idle(
    used: Mapping[str, float], idle_rates: Mapping[str, float], seconds: float
) -> dict[str, float]:
    """CPU seconds beyond what each group spends idle in ``seconds`` (never below zero)."""
    return {
        name: max(0.0, value - idle_rates.get(name, 0.0) * seconds) for name, value in used.items()
    }


def per_unit(
    prefix: str, used: Mapping[str, float], units: int, results: dict[str, float]
) -> dict[str, float]:
    """CPU ms per unit of each group into ``results`` (``<prefix>.<group>`` and
    ``<prefix>.total``); returns them."""
    ms = {name: seconds * 1000 / units for name, seconds in sorted(used.items())}
    ms["total"] = sum(ms.values())
    for name, value in ms.items():
        results[f"{prefix}.{name}"] = value
    return ms


def report(
    what: str,
    unit: str,
    ms: Mapping[str, float],
    single: Iterable[str] = (),
    gross: Mapping[str, float] | None = None,
) -> list[str]:
    """Lines: each group's CPU ms per ``unit`` (and as measured, idle time included, if
    ``gross``), and the bounds on N cores — all processes scaled out, and with the ``single``
    ones (run once) as they are."""
    total = ms["total"]
    beyond = " beyond idle" if gross else ""
    lines = [f"  {what}: CPU ms per {unit}{beyond}, by process"]
    for name, value in sorted(ms.items(), key=lambda item: -item[1]):
        if name != "total":
            shared = " (shared server: counted whole)" if name in SHARED else ""
            measured = f"  (as measured {gross[name]:7.3f} ms)" if gross else ""
            lines.append(
                f"    {name:18} {value:8.3f} ms  {100 * value / total:5.1f} %{measured}{shared}"
            )
    measured = f"          (as measured {gross['total']:7.3f} ms)" if gross else ""
    lines.append(f"    {'total':18} {total:8.3f} ms{measured}")
    singles = {name: ms[name] for name in single if ms.get(name)}
    busiest = max(singles.items(), key=lambda item: item[1]) if singles else None
    bounds = []
    for cores in CORES:
        spread = cores * 1000 / total
        text = f"{cores} cores ≤ {spread:,.0f}/s"
        if busiest is not None:
            text += f" (≤ {min(spread, 1000 / busiest[1]):,.0f}/s with {busiest[0]} run once)"
        bounds.append(text)
    lines.append(f"    CPU bound: {'; '.join(bounds)}")
    return lines
