"""Load benchmark: whole applications through the running platform, measured on Kafka.

1. **Pre-registration, seeded in bulk** (``sanad.platform.bulk_seed``, which the fault tests
   use too) — not through the OTP registration one by one, which is argon2-bound (about 15/s
   here) and measured by ``bench/identity_load.py``, nor request by request. ``--citizens N``
   people's ``CitizenRegistered`` (as identity publishes it on verification) and filled-in
   household (``ProfileUpdated`` as profile publishes it: an income of 900 SAR, approved for
   SSP-DEV, 200 SAR, with a card) are published on Kafka, and the bench waits until
   applications holds every household and notifications every contact. One draft with its
   form and four documents is made through the gateway and copied in SQL for everyone (one
   transaction). Access tokens are issued with identity's signing key (the dev key of the
   local platform) as a sign-in would issue them. 1,000 citizens take seconds, most of them
   the services consuming the seeded events. Each client address is its own 127.x.y.z, as
   citizens come from many addresses (the gateway limits requests per address).
2. **Load.** Drafts are submitted through the gateway (``POST …/submit``) at ``--rate`` per
   second, or as fast as ``--concurrency`` clients go when ``--rate 0``, for ``--duration``
   seconds or until the drafts run out.
3. **Measured from the events on Kafka** (a consumer of the topics, no group): an application
   is complete end to end when its ``DecisionIssued`` is published, its ``CardIssued`` too
   (SSP-DEV issues cards on approval) and a ``NotificationDispatched`` ``sent`` for the
   decision on both SMS and email. Times are the Kafka record timestamps (when the relay
   published the event) minus the moment the bench sent the submit request. CPU per process
   (services, Kafka, Postgres, Redis, the sinks, this load generator) from psutil.
4. **The bare chain** of the same number of hops on the critical path (submitted →
   eligibility → applications → notifications: 3 hops after the first produce), in the same
   run: each hop a batch ``getmany``, one asyncpg transaction, a produce per message, one
   offset commit; the same number of messages, as fast as possible. The ratio is the
   platform's completed applications/s over the chain's messages/s.

    uv run python bench/journey_load.py --citizens 2000 --rate 0 --duration 60
    uv run python bench/journey_load.py --citizens 3000 --rate 100 --duration 30

Writes bench/results/journey_load.json and journey_load.png (throughput and latency over time).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import random
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pg_statements  # bench/: run as a script, its folder is on the path
import psutil
import seeded_views
from aiokafka import TopicPartition
from sqlalchemy.ext.asyncio import create_async_engine

from sanad.platform import bulk_seed
from sanad.platform.layout import LOCAL
from sanad.platform.services import platform_env
from sanad.platform.testing import Infra, local_infra
from sanad.shared import kafka_clients, topics
from sanad.shared.auth import TokenSigner
from sanad.shared.db import asyncpg_dsn
from sanad.shared.events import Envelope
from sanad.shared.kafka_admin import ensure_topics
from sanad.shared.topics import TopicSpec

RESULTS = Path(__file__).parent / "results"
IDLE_SAMPLE_S = 10.0
WATCHED = (
    topics.APPLICATION_SUBMITTED,
    topics.ELIGIBILITY_EVALUATED,
    topics.DECISION_ISSUED,
    topics.CARD_ISSUED,
    topics.NOTIFICATION_DISPATCHED,
)


@dataclass
class Seeded:
    citizen_id: str
    token: str
    address: str  # the client address it comes from
    application_id: str = ""


@dataclass
class Tracked:
    submitted_at: float = 0.0  # wall clock, seconds
    answered_at: float | None = None  # the submit's answer came back
    submitted_event_at: float | None = None  # ApplicationSubmitted on Kafka
    evaluated_at: float | None = None  # EligibilityEvaluated on Kafka
    decision_at: float | None = None
    decision: str | None = None
    decision_event: str | None = None
    card_at: float | None = None
    sms_at: float | None = None
    email_at: float | None = None

    def complete(self) -> float | None:
        needed = [self.decision_at, self.sms_at, self.email_at]
        if self.decision == "APPROVED":
            needed.append(self.card_at)
        if any(t is None for t in needed):
            return None
        return max(t for t in needed if t is not None)


def client_addresses(count: int) -> list[str]:
    return [f"127.{1 + n // 250 // 250}.{1 + n // 250 % 250}.{1 + n % 250}" for n in range(count)]


# -- 1. pre-registration ------------------------------------------------------------------


async def seed_citizens(
    infra: Infra, count: int, addresses: list[str], gateway: str
) -> list[Seeded]:
    """``count`` citizens with a submittable draft each, seeded in bulk
    (``sanad.platform.bulk_seed``): their registrations and households on Kafka, one template
    draft through the gateway, copied in SQL for the rest; tokens signed with identity's key."""
    from sanad.identity.settings import IdentitySettings
    from sanad.shared.settings import reveal

    env = platform_env()
    settings = IdentitySettings(pg_host=env["SANAD_PG_HOST"], pg_port=int(env["SANAD_PG_PORT"]))
    signer = TokenSigner(reveal(settings.signing_key.get_secret_value()))
    people = bulk_seed.citizens(
        count + 1,
        signer,
        all_approved=True,
        email_domain="load.example",
        token_ttl_seconds=4 * 3600,
    )
    owner, people = people[0], people[1:]
    producer = kafka_clients.producer(infra.kafka)
    await producer.start()
    try:
        await bulk_seed.seed_profiles(producer, [owner, *people], settings.pseudonyms)
    finally:
        await producer.stop()
    await seeded_downstream(infra, [owner, *people])
    db = create_async_engine(infra.database_admin_url())
    try:
        async with httpx.AsyncClient(timeout=60) as http:
            template = await bulk_seed.template_draft(http, owner, gateway)
        await bulk_seed.copy_drafts(db, template, people)
    finally:
        await db.dispose()
    await seeded_views.store_views(infra, [c.application_id for c in people if c.application_id])
    return [
        Seeded(
            str(c.citizen_id),
            c.headers["Authorization"].removeprefix("Bearer "),
            addresses[n % len(addresses)],
            str(c.application_id),
        )
        for n, c in enumerate(people)
    ]


