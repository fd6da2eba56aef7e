"""The distributed thread: the four services as OS processes on PostgreSQL and RabbitMQ.

- ``thread.registrations_per_s``: registrations posted to intake by 16 concurrent callers,
  per second through the whole thread (POST /clients → … → the reminder stored in
  notifications' own store), from the first POST to the last reminder's record time;
- ``thread.latency_p50_ms``, ``thread.latency_p99_ms``: registrations sent at a steady 100 per
  second; from sending each POST to the record time of its client's ReminderScheduled.

Run alone: `.venv/bin/python bench/thread_bench.py [--quick]` (the figures without the
ceilings; `bench/run.py` prints them beside the ceilings).
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path
from uuid import UUID

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (
    LogFollower,
    bearer,
    client_and_time,
    deployment,
    percentile,
    registration,
    run_alone,
    say,
    wait_until,
)
from kotoutus.bootstrap import build_application
from kotoutus.registry import SERVICES
from tests.support import ServiceProcesses

CALLERS = 16
RATE = 100.0  # registrations per second, for the latency


async def post_all(
    url: str, bodies: list[dict[str, object]], callers: int, headers: dict[str, str]
) -> dict[UUID, float]:
    """Posts every body, ``callers`` at a time; returns when each was sent (time.time())."""
    sent: dict[UUID, float] = {}
    pending = iter(bodies)

    async def caller(client: httpx.AsyncClient) -> None:
        for body in pending:
            sent[UUID(str(body["client_id"]))] = time.time()
            response = await client.post(f"{url}/clients", json=body)
            response.raise_for_status()

    limits = httpx.Limits(max_connections=callers)
    async with httpx.AsyncClient(headers=headers, timeout=120, limits=limits) as client:
        await asyncio.gather(*(caller(client) for _ in range(callers)))
    return sent


async def post_steady(
    url: str, count: int, rate: float, headers: dict[str, str]
) -> dict[UUID, float]:
    """Sends ``count`` registrations at ``rate`` per second, not waiting for answers first."""
    sent: dict[UUID, float] = {}
    # A connection each: one kept alive could be closed by the server (idle) just as it is
    # reused, and a POST is not sent twice.
    limits = httpx.Limits(max_connections=1000, max_keepalive_connections=0)
    async with httpx.AsyncClient(headers=headers, timeout=300, limits=limits) as client:
        tasks = []
        start = time.perf_counter()
        for i in range(count):
            await asyncio.sleep(max(0.0, start + i / rate - time.perf_counter()))
            body = registration()
            sent[UUID(str(body["client_id"]))] = time.time()
            tasks.append(asyncio.create_task(client.post(f"{url}/clients", json=body)))
        for response in await asyncio.gather(*tasks):
            response.raise_for_status()
    return sent


def running(processes: ServiceProcesses) -> None:
    """Fails at once, with its log, if a service process has exited."""
    for name, process in processes.processes.items():
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited with {process.returncode}: {processes.log(name)}")


def measure(quick: bool, results: dict[str, float]) -> None:
    registrations = 500 if quick else 2000
    steady = 1000 if quick else 3000
    with deployment("thread") as (settings, work):
        processes = ServiceProcesses(settings, work)
        reminders = None
        try:
            for service in SERVICES:
                processes.start(service, wait=False)
            for service in SERVICES:
                processes.wait_ready(service)
            intake = processes.url("intake")
            headers = bearer(settings)
            reminders = build_application(settings, SERVICES["notifications"])
            follower = LogFollower(reminders, "ReminderScheduled", client_and_time)

            def arrived(clients: set[UUID]) -> bool:
                running(processes)
                follower.poll()
                return clients <= follower.found.keys()

            warm_up = asyncio.run(post_all(intake, [registration() for _ in range(20)], 4, headers))
            wait_until(lambda: arrived(set(warm_up)), 120, "warm-up reminders")

            bodies = [registration() for _ in range(registrations)]
            started = time.time()
            sent = asyncio.run(post_all(intake, bodies, CALLERS, headers))
            posted = time.time()
            wait_until(lambda: arrived(set(sent)), 900, "reminders", every=0.2)
            finished = max(follower.found[c] for c in sent)
            rate = len(sent) / (finished - started)
            results["thread.registrations_per_s"] = rate
            say(
                f"  thread: {len(sent)} registrations by {CALLERS} callers; POST accepted "
                f"{len(sent) / (posted - started):.0f}/s, through to the reminder {rate:.0f}/s"
            )

            sent = asyncio.run(post_steady(intake, steady, RATE, headers))
            wait_until(lambda: arrived(set(sent)), 900, "reminders", every=0.2)
            latencies = [(follower.found[c] - t) * 1000 for c, t in sent.items()]
            say(
                f"  thread: {len(sent)} registrations at {RATE:.0f}/s; POST → reminder "
                f"mean {sum(latencies) / len(latencies):.0f} ms, max {max(latencies):.0f} ms"
            )
            if rate < RATE:
                say(
                    f"  (the thread carries {rate:.0f}/s here: sent at {RATE:.0f}/s, "
                    "registrations queue, and the latency is mostly their wait)"
                )
            results["thread.latency_p50_ms"] = percentile(latencies, 0.5)
            results["thread.latency_p99_ms"] = percentile(latencies, 0.99)
        except Exception:
            for name in processes.processes:
                say(f"  --- the end of {name}'s log ---\n{processes.log(name)[-1500:]}")
            raise
        finally:
            if reminders is not None:
                reminders.close()
            processes.stop_all()


def main() -> None:
    run_alone(__doc__, measure)


if __name__ == "__main__":
    main()
