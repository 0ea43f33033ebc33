"""Benchmark: the event pipe against the bare transport, in the same run, on the real platform.

- bare hop: events already on a topic; aiokafka ``getmany(max_records=500)``, one asyncpg
  transaction per batch (``executemany`` of ``INSERT … ON CONFLICT DO NOTHING``), one offset
  commit per batch — what Kafka and Postgres allow with no framework;
- the pipe, throughput: events committed to one schema's outbox in transactions of ``batch``,
  relay → Kafka → ``sanad.shared.inbox`` (another schema) → effect row;
- the pipe, latency: a steady ``--rate`` events/s offered; for each event, outbox commit →
  effect committed, read from the two rows' timestamps (one Postgres clock).

Same topic settings for both (6 partitions, as every event topic). Run with the platform up:
    uv run python bench/event_pipe.py [--events 20000] [--runs 3]
Writes bench/results/event_pipe.json and bench/results/event_pipe.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import statistics
import sys
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from sanad.platform.testing import Infra, local_infra, scratch_schema
from sanad.shared import kafka_clients, outbox
from sanad.shared.db import asyncpg_dsn, create_engine, session_factory
from sanad.shared.events import CitizenRegistered, Envelope
from sanad.shared.heap import freeze_startup_heap
from sanad.shared.inbox import Inbox
from sanad.shared.kafka_admin import ensure_topics
from sanad.shared.logging import configure_logging
from sanad.shared.outbox import OutboxRelay, make_producer
from sanad.shared.topics import EVENT_PARTITIONS, TopicSpec, dead_letter_topic

RESULTS = Path(__file__).parent / "results"
EFFECTS = """
    CREATE TABLE effects (event_id uuid PRIMARY KEY, done_at timestamptz DEFAULT clock_timestamp())