async def seeded_downstream(infra: Infra, people: list[bulk_seed.Citizen]) -> None:
    """Wait until applications holds every household (it snapshots it at submission) and
    notifications every contact (through Kafka)."""
    pg = await asyncpg.connect(asyncpg_dsn(infra.database_admin_url()))
    ids = [c.citizen_id for c in people]
    try:
        for _ in range(1200):
            profiles = await pg.fetchval(
                "SELECT count(*) FROM applications.citizen_profiles "
                "WHERE citizen_id = ANY($1::uuid[]) AND version >= $2",
                ids,
                bulk_seed.PROFILE_VERSION,
            )
            contacts = await pg.fetchval(
                "SELECT count(*) FROM notifications.contacts WHERE citizen_id = ANY($1::uuid[])",
                ids,
            )
            if profiles >= len(ids) and contacts >= len(ids):
                return
            await asyncio.sleep(0.5)
        raise RuntimeError(
            f"of {len(ids)} seeded citizens, applications holds {profiles} households "
            f"and notifications {contacts} contacts"
        )
    finally:
        await pg.close()


class Clients:
    """One HTTP client per client address, to the gateway."""

    def __init__(self, gateway: str, addresses: list[str]) -> None:
        limits = httpx.Limits(max_connections=8, max_keepalive_connections=8)
        self.by_address = {
            address: httpx.AsyncClient(
                base_url=gateway,
                timeout=60,
                limits=limits,
                transport=httpx.AsyncHTTPTransport(local_address=address, limits=limits),
            )
            for address in addresses
        }

    def __getitem__(self, address: str) -> httpx.AsyncClient:
        return self.by_address[address]

    async def aclose(self) -> None:
        for client in self.by_address.values():
            await client.aclose()


