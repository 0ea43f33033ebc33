"""Notifications' and cards' CPU per application: each consumer's code, timed in process.

On a machine shared with other platforms the journey load's CPU column mostly shows how
little CPU each process was given; this bench isolates what these two consumers' code costs
per application, as ``bench/applications_cpu.py`` does for applications. For each service,
in this process, against the running platform's Postgres, Kafka, SMS sink and mail catcher:

- a scratch schema migrated with the service's own migrations and scratch topics (6
  partitions, as the platform's), so the platform's instance never sees these events;
- the service's real consumer: ``sanad.shared.inbox.Inbox`` subscribed with exactly the
  handlers the service registers (``handlers.routes``), fetching from Kafka, de-duplicating
  and running the handlers in its transactions; for notifications also its delivery worker
  (``worker.worker_for``: claim, render, send to the SMS sink over HTTP and to the mail
  catcher over SMTP, record, ``NotificationDispatched`` into the outbox);
- the citizens (``sanad.platform.bulk_seed``) made known first as the platform would:
  ``CitizenRegistered`` (notifications' contacts) or ``ProfileUpdated`` (cards' holders);
- then, per application, what reaches the service in the journey: ``DecisionIssued`` v3
  APPROVED with a card (both services) and ``CardIssued`` (notifications), offered at
  ``--rate`` applications a second by a publisher in a thread of its own, whose CPU
  (``time.thread_time``) is taken out of the process's.

The figure is the process's CPU time (user + system) from the first measured event
published to the last effect stored (every card issued; every SMS and email sent and
recorded), minus the publisher thread's, per application — and the same over the idle
work (the worker's polls, the inbox's fetches) measured for ``--idle`` seconds before. Logs
are written as the service writes them (JSON, INFO) to ``.local/logs/bench-consumers.log``.
Not included: the outbox relay (shared code; about 25 µs an event in
``bench/event_pipe.py``) — the events these services publish stay in the scratch outbox.

    uv run python bench/consumers_cpu.py --applications 600 --rate 60

Writes bench/results/consumers_cpu.json (``--name`` to change).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import platform
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psutil
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from sanad.platform import bulk_seed
from sanad.platform.layout import LOGS, MAIL_SMTP_PORT, SMS_SINK_PORT, port
from sanad.platform.testing import Infra, eventually, local_infra, service_scratch_schema
from sanad.shared import kafka_clients
from sanad.shared.auth import TokenSigner, generate_signing_key
from sanad.shared.clock import SystemClock
from sanad.shared.db import SessionFactory, session_factory
from sanad.shared.events import CardIssued, DecisionIssuedV3, Envelope
from sanad.shared.inbox import Inbox
from sanad.shared.kafka_admin import ensure_topics
from sanad.shared.kafka_clients import KafkaAccess
from sanad.shared.logging import configure_logging
from sanad.shared.topics import TopicSpec

RESULTS = Path(__file__).parent / "results"
LOG_FILE = LOGS / "bench-consumers.log"


def card(issued: DecisionIssuedV3) -> CardIssued:
    return CardIssued(
        card_id=uuid.uuid4(),
        card_number="4000123412341234",
        citizen_id=issued.citizen_id,
        application_id=issued.application_id,
        program_code=issued.program_code,
        issued_at=issued.decided_at,
        expires_at=(issued.decided_at + timedelta(days=365)).date(),
    )


def wrap(event: Any, producer: str) -> Envelope:
    return Envelope.wrap(event, producer=producer, correlation_id=f"cpu-{uuid.uuid4().hex[:8]}")


@dataclass
class Target:
    """One service under measurement: what it consumes and how to see it is done."""

    name: str
    migrations: Path
    routes: dict[str, Any]
    seed: list[Envelope]  # what makes the citizens known, published before measuring
    seeded: str  # SQL: how many citizens the service knows
    load: list[list[Envelope]]  # per application, what reaches the service
    done: str  # SQL: how many applications have all their effects
    checks: dict[str, str]  # SQL figures reported with the result (exactly-once checks)
    worker: Callable[[SessionFactory], Any] | None = None  # notifications' delivery worker


def targets(people: list[bulk_seed.Citizen]) -> dict[str, Callable[[], Target]]:
    decisions = [bulk_seed.approval(c) for c in people]

    def notifications() -> Target:
        from sanad.identity.settings import IdentitySettings
        from sanad.notifications.handlers import routes
        from sanad.notifications.main import MIGRATIONS
        from sanad.notifications.settings import NotificationsSettings
        from sanad.notifications.worker import worker_for

        assert MIGRATIONS is not None
        settings = NotificationsSettings(
            sms_base_url=f"http://127.0.0.1:{port(SMS_SINK_PORT)}",
            smtp_port=port(MAIL_SMTP_PORT),
        )
        pseudonyms = IdentitySettings().pseudonyms
        return Target(
            name="notifications",
            migrations=MIGRATIONS,
            routes=routes(settings),
            seed=[wrap(bulk_seed.registered(c, pseudonyms), "identity") for c in people],
            seeded="SELECT count(*) FROM contacts",
            load=[[wrap(d, "applications"), wrap(card(d), "cards")] for d in decisions],
            # An application is done when its four messages are sent and recorded.
            done="SELECT count(*) / 4 FROM deliveries WHERE status = 'sent'",
            checks={
                "deliveries": "SELECT count(*) FROM deliveries",
                "deliveries_sent": "SELECT count(*) FROM deliveries WHERE status = 'sent'",
                "attempts": "SELECT count(*) FROM delivery_attempts",
                "notification_dispatched": "SELECT count(*) FROM outbox "
                "WHERE event_type = 'NotificationDispatched'",
            },
            worker=lambda sessions: worker_for(settings, sessions),
        )

    def cards() -> Target:
        from sanad.cards.handlers import routes
        from sanad.cards.main import MIGRATIONS

        assert MIGRATIONS is not None
        return Target(
            name="cards",
            migrations=MIGRATIONS,
            routes=routes(SystemClock()),
            seed=[wrap(bulk_seed.household(c), "profile") for c in people],
            seeded="SELECT count(*) FROM holders",
            load=[[wrap(d, "applications")] for d in decisions],
            done="SELECT count(*) FROM cards",
            checks={
                "cards": "SELECT count(*) FROM cards",
                "card_issued": "SELECT count(*) FROM outbox WHERE event_type = 'CardIssued'",
            },
        )

    return {"cards": cards, "notifications": notifications}


class Publisher:
    """Publishes on Kafka from a thread (and event loop) of its own, so that its CPU time
    can be told apart from the service's."""

    def __init__(self, access: KafkaAccess, topics: dict[str, str]) -> None:
        self._access, self._topics = access, topics
        self.cpu = 0.0

    async def publish(self, groups: Sequence[Sequence[Envelope]], rate: float) -> None:
        failure: list[BaseException] = []

        def body() -> None:
            began = time.thread_time()
            try:
                asyncio.run(self._send(groups, rate))
            except BaseException as exc:
                failure.append(exc)
            self.cpu += time.thread_time() - began

        thread = threading.Thread(target=body, name="bench-publisher")
        thread.start()
        await asyncio.to_thread(thread.join)
        if failure:
            raise failure[0]

    async def _send(self, groups: Sequence[Sequence[Envelope]], rate: float) -> None:
        producer = kafka_clients.producer(self._access, client_id="bench-consumers-cpu")
        await producer.start()
        try:
            loop = asyncio.get_running_loop()
            start = loop.time()
            sent = []
            for i, group in enumerate(groups):
                if rate and (wait := start + i / rate - loop.time()) > 0:
                    await asyncio.sleep(wait)
                for e in group:
                    topic = self._topics[e.event_type]
                    future = await producer.send(
                        topic, e.to_bytes(), key=e.key.encode(), headers=e.headers()
                    )
                    sent.append(future)
            await asyncio.gather(*sent)
        finally:
            await producer.stop()