"""


def event(n: int) -> Envelope:
    payload = CitizenRegistered(
        citizen_id=uuid.uuid4(),
        national_id="1000000008",
        full_name_ar="قياس",
        full_name_en=f"bench-{n}",
        nationality="SA",
        sex="M",
        birth_date=date(1980, 1, 1),
        marital_status="single",
        mobile="+966500000000",
        registered_at=datetime.now(UTC),
    )
    return Envelope.wrap(payload, producer="bench")


EFFECT = text("INSERT INTO effects (event_id) VALUES (:id)")


async def effect(session: AsyncSession, payload: CitizenRegistered, envelope: Envelope) -> None:
    """A per-event handler: one statement per event."""
    await session.execute(EFFECT, {"id": envelope.event_id})


async def effects(session: AsyncSession, events: list[tuple[CitizenRegistered, Envelope]]) -> None:
    """A batch handler: one statement for the batch, as the bare hop writes."""
    await session.execute(EFFECT, [{"id": envelope.event_id} for _, envelope in events])


async def count(engine: Any) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(text("SELECT count(*) FROM effects"))).scalar_one())


async def until_effects(engine: Any, events: int, started: float) -> float:
    """Poll the effect rows until all ``events`` are there; seconds since ``started``."""
    while (done := await count(engine)) < events:
        if time.perf_counter() - started > 600:
            raise SystemExit(f"only {done}/{events} effects after 600 s")
        await asyncio.sleep(0.02)
    return time.perf_counter() - started


async def fresh_topic(infra: Infra, label: str) -> tuple[str, str]:
    suffix = uuid.uuid4().hex[:8]
    topic, group = f"bench.{label}-{suffix}", f"bench-{label}-{suffix}"
    await ensure_topics(infra.kafka, [TopicSpec(topic), TopicSpec(dead_letter_topic(group), 1)])
    return topic, group


async def bare_hop(infra: Infra, events: int) -> dict[str, float]:
    """Events put on the topic first, then consumed as fast as the transport allows."""
    topic, group = await fresh_topic(infra, "bare")
    producer = make_producer(infra.kafka, "bench-bare")
    await producer.start()
    try:
        pending = []
        for n in range(events):
            envelope = event(n)
            pending.append(
                await producer.send(topic, envelope.to_bytes(), key=envelope.key.encode())
            )
        await asyncio.gather(*pending)
    finally:
        await producer.stop()
    async with scratch_schema(infra, "bbare") as sink:
        async with sink.engine.begin() as conn:
            await conn.execute(text(EFFECTS))
        pg = await asyncpg.connect(asyncpg_dsn(infra.database_admin_url()))
        await pg.execute(f'SET search_path TO "{sink.schema}"')
        consumer = kafka_clients.consumer(
            infra.kafka,
            topic,
            group_id=group,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
        )
        await consumer.start()
        started = time.perf_counter()
        done = 0
        try:
            while done < events:
                batches = await consumer.getmany(timeout_ms=1000, max_records=500)
                rows = [
                    (uuid.UUID(json.loads(record.value)["event_id"]),)
                    for records in batches.values()
                    for record in records
                ]
                if not rows:
                    continue
                async with pg.transaction():
                    await pg.executemany(
                        "INSERT INTO effects (event_id) VALUES ($1) ON CONFLICT DO NOTHING", rows
                    )
                await consumer.commit()
                done += len(rows)
            elapsed = time.perf_counter() - started
        finally:
            await consumer.stop()
            await pg.close()
    return {"events": events, "seconds": elapsed, "per_s": events / elapsed}


class Pipe:
    """A source schema with its outbox, a sink schema with its inbox (in this process). The
    relay, the producing service's, always runs in a process of its own (``relay_process``)."""

    def __init__(
        self, infra: Infra, source: Any, sink: Any, topic: str, group: str, *, batched: bool
    ) -> None:
        self.infra, self.source, self.sink, self.topic = infra, source, sink, topic
        self.inbox = Inbox(
            infra.kafka,
            session_factory(sink.engine, producer="bench-sink"),
            client_id=group,
        )
        if batched:
            self.inbox.subscribe(
                group_id=group, topics=(topic,), batch_handlers={CitizenRegistered: effects}
            )
        else:
            self.inbox.subscribe(
                group_id=group, topics=(topic,), handlers={CitizenRegistered: effect}
            )
        self.sessions = session_factory(source.engine)

    async def __aenter__(self) -> Pipe:
        async with self.sink.engine.begin() as conn:
            await conn.execute(text(EFFECTS))
        await self.inbox.start()
        freeze_startup_heap()  # as create_service_app does once a service has started
        # The consumer has joined its group when a first event makes the trip.
        await self.commit([event(-1)])
        async with relay_process(self.infra, self.source.schema, "drain") as relay:
            await relay.go()
            await until_effects(self.sink.engine, 1, time.perf_counter())
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.inbox.stop()

    async def commit(self, envelopes: list[Envelope]) -> None:
        async with self.sessions() as session, session.begin():
            for envelope in envelopes:
                await outbox.add(session, envelope, topic=self.topic)


class ChildProcess:
    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        assert proc.stdin is not None and proc.stdout is not None
        self.stdin, self.stdout = proc.stdin, proc.stdout

    async def go(self) -> None:
        self.stdin.write(b"go\n")
        await self.stdin.drain()

    async def finish(self) -> float:
        """Stop it (a serving relay) or wait for it (a draining one); its CPU seconds."""
        if not self.stdin.is_closing():
            self.stdin.write(b"stop\n")
            await self.stdin.drain()
        cpu = float((await self.stdout.readline()).decode() or "nan")
        if await self.proc.wait() != 0:
            raise SystemExit("the relay process failed")
        return cpu