async def retrying(call: Any, what: str, attempts: int = 8) -> httpx.Response:
    """The gateway sheds load with 429/503 + Retry-After: wait as told, then again; a
    connection dropped under load is tried again too (a submit carries an Idempotency-Key and
    a profile write an If-Match, so a repeat changes nothing twice)."""
    outcome = "no answer"
    for _ in range(attempts):
        try:
            response: httpx.Response = await call()
        except httpx.TransportError as exc:
            outcome = repr(exc)
            await asyncio.sleep(1 + random.random())
            continue
        if response.status_code not in (429, 503):
            return response
        outcome = str(response.status_code)
        await asyncio.sleep(float(response.headers.get("retry-after", 1)) + random.random())
    raise RuntimeError(f"{what}: still {outcome} after {attempts} attempts")


# -- 2. and 3. the load, measured on Kafka ------------------------------------------------


class Watcher:
    """Reads the watched topics from their current end, joining events to applications."""

    def __init__(self, infra: Infra, tracked: dict[str, Tracked]) -> None:
        self.infra, self.tracked = infra, tracked
        self.by_decision_event: dict[str, str] = {}
        self.dispatched: dict[str, list[tuple[str, float]]] = defaultdict(list)
        self.consumer = kafka_clients.consumer(infra.kafka, enable_auto_commit=False)
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self.consumer.start()
        partitions = [
            TopicPartition(topic, p)
            for topic in WATCHED
            for p in (self.consumer.partitions_for_topic(topic) or await self._partitions(topic))
        ]
        self.consumer.assign(partitions)
        await self.consumer.seek_to_end(*partitions)
        for tp in partitions:  # resolve the end now, before any submit
            await self.consumer.position(tp)
        self._task = asyncio.create_task(self._run())

    async def _partitions(self, topic: str) -> set[int]:
        await self.consumer._client.force_metadata_update()
        return self.consumer.partitions_for_topic(topic) or set()

    async def _run(self) -> None:
        while True:
            batches = await self.consumer.getmany(timeout_ms=500, max_records=2000)
            for tp, records in batches.items():
                for record in records:
                    self._see(tp.topic, Envelope.from_bytes(record.value), record.timestamp / 1000)

    def _see(self, topic: str, envelope: Envelope, at: float) -> None:
        payload = envelope.payload
        if topic in (topics.APPLICATION_SUBMITTED, topics.ELIGIBILITY_EVALUATED):
            item = self.tracked.get(str(payload.get("application_id")))
            if item is not None and topic == topics.APPLICATION_SUBMITTED:
                item.submitted_event_at = item.submitted_event_at or at
            elif item is not None:
                item.evaluated_at = item.evaluated_at or at
        elif topic == topics.DECISION_ISSUED:
            item = self.tracked.get(str(payload["application_id"]))
            if item is not None:
                item.decision_at, item.decision = at, payload["decision"]
                item.decision_event = str(envelope.event_id)
                self.by_decision_event[str(envelope.event_id)] = str(payload["application_id"])
                for channel, seen in self.dispatched.pop(str(envelope.event_id), []):
                    self._dispatched(item, channel, seen)
        elif topic == topics.CARD_ISSUED:
            item = self.tracked.get(str(payload["application_id"]))
            if item is not None:
                item.card_at = at
        elif payload.get("status") == "sent":
            source = str(payload["source_event_id"])
            application = self.by_decision_event.get(source)
            if application is None:  # a card's notice, an OTP, or ahead of its decision
                self.dispatched[source].append((payload["channel"], at))
            else:
                self._dispatched(self.tracked[application], payload["channel"], at)

    @staticmethod
    def _dispatched(item: Tracked, channel: str, at: float) -> None:
        if channel == "sms":
            item.sms_at = at
        else:
            item.email_at = at

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.consumer.stop()


