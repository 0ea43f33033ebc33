"""Notifications throughput: messages handed to the SMS sink and the mail catcher per second.

Runs the notifications service in-process (its real code: Kafka consumer, Postgres queue,
delivery worker, outbox relay) on the local platform, in a scratch schema with its own
topics so no other service sees the synthetic citizens. It registers N citizens (SMS +
email each), waits for their contacts, then publishes N DecisionIssued events at once and
times how long it takes until all 2N deliveries are recorded as sent.

    uv run python bench/notifications_throughput.py --citizens 500

Writes bench/results/notifications.md.
"""

from __future__ import annotations

import argparse
import asyncio
import platform
import time
import uuid
from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import create_async_engine

from sanad.notifications.main import MIGRATIONS, create_app
from sanad.notifications.models import contacts, deliveries
from sanad.notifications.settings import NotificationsSettings
from sanad.platform.testing import eventually, local_infra
from sanad.shared.events import CitizenRegistered, DecisionIssued, Envelope
from sanad.shared.kafka_admin import ensure_topics
from sanad.shared.migrations import upgrade
from sanad.shared.outbox import make_producer
from sanad.shared.topics import TopicSpec

RESULTS = Path(__file__).resolve().parent / "results" / "notifications.md"


class BenchSettings(NotificationsSettings):
    bench_schema: str = ""
    bench_url: str = ""

    @property
    def db_schema(self) -> str:
        return self.bench_schema

    @property
    def database_url(self) -> str:
        return self.bench_url


async def count(engine, schema: str, query) -> int:  # type: ignore[no-untyped-def]
    async with engine.connect() as conn:
        await conn.execute(text(f'SET search_path TO "{schema}"'))
        return int((await conn.execute(query)).scalar_one())


async def run(citizens: int) -> str:
    infra = local_infra()
    suffix = uuid.uuid4().hex[:8]
    schema = f"bench_notifications_{suffix}"
    topics = {
        "CitizenRegistered": f"bench.citizen-registered-{suffix}",
        "DecisionIssued": f"bench.decision-issued-{suffix}",
    }
    await ensure_topics(
        infra.kafka_bootstrap,
        [TopicSpec(t, partitions=6) for t in topics.values()]
        + [TopicSpec(f"dlq.bench-notifications-{suffix}", partitions=1)],
    )
    url = infra.database_admin_url()
    engine = create_async_engine(url)
    async with engine.begin() as conn:
        await conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    assert MIGRATIONS is not None
    await asyncio.to_thread(upgrade, MIGRATIONS, url, schema)
    settings = BenchSettings(
        environment="dev",  # the local platform's dev secrets
        bench_schema=schema,
        bench_url=url,
        consumer_group=f"bench-notifications-{suffix}",
        topics=tuple(topics.values()),
        log_level="WARNING",
    )
    app = create_app(settings)
    producer = make_producer(infra.kafka_bootstrap, f"bench-{suffix}")
    await producer.start()
    try:
        async with app.router.lifespan_context(app):
            ids = [uuid.uuid4() for _ in range(citizens)]
            for n, citizen_id in enumerate(ids):
                event = CitizenRegistered(
                    citizen_id=citizen_id,
                    national_id="1000000008",
                    full_name_ar="مستفيد تجريبي",
                    full_name_en="Bench Citizen",
                    nationality="SA",
                    sex="F",
                    birth_date=date(1990, 1, 1),
                    marital_status="married",
                    mobile=f"+96659{n:07d}",
                    email=f"bench-{suffix}-{n}@example.com",
                    language="ar" if n % 2 else "en",
                    registered_at=datetime.now(UTC),
                )
                await send(producer, topics, Envelope.wrap(event, producer="bench"))
            await producer.flush()
            known = select(func.count()).select_from(contacts)
            await eventually(
                lambda: count(engine, schema, known),
                until=lambda n: n >= citizens,
                timeout=300,
                interval=0.2,
                what="contacts",
            )

            decisions = [
                Envelope.wrap(
                    DecisionIssued(
                        decision_id=uuid.uuid4(),
                        application_id=uuid.uuid4(),
                        citizen_id=citizen_id,
                        program_code="social_security",
                        decision="UNDER_REVIEW",
                        reasons=[],
                        decided_by="bench",
                        decided_at=datetime.now(UTC),
                    ),
                    producer="bench",
                )
                for citizen_id in ids
            ]
            sent = select(func.count()).select_from(deliveries).where(deliveries.c.status == "sent")
            started = time.perf_counter()
            for envelope in decisions:
                await send(producer, topics, envelope)
            await producer.flush()
            await eventually(
                lambda: count(engine, schema, sent),
                until=lambda n: n >= 2 * citizens,
                timeout=600,
                interval=0.05,
                what="deliveries sent",
            )
            elapsed = time.perf_counter() - started
            failed = await count(
                engine,
                schema,
                select(func.count()).select_from(deliveries).where(deliveries.c.status == "failed"),
            )
    finally:
        await producer.stop()
        async with engine.begin() as conn:
            await conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        await engine.dispose()

    total = 2 * citizens
    rate = total / elapsed
    return (
        "# Notifications throughput\n\n"
        f"Command: `uv run python bench/notifications_throughput.py --citizens {citizens}`\n\n"
        f"- {citizens} DecisionIssued events (one per citizen, contacts known) -> "
        f"{total} messages ({citizens} SMS to the SMS sink + {citizens} emails over SMTP "
        "to the mail catcher), half Arabic, half English\n"
        f"- all {total} recorded as sent in **{elapsed:.2f} s: {rate:.0f} notifications/s** "
        f"({failed} failed)\n"
        f"- one service instance, worker batch {settings.worker_batch}, concurrency "
        f"{settings.worker_concurrency}; measured from the first publish to the last "
        "delivery recorded as sent (consume + queue + render + send + record + outbox)\n"
        f"- machine: {platform.machine()}, Python {platform.python_version()}, "
        f"local platform (Kafka KRaft, Postgres 15, sinks on loopback); "
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC\n"
    )


async def send(producer, topics: dict[str, str], envelope: Envelope) -> None:  # type: ignore[no-untyped-def]
    await producer.send(
        topics[envelope.event_type],
        envelope.to_bytes(),
        key=envelope.key.encode(),
        headers=envelope.headers(),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--citizens", type=int, default=500)
    args = parser.parse_args()
    report = asyncio.run(run(args.citizens))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(report, encoding="utf-8")
    print(report)


if __name__ == "__main__":
    main()
