"""The distributed thread: the four services as OS processes on PostgreSQL and RabbitMQ.

- ``thread.registrations_per_s``: registrations posted to intake by 16 concurrent callers,
  per second through the whole thread (POST /clients → … → the reminder stored in
  notifications' own store), from the first POST to the last reminder's record time;
- ``thread.cpu_ms_per_registration.<process>``: CPU milliseconds each process spent per
  registration of that run, until every consumer's queue was empty (the read side too),
  beyond what each spends idle (measured before: ``thread.idle_cpu_ms_per_s.<process>``; as
  measured, idle included: ``thread.cpu_ms_per_registration_as_measured.<process>``):
  intake, assessment, plans, notifications, readside, the benchmark itself (``bench``: the
  callers and the follower of reminders), PostgreSQL's backends of the deployment's database
  (``postgres``), PostgreSQL's shared server processes and RabbitMQ (see ``bench.cpu``);
  and from them, what the processes would carry on more cores;
  ``thread.pg_transactions_per_registration``: transactions in the deployment's database;
- ``thread.latency_p50_ms``, ``thread.latency_p99_ms``: registrations sent at a steady 100 per
  second; from sending each POST to the record time of its client's ReminderScheduled.

The read side runs as its own process beside the four services, as deployed: it is not on the
way to a reminder, but it takes its share of the machine. ``--profile``: py-spy samples each
service process while the 16 callers post, and the top functions of each are printed.

Run alone: `.venv/bin/python bench/thread_bench.py [--quick] [--profile]` (the figures without
the ceilings; `bench/run.py` prints them beside the ceilings).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path
from uuid import UUID

import aio_pika
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import cpu, hotspots
from bench.common import (
    LogFollower,
    bearer,
    client_and_time,
    deployment,
    percentile,
    registration,
    say,
    terminate_as_interrupt,
    wait_until,
)
from kotoutus.bootstrap import build_application, subscriptions
from kotoutus.registry import SERVICES
from services.readside.service import READ_SIDE
from shared.messaging.topology import Topology
from shared.settings import Settings
from tests.support import ServiceProcesses

CALLERS = 16
RATE = 100.0  # registrations per second, for the latency
IDLE_SECONDS = 12.0  # the processes' CPU while idle, measured this long (PostgreSQL's
# counters of an idle backend are published every 10 s)


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


async def _ready(amqp_url: str, queues: list[str]) -> int:
    """Messages ready in ``queues``, read over one connection (a light probe: it runs while
    CPU is being counted)."""
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel()
        total = 0
        for name in queues:
            declared = await channel.declare_queue(name, passive=True)
            total += int(declared.declaration_result.message_count or 0)
        return total


def drained(settings: Settings, processes: ServiceProcesses, polls: int = 3) -> None:
    """Waits until no consumer's queue holds a message ready, ``polls`` times in a row half a
    second apart (what is left in a prefetch window is applied within that)."""
    topology = Topology.of(settings)
    queues = [topology.queue(subscription.name).name for subscription in subscriptions()]
    empty = 0

    def quiet() -> bool:
        nonlocal empty
        running(processes)
        empty = empty + 1 if asyncio.run(_ready(str(settings.amqp_url), queues)) == 0 else 0
        return empty >= polls

    wait_until(quiet, 900, "the consumers' queues to empty", every=0.5)


def measure(quick: bool, results: dict[str, float], profile: Path | None = None) -> None:
    """The figures into ``results``; with ``profile``, py-spy's files into that folder and
    the top functions of each process printed."""
    registrations = 500 if quick else 2000
    steady = 1000 if quick else 3000
    with deployment("thread") as (settings, work):
        processes = ServiceProcesses(settings, work)
        reminders = None
        names = [*SERVICES, READ_SIDE]
        try:
            for service in names:
                processes.start(service, wait=False)
            for service in names:
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

            drained(settings, processes)  # the warm-up's events are not this run's work

            pids = {name: process.pid for name, process in processes.processes.items()}
            database = str(settings.database_url).rsplit("/", 1)[1]
            idle_rates, idle_transactions = cpu.idle(cpu.CpuMeter(pids, database), IDLE_SECONDS)
            for name, rate in idle_rates.items():
                results[f"thread.idle_cpu_ms_per_s.{name}"] = rate * 1000
            meter = cpu.CpuMeter(pids, database)
            spies = hotspots.Recorder(pids, profile) if profile else None
            bodies = [registration() for _ in range(registrations)]
            meter.start()
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
            drained(settings, processes)
            used = meter.stop()
            profiles = spies.stop() if spies else {}
            gross = cpu.per_unit(
                "thread.cpu_ms_per_registration_as_measured", used, len(sent), results
            )
            ms = cpu.per_unit(
                "thread.cpu_ms_per_registration",
                cpu.beyond_idle(used, idle_rates, meter.seconds),
                len(sent),
                results,
            )
            for line in cpu.report("thread", "registration", ms, single=names, gross=gross):
                say(line)
            idle_total = sum(idle_rates.values()) * 1000
            transactions = meter.transactions - idle_transactions * meter.seconds
            per = results["thread.pg_transactions_per_registration"] = transactions / len(sent)
            say(
                f"    idle, the processes take {idle_total:.0f} ms of CPU per second and "
                f"{idle_transactions:.0f} transactions per second (polling); over the "
                f"{meter.seconds:.0f} s measured, beyond that: {per:.1f} PostgreSQL "
                "transactions per registration"
            )
            for name, found in profiles.items():
                say("\n".join(hotspots.top(found, name)))
            if profile:
                say(f"  py-spy's folded stacks: {profile}")

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
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--profile", action="store_true", help="py-spy each service process")
    args = parser.parse_args()
    terminate_as_interrupt()
    results: dict[str, float] = {}
    folder = Path(tempfile.mkdtemp(prefix="kotoutus-profile-")) if args.profile else None
    measure(args.quick, results, folder)
    for key, value in results.items():
        print(f"{key:52} {value:10.3f}")


if __name__ == "__main__":
    main()
