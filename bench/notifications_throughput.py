"""Notifications throughput, and how long an OTP waits behind a burst of decisions.

Runs the notifications service in-process (its real code: Kafka consumer, Postgres queue,
delivery worker, outbox relay) on the local platform, in a scratch schema with its own
topics so no other service sees the synthetic citizens, and sends to the platform's real
SMS sink (HTTP) and mail catcher (SMTP).

1. Contacts: N CitizenRegistered go through the service's real handler.
2. The burst: N DecisionIssued go through the same handler, in one transaction (what an
   inbox batch commits), leaving 2N pending deliveries (N SMS + N emails, half Arabic) -
   the rows the real handler writes. The service is then started and its worker sends
   them; the rate is 2N over the time from the first send started to the last one
   recorded (the database's own timestamps).
3. OTP first: once the worker is busy with the burst, an OtpRequested is published on the
   service's real Kafka topic; its latency runs from that publish (acknowledged by Kafka)
   to the message being listed by the SMS sink's ``GET /messages?to=...``.

    uv run python bench/notifications_throughput.py --citizens 2500

Writes bench/results/notifications.json and bench/results/notifications.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from sanad.notifications.handlers import routes
from sanad.notifications.main import MIGRATIONS, create_app
from sanad.notifications.models import deliveries, delivery_attempts
from sanad.notifications.settings import NotificationsSettings
from sanad.platform.layout import MAIL_SMTP_PORT, SMS_SINK_PORT, port
from sanad.platform.testing import Infra, Scratch, eventually, local_infra, service_scratch_schema
from sanad.shared.crypto import seal
from sanad.shared.db import session_factory
from sanad.shared.events import CitizenRegistered, DecisionIssued, Envelope, OtpRequested
from sanad.shared.kafka_admin import ensure_topics
from sanad.shared.kafka_clients import KafkaAccess, KafkaCredentials
from sanad.shared.logging import configure_logging
from sanad.shared.outbox import make_producer
from sanad.shared.topics import TopicSpec

RESULTS = Path(__file__).resolve().parent / "results"
# The public half of the dev OTP key (the service's dev private key opens it).
OTP_PUBLIC_KEY = "GxX4vnERh_7KfPZ6p_Lrxo5rRi8IcQ3g8YG01tlH1RM"
SMS_SINK = f"http://127.0.0.1:{port(SMS_SINK_PORT)}"


class BenchSettings(NotificationsSettings):
    bench_schema: str = ""
    bench_url: str = ""
    # Its scratch topics and group are not the notifications principal's: the admin's.
    bench_kafka_admin: KafkaCredentials | None = None

    @property
    def kafka(self) -> KafkaAccess:
        return KafkaAccess(self.kafka_bootstrap_servers, self.bench_kafka_admin)

    @property
    def db_schema(self) -> str:
        return self.bench_schema

    @property
    def database_url(self) -> str:
        return self.bench_url


async def scalar(engine: AsyncEngine, query: Any) -> Any:
    async with engine.connect() as conn:
        return (await conn.execute(query)).scalar_one()


def citizen(n: int, suffix: str) -> CitizenRegistered:
    return CitizenRegistered(
        citizen_id=uuid.uuid4(),
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


def decision(citizen_id: uuid.UUID) -> DecisionIssued:
    return DecisionIssued(
        decision_id=uuid.uuid4(),
        application_id=uuid.uuid4(),
        citizen_id=citizen_id,
        program_code="social_security",
        decision="UNDER_REVIEW",
        reasons=[],
        decided_by="bench",
        decided_at=datetime.now(UTC),
    )


def otp_envelope(number: str) -> Envelope:
    otp = OtpRequested(
        registration_id=uuid.uuid4(),
        mobile=number,
        language="en",
        encrypted_code=seal(OTP_PUBLIC_KEY, b"123456"),
        expires_at=datetime.now(UTC) + timedelta(minutes=5),
    )
    return Envelope.wrap(otp, producer="bench")


async def publish(producer: Any, topic: str, envelope: Envelope) -> None:
    await producer.send_and_wait(
        topic, envelope.to_bytes(), key=envelope.key.encode(), headers=envelope.headers()
    )


async def sms_count(client: httpx.AsyncClient, number: str) -> int:
    response = await client.get(f"{SMS_SINK}/messages", params={"to": number})
    return len(response.json()["messages"])


async def run(citizens: int) -> dict[str, Any]:
    infra = local_infra()
    suffix = uuid.uuid4().hex[:8]
    otp_topic = f"bench.otp-requested-{suffix}"
    await ensure_topics(
        infra.kafka,
        [TopicSpec(otp_topic, partitions=1), TopicSpec(f"dlq.bench-notifications-{suffix}", 1)],
    )
    assert MIGRATIONS is not None
    async with service_scratch_schema(infra, "notifications", MIGRATIONS) as scratch:
        return await run_on(infra, scratch, suffix, otp_topic, citizens)


async def run_on(
    infra: Infra, scratch: Scratch, suffix: str, otp_topic: str, citizens: int
) -> dict[str, Any]:
    engine, schema, url = scratch.engine, scratch.schema, infra.database_admin_url()
    settings = BenchSettings(
        environment="dev",  # the local platform's dev secrets
        bench_schema=schema,
        bench_url=url,
        # This platform's Kafka and Redis, not the defaults (another platform may own those).
        kafka_bootstrap_servers=infra.kafka_bootstrap,
        redis_url=infra.redis_url,
        bench_kafka_admin=infra.kafka_admin,
        consumer_group=f"bench-notifications-{suffix}",
        topics=(otp_topic,),
        sms_base_url=SMS_SINK,
        smtp_port=port(MAIL_SMTP_PORT),
        log_level="WARNING",
    )
    configure_logging(settings.service, settings.log_level)
    handled = routes(settings)

    async def handle(session: Any, envelopes: list[Envelope]) -> None:
        """What the inbox does with new events of one type: its batch handler with all of
        them, or its typed handler with each."""
        events = [(envelope.open(), envelope) for envelope in envelopes]
        batch = handled["batch_handlers"].get(type(events[0][0]))
        if batch is not None:
            await batch(session, events)
            return
        for event, envelope in events:
            await handled["handlers"][type(event)](session, event, envelope)

    sessions = session_factory(engine, producer="notifications")
    producer = make_producer(infra.kafka, f"bench-{suffix}")
    await producer.start()
    try:
        # 1-2: contacts, then the burst, through the real handler (the service not running).
        people = [citizen(n, suffix) for n in range(citizens)]
        async with sessions() as session, session.begin():
            await handle(session, [Envelope.wrap(person, producer="bench") for person in people])
        async with sessions() as session, session.begin():
            decided = [decision(person.citizen_id) for person in people]
            await handle(session, [Envelope.wrap(d, producer="bench") for d in decided])
        total = 2 * citizens
        pending = select(func.count()).select_from(deliveries)
        assert await scalar(engine, pending.where(deliveries.c.status == "pending")) == total
        # The OTP topic must be in the broker's metadata before the consumer subscribes, and
        # a first OTP (not measured) tells when the consumer has joined its group.
        await eventually(
            lambda: producer.partitions_for(otp_topic),
            until=lambda parts: bool(parts),
            what="the OTP topic's metadata",
        )
        warm_up = otp_envelope(f"+96657{uuid.uuid4().int % 10**7:07d}")
        await publish(producer, otp_topic, warm_up)
        otps = pending.where(deliveries.c.template == "otp")

        app = create_app(settings)
        wall, cpu = time.perf_counter(), time.process_time()
        async with app.router.lifespan_context(app), httpx.AsyncClient() as client:
            # 3: an OTP published once the consumer is live and the worker is well into the
            # burst.
            await eventually(
                lambda: scalar(engine, otps), timeout=120, interval=0.02, what="the consumer"
            )
            sent = pending.where(deliveries.c.status == "sent")
            await eventually(
                lambda: scalar(engine, sent),
                until=lambda n: n >= min(total // 5, 500),
                timeout=600,
                interval=0.02,
                what="the burst under way",
            )
            number = f"+96658{uuid.uuid4().int % 10**7:07d}"
            sent_before_otp = await scalar(engine, sent)
            await publish(producer, otp_topic, otp_envelope(number))
            published = time.perf_counter()
            await eventually(
                lambda: sms_count(client, number), timeout=600, interval=0.01, what="the OTP"
            )
            otp_latency = time.perf_counter() - published
            sent_at_otp = await scalar(engine, sent)
            await eventually(
                lambda: scalar(engine, sent),
                until=lambda n: n >= total + 2,
                timeout=1200,
                interval=0.05,
                what="every delivery sent",
            )
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        window = select(
            func.min(delivery_attempts.c.started_at), func.max(delivery_attempts.c.finished_at)
        )
        async with engine.connect() as conn:
            first, last = (await conn.execute(window)).one()
            by_status = select(deliveries.c.status, func.count()).group_by(deliveries.c.status)
            statuses: dict[str, int] = {
                status: int(n) for status, n in (await conn.execute(by_status)).all()
            }
            attempts = await conn.scalar(select(func.count()).select_from(delivery_attempts))
    finally:
        await producer.stop()

    elapsed = (last - first).total_seconds()
    return {
        "notifications_per_s": round((total + 2) / elapsed, 1),
        "notifications": total + 2,
        "decisions": citizens,
        "otps": 2,
        "sms": citizens + 2,
        "emails": citizens,
        "statuses": statuses,
        "attempts": attempts,
        "elapsed_s": round(elapsed, 3),
        "wall_s_including_startup": round(wall, 3),
        # CPU of this process (the service and the bench's polling) over that wall time:
        # the figure the machine's other load does not change much.
        "cpu_ms_per_notification": round(cpu * 1000 / (total + 2), 3),
        "otp_latency_s": round(otp_latency, 3),
        "otp_published_with_deliveries_queued": total + 1 - sent_before_otp,
        "sent_between_otp_publish_and_arrival": sent_at_otp - sent_before_otp - 1,
        "worker_batch": settings.worker_batch,
        "worker_concurrency": settings.worker_concurrency,
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "measured_at": f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
    }


def report(runs: list[dict[str, Any]], citizens: int) -> tuple[dict[str, Any], str]:
    rates = [r["notifications_per_s"] for r in runs]
    latencies = [r["otp_latency_s"] for r in runs]
    median = sorted(runs, key=lambda r: r["notifications_per_s"])[len(runs) // 2]
    summary = {
        **median,
        "runs": len(runs),
        "notifications_per_s_runs": rates,
        "notifications_per_s_median": statistics.median(rates),
        "otp_latency_s_runs": latencies,
        "otp_latency_s_median": statistics.median(latencies),
        "command": f"uv run python bench/notifications_throughput.py --citizens {citizens}"
        f" --runs {len(runs)}",
    }
    md = (
        "# Notifications throughput and OTP latency\n\n"
        f"Command: `{summary['command']}`\n\n"
        f"- {citizens} DecisionIssued through the service's real handler (one transaction) -> "
        f"{2 * citizens} pending deliveries ({citizens} SMS to the SMS sink over HTTP + "
        f"{citizens} emails over SMTP to the mail catcher, half Arabic), plus one OTP "
        "published on the service's Kafka topic mid-burst\n"
        f"- **{summary['notifications_per_s_median']:.0f} notifications/s** (median of "
        f"{len(runs)} runs: {', '.join(f'{r:.0f}' for r in rates)}), from the first send "
        "started to the last recorded (render + claim + start + send + record + outbox)\n"
        f"- OTP published mid-burst reached the SMS sink in **{summary['otp_latency_s_median']:.2f}"
        f" s** (median; runs: {', '.join(f'{x:.2f}' for x in latencies)}), with "
        f"{median['otp_published_with_deliveries_queued']} older deliveries still queued\n"
        f"- statuses {median['statuses']}, {median['attempts']} attempts; one instance, worker "
        f"batch {median['worker_batch']}, concurrency {median['worker_concurrency']}\n"
        f"- machine: {median['machine']}, {median['cpus']} CPUs (shared), Python "
        f"{median['python']}, local platform (Kafka KRaft, Postgres 15, sinks on loopback); "
        f"{median['measured_at']}\n"
    )
    return summary, md


def main() -> None:
    # The local platform's dev credentials (settings refuse them outside dev/test).
    os.environ.setdefault("SANAD_ENV", "dev")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--citizens", type=int, default=2500)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    runs = []
    for n in range(args.runs):
        result = asyncio.run(run(args.citizens))
        print(f"run {n + 1}: {json.dumps(result)}", flush=True)
        runs.append(result)
    summary, md = report(runs, args.citizens)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "notifications.json").write_text(json.dumps(summary, indent=2) + "\n")
    (RESULTS / "notifications.md").write_text(md, encoding="utf-8")
    print(md)


if __name__ == "__main__":
    main()