async def submit_load(
    clients: Clients,
    citizens: list[Seeded],
    tracked: dict[str, Tracked],
    *,
    rate: float,
    duration: float,
    concurrency: int,
) -> dict[str, Any]:
    """Submit the drafts at ``rate``/s (0: as fast as ``concurrency`` clients go)."""
    errors: dict[str, int] = defaultdict(int)
    queue = list(citizens)
    started = time.monotonic()
    deadline = started + duration

    async def submit(citizen: Seeded) -> None:
        api = clients[citizen.address]
        tracked[citizen.application_id] = Tracked(time.time())  # the submit is sent now
        response = await retrying(
            lambda: api.post(
                f"/v1/applications/{citizen.application_id}/submit",
                json={"declaration_accepted": True},
                headers={
                    "Authorization": f"Bearer {citizen.token}",
                    "Idempotency-Key": f"load-{citizen.application_id}",
                },
            ),
            "submit",
        )
        if response.status_code != 200:
            errors[str(response.status_code)] += 1
            del tracked[citizen.application_id]
        else:
            tracked[citizen.application_id].answered_at = time.time()

    if rate > 0:
        pending: set[asyncio.Task[None]] = set()
        sent = 0
        while queue and time.monotonic() < deadline:
            due = started + sent / rate
            if (wait := due - time.monotonic()) > 0:
                await asyncio.sleep(wait)
            task = asyncio.create_task(submit(queue.pop()))
            pending.add(task)
            task.add_done_callback(pending.discard)
            sent += 1
        await asyncio.gather(*pending)
    else:

        async def worker() -> None:
            while queue and time.monotonic() < deadline:
                await submit(queue.pop())

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return {
        "submitted": len(tracked),
        "submit_seconds": time.monotonic() - started,
        "errors": dict(errors),
    }


# -- 4. the bare chain --------------------------------------------------------------------


async def bare_chain(infra: Infra, messages: int, hops: int = 3) -> dict[str, float]:
    """``messages`` through ``hops`` hops of bare aiokafka + asyncpg, as fast as it goes."""
    suffix = uuid.uuid4().hex[:8]
    names = [f"bench.chain{n}-{suffix}" for n in range(hops + 1)]
    await ensure_topics(infra.kafka, [TopicSpec(name) for name in names])
    pg_dsn = asyncpg_dsn(infra.database_admin_url())
    schema = f"bench_chain_{suffix}"
    admin = await asyncpg.connect(pg_dsn)
    await admin.execute(f'CREATE SCHEMA "{schema}"')
    for n in range(hops):
        await admin.execute(f'CREATE TABLE "{schema}".hop{n} (id uuid PRIMARY KEY)')
    producer = kafka_clients.producer(infra.kafka, linger_ms=5)
    await producer.start()
    done = asyncio.Event()
    arrived = 0

    async def hop(n: int) -> None:
        nonlocal arrived
        insert = f'INSERT INTO "{schema}".hop{n} (id) VALUES ($1) ON CONFLICT DO NOTHING'  # noqa: S608
        pg = await asyncpg.connect(pg_dsn)
        out = kafka_clients.producer(infra.kafka, linger_ms=5)
        consumer = kafka_clients.consumer(
            infra.kafka,
            names[n],
            group_id=f"bench-chain{n}-{suffix}",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
        )
        await out.start()
        await consumer.start()
        try:
            while not done.is_set():
                batches = await consumer.getmany(timeout_ms=200, max_records=500)
                records = [r for rs in batches.values() for r in rs]
                if not records:
                    continue
                ids = [(uuid.UUID(json.loads(r.value)["id"]),) for r in records]
                async with pg.transaction():
                    await pg.executemany(insert, ids)
                sends = [await out.send(names[n + 1], r.value, key=r.key) for r in records]
                await asyncio.gather(*sends)
                await consumer.commit()
                if n == hops - 1:
                    arrived += len(records)
                    if arrived >= messages:
                        done.set()
        finally:
            await consumer.stop()
            await out.stop()
            await pg.close()

    workers = [asyncio.create_task(hop(n)) for n in range(hops)]
    await asyncio.sleep(3)  # consumers joined their groups
    started = time.perf_counter()
    sends = []
    for _ in range(messages):
        body = json.dumps({"id": str(uuid.uuid4())}).encode()
        sends.append(await producer.send(names[0], body, key=body[8:24]))
    await asyncio.gather(*sends)
    await asyncio.wait_for(done.wait(), timeout=600)
    elapsed = time.perf_counter() - started
    await asyncio.gather(*workers)
    await producer.stop()
    await admin.execute(f'DROP SCHEMA "{schema}" CASCADE')
    await admin.close()
    return {"hops": hops, "messages": messages, "seconds": elapsed, "per_s": messages / elapsed}