async def count(engine: AsyncEngine, sql: str) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(text(sql))).scalar_one())


async def measure(
    infra: Infra, target: Target, *, warm: int, rate: float, idle: float
) -> dict[str, Any]:
    suffix = uuid.uuid4().hex[:8]
    event_types = {e.event_type for e in target.seed} | {
        e.event_type for group in target.load for e in group
    }
    topics = {t: f"bench.{target.name}.{t.lower()}-{suffix}" for t in sorted(event_types)}
    await ensure_topics(infra.kafka, [TopicSpec(name) for name in topics.values()])
    publisher = Publisher(infra.kafka, topics)
    total = len(target.load)
    async with service_scratch_schema(infra, target.name, target.migrations) as scratch:
        sessions = session_factory(scratch.engine, producer=target.name)
        inbox = Inbox(infra.kafka, sessions, client_id=f"bench-{target.name}")
        inbox.subscribe(
            group_id=f"bench-{target.name}-{suffix}", topics=topics.values(), **target.routes
        )
        await inbox.start()
        worker = target.worker(sessions) if target.worker else None
        running = asyncio.create_task(worker.run()) if worker else None
        try:

            async def reached(sql: str, n: int, what: str) -> None:
                await eventually(
                    lambda: count(scratch.engine, sql),
                    until=lambda c: c >= n,
                    timeout=600,
                    interval=0.2,
                    what=what,
                )

            await publisher.publish([target.seed], rate=0)
            await reached(target.seeded, total, "every citizen known")
            # Warm: connections, compiled statements, SMTP sessions, the consumer's fetches.
            await publisher.publish(target.load[:warm], rate=rate)
            await reached(target.done, warm, "the warm-up applications done")
            publisher.cpu = 0.0
            began_cpu = time.process_time()
            await asyncio.sleep(idle)
            idle_cpu_per_s = (time.process_time() - began_cpu) / idle
            began_cpu, began_wall = time.process_time(), time.monotonic()
            await publisher.publish(target.load[warm:], rate=rate)
            await reached(target.done, total, "every application done")
            wall = time.monotonic() - began_wall
            cpu = time.process_time() - began_cpu - publisher.cpu
            checks = {k: await count(scratch.engine, sql) for k, sql in target.checks.items()}
        finally:
            if running is not None and worker is not None:
                running.cancel()
                await asyncio.gather(running, return_exceptions=True)
                await worker.close()
            await inbox.stop()
    n = total - warm
    return {
        "applications": n,
        "cpu_ms_per_application": round(1000 * cpu / n, 2),
        "cpu_ms_per_application_over_idle": round(1000 * (cpu - idle_cpu_per_s * wall) / n, 2),
        "idle_cpu_percent": round(100 * idle_cpu_per_s, 2),
        "publisher_cpu_ms_per_application": round(1000 * publisher.cpu / n, 2),
        "wall_s": round(wall, 2),
        "applications_per_s": round(n / wall, 1),
        "checks": checks,
    }


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    infra = local_infra()
    configure_logging("bench-consumers", "INFO")
    LOG_FILE.parent.mkdir(parents=True, exist_ok=True)
    for handler in logging.getLogger().handlers:  # as the service logs, into a file
        if isinstance(handler, logging.StreamHandler):
            handler.setStream(LOG_FILE.open("a"))
    signer = TokenSigner(generate_signing_key())
    total = args.applications + args.warm
    people = bulk_seed.citizens(total, signer, all_approved=True, email_domain="cpu.example")
    makers = targets(people)
    measured: dict[str, Any] = {}
    for name in args.services:
        measured[name] = await measure(
            infra, makers[name](), warm=args.warm, rate=args.rate, idle=args.idle
        )
        print(name, json.dumps(measured[name]), flush=True)
    return {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
        f"{round(psutil.virtual_memory().total / 2**30)} GiB, Python {platform.python_version()}",
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "rate_offered": args.rate,
        **measured,
        "command": f"uv run python bench/consumers_cpu.py --applications {args.applications} "
        f"--rate {args.rate:g} --services {' '.join(args.services)}",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--applications", type=int, default=600, help="measured, per service")
    parser.add_argument("--rate", type=float, default=60, help="applications/s offered (0: all)")
    parser.add_argument("--warm", type=int, default=30, help="applications before measuring")
    parser.add_argument("--idle", type=float, default=5.0, help="seconds of idle measured")
    parser.add_argument(
        "--services",
        nargs="+",
        choices=("cards", "notifications"),
        default=["cards", "notifications"],
    )
    parser.add_argument("--name", default="consumers_cpu", help="results file name")
    args = parser.parse_args()
    os.environ.setdefault("SANAD_ENV", "dev")
    outcome = asyncio.run(main_async(args))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{args.name}.json").write_text(json.dumps(outcome, indent=2) + "\n")
    print(json.dumps(outcome, indent=2))


if __name__ == "__main__":
    main()