@contextlib.asynccontextmanager
async def child_process(*args: str) -> AsyncIterator[ChildProcess]:
    """This script in another process (see ``main``), started (imports, connections) and
    waiting for ``go``."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        __file__,
        *args,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    child = ChildProcess(proc)
    if await child.stdout.readline() != b"ready\n":
        raise SystemExit(f"the {args[0]} process did not start")
    try:
        yield child
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


def relay_process(infra: Infra, schema: str, mode: str) -> Any:
    """A relay of ``schema`` in its own process: ``drain`` publishes the outbox until it is
    empty and exits, ``serve`` runs the relay (LISTEN/NOTIFY) until told to stop."""
    return child_process("--relay", mode, infra.database_admin_url(), schema)


async def pipe_throughput(
    infra: Infra, events: int, batch: int, *, batched: bool
) -> dict[str, float]:
    """Like the bare hop, the events wait at the start line (committed to the outbox while
    the relay is held back); then relay → Kafka → inbox → effect, timed until the last."""
    topic, group = await fresh_topic(infra, "pipe")
    async with scratch_schema(infra, "bsrc") as source, scratch_schema(infra, "bsink") as sink:
        async with Pipe(infra, source, sink, topic, group, batched=batched) as pipe:
            started = time.perf_counter()
            for first in range(0, events, batch):
                await pipe.commit([event(n) for n in range(first, min(first + batch, events))])
            committed = time.perf_counter() - started
            async with relay_process(infra, source.schema, "drain") as relay:
                started, cpu = time.perf_counter(), time.process_time()
                await relay.go()
                # Counted in this process, as the bare hop counts its rows: polling the
                # effects table would take Postgres CPU from the pipe it measures.
                while pipe.inbox.processed() < events + 1:
                    if time.perf_counter() - started > 600:
                        raise SystemExit(f"only {pipe.inbox.processed()}/{events} after 600 s")
                    await asyncio.sleep(0.005)
                elapsed = time.perf_counter() - started
                consumer_cpu = time.process_time() - cpu
                relay_cpu = await relay.finish()
            if (stored := await count(sink.engine)) != events + 1:
                raise SystemExit(f"{stored - 1} effect rows for {events} events")
    return {
        "events": events,
        "commit_s": committed,
        "seconds": elapsed,
        "per_s": events / elapsed,
        # CPU time per event of each process (the consumer's includes the polling here).
        "relay_cpu_us": relay_cpu / events * 1e6,
        "consumer_cpu_us": consumer_cpu / events * 1e6,
    }


async def pipe_latency(infra: Infra, rate: int, seconds: float) -> dict[str, Any]:
    """Offer ``rate`` events/s (one per transaction, as requests do) for ``seconds``."""
    topic, group = await fresh_topic(infra, "lat")
    events = int(rate * seconds)
    async with scratch_schema(infra, "lsrc") as source, scratch_schema(infra, "lsink") as sink:
        async with sink.engine.begin() as conn:
            await conn.execute(
                text(f'CREATE TABLE "{source.schema}".sent (event_id uuid, at timestamptz)')
            )
        # Per-event handler: what a service's handlers are, and the worse case for latency.
        # The events are offered by a process of their own, as a producing service's
        # requests would be: never on the consumer's event loop.
        async with (
            Pipe(infra, source, sink, topic, group, batched=False),
            relay_process(infra, source.schema, "serve") as relay,
            child_process(
                "--offer", infra.database_admin_url(), source.schema, topic, str(rate), str(events)
            ) as offer,
        ):
            await relay.go()
            started = time.perf_counter()
            await offer.go()
            await offer.finish()
            await until_effects(sink.engine, events + 1, started)
            await relay.finish()
        async with sink.engine.connect() as conn:
            # The outbox row's transaction committed just after ``sent.at``: the latency
            # measured is commit → effect committed, plus that one statement.
            # The schema name is ours, made by scratch_schema.
            # The outbox row's ``published_at`` is the relay transaction's start (``now()``),
            # just before it sends: it splits the trip into the producing side (commit →
            # the relay picks the row up) and the rest (send → Kafka → inbox → effect).
            query = f'SELECT extract(epoch FROM e.done_at - s.at) * 1000, extract(epoch FROM o.published_at - s.at) * 1000, extract(epoch FROM e.done_at - o.published_at) * 1000 FROM effects e JOIN "{source.schema}".sent s USING (event_id) JOIN "{source.schema}".outbox o USING (event_id)'  # noqa: E501, S608
            rows = (await conn.execute(text(query))).all()
    total, pickup, onward = (sorted(float(row[i]) for row in rows) for i in range(3))
    q = statistics.quantiles(total, n=100)
    return {
        "rate": rate,
        "events": len(total),
        "p50_ms": q[49],
        "p99_ms": q[98],
        "split_ms": {
            name: {"p50": qs[49], "p99": qs[98]}
            for name, values in (("commit_to_relay_pickup", pickup), ("pickup_to_effect", onward))
            for qs in [statistics.quantiles(values, n=100)]
        },
    }


def report(result: dict[str, Any]) -> str:
    runs = result["runs"]
    split = result["latency"]["split_ms"]
    lines = [
        "# Event pipe against the bare transport",
        "",
        f"{result['machine']}. Topics of {EVENT_PARTITIONS} partitions; Kafka 4.1.1 (KRaft, one "
        "node) and PostgreSQL 15 of the local platform. One relay process and one consumer "
        "instance (another process), as a producing and a consuming service would be.",
        "",
        "| run | bare hop (events/s) | pipe, batch handler | ratio | pipe, per-event handler "
        "| ratio |",
        "|---|---|---|---|---|---|",
        *(
            f"| {i + 1} | {r['bare']['per_s']:.0f} | {r['pipe']['per_s']:.0f} "
            f"| {r['pipe']['per_s'] / r['bare']['per_s']:.2f} "
            f"| {r['pipe_per_event_handler']['per_s']:.0f} "
            f"| {r['pipe_per_event_handler']['per_s'] / r['bare']['per_s']:.2f} |"
            for i, r in enumerate(runs)
        ),
        "",
        f"Median: bare **{result['bare_events_per_s']:.0f}/s**, pipe "
        f"**{result['pipe_events_per_s']:.0f}/s**, ratio **{result['ratio']:.2f}** "
        f"({result['events']} events per run, committed to the outbox in transactions of "
        f"{result['batch']} before the clock starts, as the bare hop's are on the topic). "
        "With a per-event handler (one statement per event, as most services' handlers): "
        f"**{result['pipe_per_event_handler_events_per_s']:.0f}/s**, ratio "
        f"**{result['per_event_handler_ratio']:.2f}**.",
        "",
        f"Latency, outbox commit → effect committed, at {result['latency']['rate']} events/s "
        f"offered (one event per transaction) for {result['latency']['events']} events: "
        f"p50 **{result['p50_ms']:.1f} ms**, p99 **{result['p99_ms']:.1f} ms**; of which "
        "commit → the relay picks the row up p50 "
        f"{split['commit_to_relay_pickup']['p50']:.1f} ms, p99 "
        f"{split['commit_to_relay_pickup']['p99']:.1f} ms; pick-up → effect (send, Kafka, "
        f"inbox, handler) p50 {split['pickup_to_effect']['p50']:.1f} ms, p99 "
        f"{split['pickup_to_effect']['p99']:.1f} ms.",
        "",
        f"Command: `{result['command']}`",
        "",
    ]
    return "\n".join(lines)


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    infra = local_infra()
    runs = []
    for n in range(args.runs):
        bare = await bare_hop(infra, args.events)
        pipe = await pipe_throughput(infra, args.events, args.batch, batched=True)
        single = await pipe_throughput(infra, args.events, args.batch, batched=False)
        print(
            f"run {n + 1}: bare {bare['per_s']:.0f}/s, pipe {pipe['per_s']:.0f}/s "
            f"(per-event handler {single['per_s']:.0f}/s); CPU per event: relay "
            f"{pipe['relay_cpu_us']:.0f} µs, consumer {pipe['consumer_cpu_us']:.0f} µs",
            flush=True,
        )
        runs.append({"bare": bare, "pipe": pipe, "pipe_per_event_handler": single})
    latency = await pipe_latency(infra, args.rate, args.seconds)
    bare_rate = statistics.median(r["bare"]["per_s"] for r in runs)
    pipe_rate = statistics.median(r["pipe"]["per_s"] for r in runs)
    single_rate = statistics.median(r["pipe_per_event_handler"]["per_s"] for r in runs)
    return {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}",
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "events": args.events,
        "batch": args.batch,
        "runs": runs,
        "bare_events_per_s": bare_rate,
        "pipe_events_per_s": pipe_rate,
        "ratio": pipe_rate / bare_rate,
        "pipe_per_event_handler_events_per_s": single_rate,
        "per_event_handler_ratio": single_rate / bare_rate,
        "latency": latency,
        "p50_ms": latency["p50_ms"],
        "p99_ms": latency["p99_ms"],
        "command": "uv run python bench/event_pipe.py "
        f"--events {args.events} --batch {args.batch} --runs {args.runs} "
        f"--rate {args.rate} --seconds {args.seconds:g}",
    }


async def relay_main(mode: str, url: str, schema: str) -> None:
    """The relay process (see ``relay_process``); prints its CPU seconds when done."""
    configure_logging("bench-relay", "WARNING")
    infra = local_infra()
    engine = create_engine(url, schema, application_name="bench-relay")
    producer = make_producer(infra.kafka, f"bench-relay-{mode}")
    await producer.start()
    try:
        relay = OutboxRelay(engine, producer, listen_dsn=asyncpg_dsn(url), schema=schema)
        async with engine.connect() as conn:  # the pool holds a connection already
            await conn.execute(text("SELECT 1"))
        freeze_startup_heap()
        print("ready", flush=True)
        await asyncio.to_thread(sys.stdin.readline)
        cpu = time.process_time()
        if mode == "drain":
            while await relay.publish_batch():
                pass
        else:
            serving = asyncio.create_task(relay.run())
            await asyncio.to_thread(sys.stdin.readline)
            serving.cancel()
            await asyncio.gather(serving, return_exceptions=True)
        print(time.process_time() - cpu, flush=True)
    finally:
        await producer.stop()
        await engine.dispose()


async def offer_main(url: str, schema: str, topic: str, rate: str, events: str) -> None:
    """The producing side of the latency run: ``events`` events at ``rate`` per second, one
    per transaction (as requests commit them), each with the time it was sent."""
    configure_logging("bench-offer", "WARNING")
    engine = create_engine(url, schema, application_name="bench-offer")
    sessions = session_factory(engine)
    try:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        print("ready", flush=True)
        await asyncio.to_thread(sys.stdin.readline)
        cpu, started = time.process_time(), time.perf_counter()
        for n in range(int(events)):
            envelope = event(n)
            async with sessions() as session, session.begin():
                await outbox.add(session, envelope, topic=topic)
                await session.execute(
                    text("INSERT INTO sent VALUES (:id, clock_timestamp())"),
                    {"id": envelope.event_id},
                )
            # Hold the offered rate: the next event is due at started + (n + 1) / rate.
            delay = started + (n + 1) / float(rate) - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
        print(time.process_time() - cpu, flush=True)
    finally:
        await engine.dispose()


def main() -> None:
    # The local platform's dev credentials (settings refuse them outside dev/test).
    os.environ.setdefault("SANAD_ENV", "dev")
    if sys.argv[1:2] == ["--relay"]:
        asyncio.run(relay_main(*sys.argv[2:5]))
        return
    if sys.argv[1:2] == ["--offer"]:
        asyncio.run(offer_main(*sys.argv[2:7]))
        return
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=20000)
    parser.add_argument("--batch", type=int, default=50, help="events per outbox transaction")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--rate", type=int, default=500, help="events/s offered for latency")
    parser.add_argument("--seconds", type=float, default=20.0, help="latency run length")
    args = parser.parse_args()
    configure_logging("bench", "WARNING")
    result = asyncio.run(main_async(args))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "event_pipe.json").write_text(json.dumps(result, indent=2) + "\n")
    (RESULTS / "event_pipe.md").write_text(report(result))
    print(report(result))


if __name__ == "__main__":
    main()
