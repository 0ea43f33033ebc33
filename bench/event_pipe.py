"""Benchmark: events per second through the whole pipe, on the real local platform.

outbox (one schema) → relay → Kafka → idempotent consumer (another schema) → effect row.
Run with the platform up:  uv run python bench/event_pipe.py [--events 5000]
Writes bench/results/event_pipe.md.
"""

from __future__ import annotations

import argparse
import asyncio
import platform
import statistics
import time
import uuid
from datetime import UTC, date, datetime
from pathlib import Path

from faststream.kafka import KafkaBroker
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from sanad.platform.testing import local_infra, scratch_schema
from sanad.shared import outbox
from sanad.shared.db import asyncpg_dsn, session_factory
from sanad.shared.events import CitizenRegistered, Envelope
from sanad.shared.inbox import subscribe
from sanad.shared.kafka_admin import ensure_topics
from sanad.shared.outbox import OutboxRelay, make_producer
from sanad.shared.topics import TopicSpec, dead_letter_topic

RESULTS = Path(__file__).parent / "results" / "event_pipe.md"


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


async def effect(session: AsyncSession, envelope: Envelope) -> None:
    await session.execute(
        text("INSERT INTO effects (event_id) VALUES (:id)"), {"id": envelope.event_id}
    )


async def run(events: int, batch: int) -> dict[str, float]:
    infra = local_infra()
    suffix = uuid.uuid4().hex[:8]
    topic, group = f"bench.pipe-{suffix}", f"bench-{suffix}"
    await ensure_topics(
        infra.kafka_bootstrap, [TopicSpec(topic), TopicSpec(dead_letter_topic(group), 1)]
    )
    async with scratch_schema(infra, "bsrc") as source, scratch_schema(infra, "bsink") as sink:
        async with sink.engine.begin() as conn:
            await conn.execute(text("CREATE TABLE effects (event_id uuid PRIMARY KEY)"))
        broker = KafkaBroker(infra.kafka_bootstrap)
        subscribe(
            broker,
            group_id=group,
            topics=(topic,),
            handler=effect,
            sessions=session_factory(sink.engine),
        )
        await broker.start()
        producer = make_producer(infra.kafka_bootstrap, "bench-relay")
        await producer.start()
        relay = OutboxRelay(
            source.engine,
            producer,
            listen_dsn=asyncpg_dsn(infra.database_admin_url()),
            schema=source.schema,
        )
        relay_task = asyncio.create_task(relay.run())
        await asyncio.sleep(2)  # let the consumer join its group
        sessions = session_factory(source.engine)
        started = time.perf_counter()
        for first in range(0, events, batch):
            async with sessions() as session, session.begin():
                for n in range(first, min(first + batch, events)):
                    await outbox.add(session, event(n), topic=topic)
        committed = time.perf_counter() - started
        done = 0
        while done < events:
            await asyncio.sleep(0.05)
            async with sink.engine.connect() as conn:
                done = (await conn.execute(text("SELECT count(*) FROM effects"))).scalar_one()
            if time.perf_counter() - started > 300:
                raise SystemExit(f"only {done}/{events} effects after 300 s")
        elapsed = time.perf_counter() - started
        relay_task.cancel()
        await producer.stop()
        await broker.stop()
    return {"events": events, "commit_s": committed, "total_s": elapsed, "per_s": events / elapsed}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--batch", type=int, default=50, help="events per committed transaction")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    results = [asyncio.run(run(args.events, args.batch)) for _ in range(args.runs)]
    rates = [r["per_s"] for r in results]
    lines = [
        "# Event pipe throughput",
        "",
        f"outbox → relay → Kafka → idempotent consumer → effect, {args.events} events per run, "
        f"{args.batch} per transaction, {args.runs} runs, one relay and one consumer, on "
        f"{platform.machine()} with 2 cores (local platform: Kafka 4.1.1 KRaft, PostgreSQL 15).",
        "",
        "| run | events | commit time (s) | until last effect (s) | events/s |",
        "|---|---|---|---|---|",
        *(
            f"| {i + 1} | {r['events']} | {r['commit_s']:.2f} | {r['total_s']:.2f} "
            f"| {r['per_s']:.0f} |"
            for i, r in enumerate(results)
        ),
        "",
        f"median: **{statistics.median(rates):.0f} events/s** end to end.",
        "",
        "Command: `uv run python bench/event_pipe.py "
        f"--events {args.events} --batch {args.batch} --runs {args.runs}`",
        "",
    ]
    RESULTS.write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
