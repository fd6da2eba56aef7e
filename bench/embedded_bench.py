"""Embedded mode (`kotoutus run`: one OS process, SQLite files) on a recorded history (see
``bench/readside_bench.py``), once it is idle after starting (its hash chains caught up):

- ``caseload.p99_ms``: GET /caseload (pages of 50, following the cursor) by one caller, p99;
- ``caseload.req_per_s``: the same with 8 concurrent callers, requests per second;
- ``caseload.clients``: clients in the history;
- ``embedded.registrations_per_s``: POST /clients by 8 concurrent callers, per second until the
  pipeline has caught up (the read side has applied every new client's ReminderScheduled);
- ``embedded.rss_mb``: the process's resident memory then;
- ``embedded.clients``: clients stored then (the history's and the new ones);
- ``embedded.disk_kb_per_client``: the data folder's size, stopped, per client.

Run alone: `.venv/bin/python bench/embedded_bench.py [--clients 2000]`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
from sqlalchemy import create_engine, func, select

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (
    bearer,
    folder,
    percentile,
    registration,
    say,
    terminate_as_interrupt,
    wait_until,
)
from bench.readside_bench import generate
from bench.thread_bench import post_all
from services.readside.tables import events
from shared.settings import Settings
from tests.support import free_port

CALLERS = 8
PAGE = 50
TICKS = os.sysconf("SC_CLK_TCK")


class Server:
    """`kotoutus run` on ``data_dir``, as its own process."""

    def __init__(self, data_dir: Path, log: Path) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("KOTOUTUS_")}
        self.log = log
        command = [sys.executable, "-m", "kotoutus.cli", "run", "--data-dir", str(data_dir)]
        self.process = subprocess.Popen(
            [*command, "--port", str(self.port)],
            env=env,
            stdout=log.open("wb"),
            stderr=subprocess.STDOUT,
        )

    def check(self) -> None:
        if self.process.poll() is not None:
            tail = self.log.read_text(errors="replace")[-3000:]
            raise RuntimeError(f"kotoutus run exited with {self.process.returncode}: {tail}")

    def ready(self) -> bool:
        self.check()
        try:
            return httpx.get(f"{self.url}/health", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime

    def memory_mb(self, field: str = "VmRSS") -> float:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) / 1024
        raise LookupError(field)

    def idle(self, timeout: float) -> float:
        """Waits until the process has used under 5% of a core for three seconds in a row;
        returns how long that took."""
        started = time.monotonic()
        quiet = 0
        last = self.cpu_seconds()
        while quiet < 3:
            time.sleep(1)
            self.check()
            now = self.cpu_seconds()
            quiet = quiet + 1 if now - last < 0.05 else 0
            last = now
            if time.monotonic() - started > timeout:
                raise TimeoutError(f"kotoutus run still busy after {timeout:.0f} s")
        return time.monotonic() - started

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def caseload_sequential(url: str, headers: dict[str, str], requests: int) -> list[float]:
    """Milliseconds of each of ``requests`` pages read one after another."""
    took: list[float] = []
    cursor = None
    with httpx.Client(headers=headers, timeout=60) as client:
        for _ in range(requests):
            params: dict[str, Any] = {"limit": PAGE, **({"cursor": cursor} if cursor else {})}
            started = time.perf_counter()
            response = client.get(f"{url}/caseload", params=params)
            took.append((time.perf_counter() - started) * 1000)
            response.raise_for_status()
            cursor = response.json()["next_cursor"]
    return took


async def caseload_concurrent(
    url: str, headers: dict[str, str], callers: int, seconds: float
) -> int:
    """Pages read by ``callers`` callers, each following its own cursor, in ``seconds``."""
    done = 0
    end = time.monotonic() + seconds

    async def caller(client: httpx.AsyncClient) -> None:
        nonlocal done
        cursor = None
        while time.monotonic() < end:
            params: dict[str, Any] = {"limit": PAGE, **({"cursor": cursor} if cursor else {})}
            response = await client.get(f"{url}/caseload", params=params)
            response.raise_for_status()
            cursor = response.json()["next_cursor"]
            done += 1

    limits = httpx.Limits(max_connections=callers)
    async with httpx.AsyncClient(headers=headers, timeout=60, limits=limits) as client:
        await asyncio.gather(*(caller(client) for _ in range(callers)))
    return done


def reminded(data_dir: Path, clients: set[UUID]) -> int:
    """How many of ``clients`` the read side has a ReminderScheduled of (read-only)."""
    engine = create_engine(f"sqlite:///file:{data_dir / 'readside.sqlite'}?mode=ro&uri=true")
    try:
        found = 0
        wanted = sorted(str(c) for c in clients)
        with engine.connect() as connection:
            for first in range(0, len(wanted), 500):
                query = select(func.count(func.distinct(events.c.client_id))).where(
                    events.c.event_type == "ReminderScheduled",
                    events.c.client_id.in_(wanted[first : first + 500]),
                )
                found += int(connection.execute(query).scalar() or 0)
        return found
    finally:
        engine.dispose()


def disk_bytes(data_dir: Path) -> int:
    return sum(p.stat().st_size for p in data_dir.rglob("*") if p.is_file())


def measure(
    data_dir: Path, clients: int, quick: bool, log: Path, results: dict[str, float]
) -> None:
    """Everything but the history (``data_dir`` holds ``clients`` clients' already), into
    ``results`` as each is measured."""
    results["caseload.clients"] = clients
    headers = bearer(Settings(data_dir=data_dir))
    server = Server(data_dir, log)
    try:
        wait_until(server.ready, 300, "kotoutus run to start", every=0.2)
        settled = server.idle(timeout=3600)
        say(f"  embedded: started and idle after {settled:.0f} s (hash chains caught up)")

        caseload_sequential(server.url, headers, 20)  # warm-up
        took = caseload_sequential(server.url, headers, 200 if quick else 1000)
        results["caseload.p99_ms"] = percentile(took, 0.99)
        seconds = 10 if quick else 30
        pages = asyncio.run(caseload_concurrent(server.url, headers, CALLERS, seconds))
        results["caseload.req_per_s"] = pages / seconds
        say(
            f"  caseload: {len(took)} pages of {PAGE} one by one, p50 "
            f"{percentile(took, 0.5):.1f} ms, p99 {results['caseload.p99_ms']:.1f} ms; "
            f"{pages} pages by {CALLERS} callers in {seconds} s"
        )

        count = 500 if quick else 2000
        bodies = [registration() for _ in range(count)]
        started = time.time()
        sent = asyncio.run(post_all(server.url, bodies, CALLERS, headers))
        posted = time.time()

        def caught_up() -> bool:
            server.check()
            return reminded(data_dir, set(sent)) == len(sent)

        finished = wait_until(caught_up, 900, "the read side's reminders", every=0.25)
        results["embedded.registrations_per_s"] = count / (finished - started)
        results["embedded.rss_mb"] = server.memory_mb()
        results["embedded.clients"] = clients + count
        say(
            f"  embedded: {count} registrations by {CALLERS} callers; POST accepted "
            f"{count / (posted - started):.0f}/s, caught up "
            f"{results['embedded.registrations_per_s']:.0f}/s; RSS "
            f"{results['embedded.rss_mb']:.0f} MB (peak {server.memory_mb('VmHWM'):.0f} MB)"
        )
    except Exception:
        say(f"  --- the end of kotoutus run's log ---\n{log.read_text(errors='replace')[-1500:]}")
        raise
    finally:
        server.stop()
    if "embedded.clients" in results:
        size = disk_bytes(data_dir)
        results["embedded.disk_kb_per_client"] = size / 1024 / int(results["embedded.clients"])
        say(f"  embedded: {size / 2**20:.1f} MB in {data_dir} when stopped")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=2000)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    terminate_as_interrupt()
    with folder("embedded") as work:
        data_dir = work / "data"
        clients = generate(data_dir, args.clients, float("inf"))
        results: dict[str, float] = {}
        measure(data_dir, clients, args.quick, work / "run.log", results)
        for key, value in results.items():
            print(f"{key:36} {value:10.1f}")


if __name__ == "__main__":
    main()
