"""Inbound CloudEvents through intake, exactly once: intake as its own OS process on
PostgreSQL and RabbitMQ; one Migri residence permit per new person (each registers a client)
published to the deployment's `<prefix>.inbound` exchange, persistent, with publisher confirms
(aio-pika: pika is not among the locked dependencies), 100 in flight.

- ``inbound.events_per_s``: messages per second from the first publish until intake has stored
  a receipt for every one; checked: one receipt per message, one client per person, nothing
  dead-lettered;
- ``inbound.cpu_ms_per_event.<process>``: CPU milliseconds per message, beyond idle (as in
  ``bench.thread_bench``; as measured: ``inbound.cpu_ms_per_event_as_measured``), of intake, the
  publisher (``bench``), PostgreSQL's backends of the deployment's database, PostgreSQL's
  shared server processes and RabbitMQ, from the first publish until the receipts were counted
  (see ``bench.cpu``); ``inbound.pg_transactions_per_event``: transactions in its database.

Run alone: `.venv/bin/python bench/inbound_bench.py [--quick]`.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path

import aio_pika

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import cpu
from bench.common import TAG, LogFollower, deployment, run_alone, say, wait_until
from bench.thread_bench import IDLE_SECONDS, running
from kotoutus.bootstrap import build_application
from kotoutus.registry import SERVICES
from shared.contracts.inbound import ResidencePermitGranted, example
from shared.messaging.topology import Topology
from shared.settings import Settings
from tests.support import ServiceProcesses, queue_depth

CHECK = "0123456789ABCDEFHJKLMNPRSTUVWXY"


def person_code(n: int) -> str:
    """A valid identity code of its own for each of some nine million persons born 1970–99:
    DDMMYY, the century sign, an individual number 002–899, the check character."""
    day = n // 898
    birth = f"{day % 28 + 1:02d}{day // 28 % 12 + 1:02d}{70 + day // 336:02d}"
    individual = f"{n % 898 + 2:03d}"
    return f"{birth}-{individual}{CHECK[int(birth + individual) % 31]}"


def permit(n: int) -> bytes:
    message = example(ResidencePermitGranted, f"bench-{TAG}-{n}")
    message["data"]["person"] = {
        "identity_code": person_code(n),
        "given_names": "Bench",
        "family_name": f"Mark {n}",
    }
    return json.dumps(message).encode()


async def publish(settings: Settings, bodies: list[bytes], in_flight: int = 100) -> None:
    connection = await aio_pika.connect(settings.amqp_url or "")
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        exchange = await channel.get_exchange(Topology.of(settings).inbound.name)

        async def one(body: bytes) -> None:
            await exchange.publish(
                aio_pika.Message(
                    body,
                    message_id=json.loads(body)["id"],
                    content_type="application/json",
                    delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                ),
                routing_key="registry",
            )

        for first in range(0, len(bodies), in_flight):
            await asyncio.gather(*(one(body) for body in bodies[first : first + in_flight]))


def measure(quick: bool, results: dict[str, float]) -> None:
    persons = 1000 if quick else 5000
    with deployment("inbound") as (settings, work):
        processes = ServiceProcesses(settings, work)
        intake = None
        try:
            processes.start("intake")
            intake = build_application(settings, SERVICES["intake"])
            receipts = LogFollower(intake, "InboundReceipt.Received")
            bodies = [permit(n) for n in range(persons)]

            def all_received() -> bool:
                running(processes)
                return receipts.poll() >= persons

            pids = {"intake": processes.processes["intake"].pid}
            database = str(settings.database_url).rsplit("/", 1)[1]
            idle_rates, idle_transactions = cpu.idle(cpu.CpuMeter(pids, database), IDLE_SECONDS)
            meter = cpu.CpuMeter(pids, database)
            meter.start()
            started = time.time()
            asyncio.run(publish(settings, bodies))
            published = time.time()
            finished = wait_until(all_received, 900, "inbound receipts")
            rate = persons / (finished - started)

            time.sleep(1)  # anything more would show now
            used = meter.stop()
            registered = LogFollower(intake, "Client.Registered").poll()
            dead_letters = Topology.of(settings).dead_letter_queue(
                Topology.inbound_consumer("intake")
            )
            dead = queue_depth(settings, dead_letters.name)
            say(
                f"  inbound: {persons} messages confirmed by the broker at "
                f"{persons / (published - started):.0f}/s; {receipts.poll()} receipts, "
                f"{registered} clients registered, {dead} dead-lettered"
            )
            if (receipts.count, registered, dead) != (persons, persons, 0):
                raise RuntimeError("inbound: not exactly once (see the line above)")
            results["inbound.events_per_s"] = rate
            gross = cpu.per_unit("inbound.cpu_ms_per_event_as_measured", used, persons, results)
            ms = cpu.per_unit(
                "inbound.cpu_ms_per_event",
                cpu.beyond_idle(used, idle_rates, meter.seconds),
                persons,
                results,
            )
            for line in cpu.report("inbound", "message", ms, single=["intake"], gross=gross):
                say(line)
            transactions = meter.transactions - idle_transactions * meter.seconds
            per = results["inbound.pg_transactions_per_event"] = transactions / persons
            say(f"    PostgreSQL transactions per message (beyond idle polling): {per:.2f}")
        except Exception:
            say(f"  --- the end of intake's log ---\n{processes.log('intake')[-1500:]}")
            raise
        finally:
            if intake is not None:
                intake.close()
            processes.stop_all()


def main() -> None:
    run_alone(__doc__, measure)


if __name__ == "__main__":
    main()