# -- CPU per process ----------------------------------------------------------------------


def platform_processes() -> dict[str, list[psutil.Process]]:
    """The platform's processes by part (pid files of ./sanad up), Postgres with its
    backends, and this load generator."""
    found: dict[str, list[psutil.Process]] = {"load generator (this)": [psutil.Process()]}
    for pidfile in sorted((LOCAL / "run").glob("*.pid")):
        with contextlib.suppress(ValueError, psutil.Error):
            # The pid file names the part's supervisor: the program runs as its child (and a
            # server's workers as the program's children).
            process = psutil.Process(int(pidfile.read_text().split()[0]))
            found[pidfile.stem] = [process, *process.children(recursive=True)]
    for process in psutil.process_iter(["name", "cmdline"]):
        with contextlib.suppress(psutil.Error):
            cmdline = " ".join(process.info["cmdline"] or [])
            if process.info["name"] in ("postgres", "postmaster") and str(LOCAL) in cmdline:
                found.setdefault("postgres", []).extend([process, *process.children()])
    return found


def cpu_seconds(processes: dict[str, list[psutil.Process]]) -> dict[str, float]:
    totals = {}
    for name, procs in processes.items():
        total = 0.0
        for process in procs:
            with contextlib.suppress(psutil.Error):
                times = process.cpu_times()
                total += times.user + times.system
        totals[name] = total
    return totals


def postgres_backends_cpu() -> float:
    """This platform's Postgres: the postmaster, its live backends, and the backends that
    have exited since it started (counted in the postmaster's children times)."""
    total = 0.0
    for process in psutil.process_iter(["name", "cmdline"]):
        cmdline = " ".join(process.info["cmdline"] or [])
        if process.info["name"] in ("postgres", "postmaster") and str(LOCAL) in cmdline:
            with contextlib.suppress(psutil.Error):
                times = process.cpu_times()
                total += times.user + times.system + times.children_user + times.children_system
                for child in process.children(recursive=True):
                    child_times = child.cpu_times()
                    total += child_times.user + child_times.system
    return total


# -- results ------------------------------------------------------------------------------


def _spans(items: list[Tracked], start: str, end: str) -> list[float]:
    """Seconds from ``start`` to ``end`` of every application that has both."""
    pairs = ((getattr(i, start), getattr(i, end)) for i in items)
    return [b - a for a, b in pairs if a is not None and b is not None]


def percentiles(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"p50_ms": None, "p95_ms": None, "p99_ms": None, "max_ms": None}
    ordered = sorted(values)

    def at(q: float) -> float:
        return round(1000 * ordered[min(len(ordered) - 1, int(q * len(ordered)))], 1)

    return {"p50_ms": at(0.50), "p95_ms": at(0.95), "p99_ms": at(0.99), "max_ms": at(1.0)}


def plot(tracked: dict[str, Tracked], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    items = [i for i in tracked.values() if i.complete() is not None]
    if not items:
        return
    start = min(i.submitted_at for i in tracked.values())
    seconds = int(max(i.complete() or 0 for i in items) - start) + 1
    completed = [0] * seconds
    submitted = [0] * seconds
    for item in tracked.values():
        submitted[min(seconds - 1, int(item.submitted_at - start))] += 1
    for item in items:
        completed[min(seconds - 1, int((item.complete() or 0) - start))] += 1
    figure, (top, bottom) = plt.subplots(2, 1, figsize=(10, 7), sharex=True)
    top.plot(range(seconds), submitted, label="submitted/s", alpha=0.6)
    top.plot(range(seconds), completed, label="completed end to end/s")
    top.set_ylabel("applications/s")
    top.legend()
    top.set_title(title)
    for label, attr in (("submit → decision", "decision_at"), ("submit → notification", None)):
        xs, ys = [], []
        for item in sorted(items, key=lambda i: i.submitted_at):
            end = getattr(item, attr) if attr else max(item.sms_at or 0, item.email_at or 0)
            xs.append(item.submitted_at - start)
            ys.append(1000 * (end - item.submitted_at))
        bottom.scatter(xs, ys, s=3, label=label, alpha=0.5)
    bottom.set_yscale("log")
    bottom.set_ylabel("latency (ms)")
    bottom.set_xlabel("seconds since the first submit")
    bottom.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    infra = local_infra()
    env = platform_env()
    gateway = os.environ.get("SANAD_GATEWAY_URL") or env["SANAD_GATEWAY_URL"]
    addresses = client_addresses(max(1, min(args.citizens, args.addresses)))
    print(f"seeding {args.citizens} citizens with a draft each, in bulk", flush=True)
    began = time.monotonic()
    citizens = await seed_citizens(infra, args.citizens, addresses, gateway)
    seeded_s = time.monotonic() - began
    print(f"  {len(citizens)} drafts ready in {seeded_s:.1f}s; the load", flush=True)
    clients = Clients(gateway, addresses)
    try:
        tracked: dict[str, Tracked] = {}
        watcher = Watcher(infra, tracked)
        await watcher.start()
        processes = platform_processes()
        # What each process spends idle (polling, relays, health checks), to tell the work
        # of the applications from the rest when few complete on a busy machine.
        idle_from, idle_pg_from, idle_began = (
            cpu_seconds(processes),
            postgres_backends_cpu(),
            time.monotonic(),
        )
        await asyncio.sleep(IDLE_SAMPLE_S)
        idle_wall = time.monotonic() - idle_began
        cpu_before, pg_before = cpu_seconds(processes), postgres_backends_cpu()
        statements_before = await pg_statements.snapshot(infra.pg_admin_url)
        sessions_before = await pg_statements.sessions(infra.pg_admin_url)
        idle = {name: (cpu_before[name] - idle_from[name]) / idle_wall for name in cpu_before}
        idle["postgres"] = (pg_before - idle_pg_from) / idle_wall
        wall_before = time.monotonic()
        load = await submit_load(
            clients,
            citizens,
            tracked,
            rate=args.rate,
            duration=args.duration,
            concurrency=args.concurrency,
        )
        drain_until = time.monotonic() + args.drain
        # The watcher fills ``tracked`` as the events arrive.
        while time.monotonic() < drain_until and any(  # noqa: ASYNC110
            i.complete() is None for i in tracked.values()
        ):
            await asyncio.sleep(0.25)
        wall = time.monotonic() - wall_before
        cpu_after, pg_after = cpu_seconds(processes), postgres_backends_cpu()
        statements_after = await pg_statements.snapshot(infra.pg_admin_url)
        sessions_after = await pg_statements.sessions(infra.pg_admin_url)
        await watcher.stop()
    finally:
        await clients.aclose()

    cpu = {name: round(100 * (cpu_after[name] - cpu_before[name]) / wall, 1) for name in cpu_before}
    cpu["postgres"] = round(100 * (pg_after - pg_before) / wall, 1)
    items = list(tracked.values())
    complete = [i for i in items if i.complete() is not None]
    first = min(i.submitted_at for i in items)
    last = max(i.complete() or 0 for i in complete) if complete else first
    decided = [i.decision_at - i.submitted_at for i in items if i.decision_at]
    notified = [
        max(i.sms_at, i.email_at) - i.submitted_at for i in items if i.sms_at and i.email_at
    ]
    per_s = len(complete) / (last - first) if complete else 0.0
    print(f"  {len(complete)}/{len(items)} complete end to end, {per_s:.1f}/s", flush=True)

    print(f"bare chain: {len(items)} messages through 3 hops", flush=True)
    chain = await bare_chain(infra, max(len(items), 1000))
    load_average = os.getloadavg()
    outcome = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
        f"{round(psutil.virtual_memory().total / 2**30)} GiB, Python {platform.python_version()}",
        "load_average": [round(x, 2) for x in load_average],
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "citizens": args.citizens,
        "offered_rate_per_s": args.rate or "as fast as possible",
        "concurrency": args.concurrency if not args.rate else None,
        "duration_s": args.duration,
        "seeded_s": round(seeded_s, 1),
        **load,
        "completed": len(complete),
        "decisions": dict(Counter(i.decision for i in items if i.decision)),
        "applications_per_s": round(per_s, 1),
        "submit_to_decision": percentiles(decided),
        "submit_to_notification": percentiles(notified),
        # Where submit → decision goes, stage by stage (Kafka record timestamps).
        "stages": {
            "submit_answered": percentiles(_spans(items, "submitted_at", "answered_at")),
            "submit_to_application_submitted": percentiles(
                _spans(items, "submitted_at", "submitted_event_at")
            ),
            "application_submitted_to_evaluated": percentiles(
                _spans(items, "submitted_event_at", "evaluated_at")
            ),
            "evaluated_to_decision": percentiles(_spans(items, "evaluated_at", "decision_at")),
        },
        "cpu_percent_of_one_core": cpu,
        # CPU time per completed application: the figure that survives a loaded machine.
        "cpu_ms_per_application": {
            name: round(10 * percent * wall / len(complete), 1) if complete else None
            for name, percent in cpu.items()
        },
        # The same, less what the process spent idle in a sample before the load.
        "cpu_ms_per_application_over_idle": {
            name: round(10 * (percent - 100 * idle[name]) * wall / len(complete), 1)
            if complete
            else None
            for name, percent in cpu.items()
        },
        "idle_cpu_percent_of_one_core": {name: round(100 * v, 1) for name, v in idle.items()},
        "measured_wall_s": round(wall, 1),
        # Postgres statements per completed application, by service (pg_stat_statements).
        "postgres_statements": pg_statements.per_application(
            statements_before, statements_after, len(complete)
        )
        if statements_before is not None and statements_after is not None and complete
        else None,
        # Connections opened during the load (the bench's own two included), per application.
        "postgres_sessions_per_application": round(
            (sessions_after - sessions_before) / len(complete), 3
        )
        if complete
        else None,
        "bare_chain": chain,
        "ratio_to_bare_chain": round(per_s / chain["per_s"], 3) if not args.rate else None,
        "command": "uv run python bench/journey_load.py "
        f"--citizens {args.citizens} --rate {args.rate:g} --duration {args.duration:g} "
        f"--concurrency {args.concurrency} "
        f"--drain {args.drain:g}",
    }
    RESULTS.mkdir(exist_ok=True)
    name = args.name
    plot(
        tracked,
        RESULTS / f"{name}.png",
        f"{len(complete)} applications, offered "
        + (f"{args.rate:g}/s" if args.rate else "as fast as possible")
        + ", "
        f"load average {load_average[0]:.1f}",
    )
    return outcome


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--citizens", type=int, default=2000, help="pre-registered (drafts)")
    parser.add_argument("--rate", type=float, default=0, help="submits/s offered; 0: max")
    parser.add_argument("--duration", type=float, default=60, help="seconds of submitting")
    parser.add_argument("--concurrency", type=int, default=64, help="clients when --rate 0")
    parser.add_argument("--addresses", type=int, default=250, help="client addresses")
    parser.add_argument("--drain", type=float, default=120, help="seconds to wait for the tail")
    parser.add_argument("--name", default="journey_load", help="results file name")
    args = parser.parse_args()
    os.environ.setdefault("SANAD_ENV", "dev")
    outcome = asyncio.run(main_async(args))
    (RESULTS / f"{args.name}.json").write_text(json.dumps(outcome, indent=2) + "\n")
    print(json.dumps(outcome, indent=2))


if __name__ == "__main__":
    main()
