"""The notifications service in-process, on the real Kafka, Postgres, SMS sink and mail catcher.

It gets its own schema (migrated by its own migrations), its own consumer group and its own
topics, so the platform's running notifications process never sees these tests' events;
NotificationDispatched goes to the real topic, read back from Kafka.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaProducer, TopicPartition
from fastapi import FastAPI
from sqlalchemy import Select, select, text
from sqlalchemy.ext.asyncio import create_async_engine

from sanad.notifications.main import MIGRATIONS, create_app
from sanad.notifications.models import contacts, deliveries, delivery_attempts
from sanad.notifications.settings import NotificationsSettings
from sanad.platform.layout import MAIL_HTTP_PORT, MAIL_SMTP_PORT, SMS_SINK_PORT, port
from sanad.platform.testing import Infra, eventually
from sanad.shared import kafka_clients
from sanad.shared.auth import JwksVerifier, Role, TokenSigner, generate_signing_key
from sanad.shared.events import CitizenRegisteredV4, Envelope
from sanad.shared.kafka_admin import ensure_topics
from sanad.shared.kafka_clients import KafkaAccess, KafkaCredentials
from sanad.shared.messaging_tables import processed_events
from sanad.shared.migrations import upgrade
from sanad.shared.outbox import make_producer
from sanad.shared.topics import EVENT_PARTITIONS, NOTIFICATION_DISPATCHED, TopicSpec

# The sinks of this platform (their ports move with SANAD_SMS_SINK_PORT and friends).
SMS_SINK = f"http://127.0.0.1:{port(SMS_SINK_PORT)}"
MAIL_API = f"http://127.0.0.1:{port(MAIL_HTTP_PORT)}"
SMTP_PORT = port(MAIL_SMTP_PORT)


class ScratchSettings(NotificationsSettings):
    """The service's settings, pointed at a throwaway schema (as the superuser) and throwaway
    topics and group (as Kafka's admin: the notifications principal may touch only its own)."""

    scratch_schema: str = ""
    scratch_url: str = ""
    scratch_kafka_admin: KafkaCredentials | None = None

    @property
    def kafka(self) -> KafkaAccess:
        return KafkaAccess(self.kafka_bootstrap_servers, self.scratch_kafka_admin)

    @property
    def db_schema(self) -> str:
        return self.scratch_schema

    @property
    def database_url(self) -> str:
        return self.scratch_url


class LogCapture(logging.Handler):
    """Every log line the service writes, formatted exactly as its stdout handler does."""

    def __init__(self, formatter: logging.Formatter | None) -> None:
        super().__init__()
        self.lines: list[str] = []
        if formatter is not None:
            self.setFormatter(formatter)

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


def mobile() -> str:
    return "+9665" + str(uuid.uuid4().int)[:8]


def email_address() -> str:
    return f"n-{uuid.uuid4().hex[:10]}@example.com"


@dataclass
class Service:
    app: FastAPI
    client: httpx.AsyncClient
    settings: ScratchSettings
    producer: AIOKafkaProducer
    signer: TokenSigner
    logs: LogCapture
    topics: dict[str, str]
    dispatched_from: dict[TopicPartition, int] = field(default_factory=dict)

    async def publish(self, envelope: Envelope) -> None:
        await self.producer.send_and_wait(
            self.topics[envelope.event_type],
            envelope.to_bytes(),
            key=envelope.key.encode(),
            headers=envelope.headers(),
        )

    def token(self, subject: str, role: Role = Role.CITIZEN) -> dict[str, str]:
        token, _, _ = self.signer.issue(subject, role, 300)
        return {"Authorization": f"Bearer {token}"}

    async def rows(self, query: Select[Any]) -> list[Any]:
        """Rows of ``query`` in this test session's scratch schema."""
        engine = create_async_engine(self.settings.scratch_url)
        try:
            async with engine.connect() as conn:
                await conn.execute(text(f'SET search_path TO "{self.settings.scratch_schema}"'))
                return list((await conn.execute(query)).all())
        finally:
            await engine.dispose()

    async def deliveries(self, source_event_id: uuid.UUID) -> list[Any]:
        return await self.rows(
            select(deliveries)
            .where(deliveries.c.source_event_id == source_event_id)
            .order_by(deliveries.c.channel)
        )

    async def attempts(self, delivery_id: uuid.UUID) -> list[Any]:
        return await self.rows(
            select(delivery_attempts)
            .where(delivery_attempts.c.delivery_id == delivery_id)
            .order_by(delivery_attempts.c.attempt)
        )

    async def contact(self, citizen_id: uuid.UUID) -> Any:
        """The citizen's contact once the service has stored it (event-carried state)."""
        query = select(contacts).where(contacts.c.citizen_id == citizen_id)
        [row] = await eventually(lambda: self.rows(query), what=f"the contact of {citizen_id}")
        return row

    async def processed(self, envelope: Envelope) -> None:
        """Until the service's consumer has handled ``envelope`` (its inbox row)."""
        query = select(processed_events).where(processed_events.c.event_id == envelope.event_id)
        await eventually(lambda: self.rows(query), what=f"{envelope.event_type} processed")

    async def settled(self, source_event_id: uuid.UUID, count: int) -> list[Any]:
        """The event's deliveries once ``count`` of them reached sent or failed."""
        return await eventually(
            lambda: self.deliveries(source_event_id),
            until=lambda rows: (
                len(rows) == count and all(r.status in ("sent", "failed") for r in rows)
            ),
            what=f"{count} settled deliveries of {source_event_id}",
        )

    async def dispatched(self, source_event_id: uuid.UUID, count: int) -> list[Any]:
        """NotificationDispatched records (raw Kafka records) caused by the event."""
        consumer = kafka_clients.consumer(self.settings.kafka, enable_auto_commit=False)
        await consumer.start()
        try:
            consumer.assign(list(self.dispatched_from))
            for partition, offset in self.dispatched_from.items():
                consumer.seek(partition, offset)
            found: list[Any] = []
            deadline = asyncio.get_running_loop().time() + 30
            while len(found) < count and asyncio.get_running_loop().time() < deadline:
                batches = await consumer.getmany(timeout_ms=500)
                for records in batches.values():
                    for record in records:
                        if Envelope.from_bytes(record.value).causation_id == source_event_id:
                            found.append(record)
            return found
        finally:
            await consumer.stop()


async def sms_to(number: str) -> list[dict[str, Any]]:
    async with httpx.AsyncClient() as client:
        response = await client.get(f"{SMS_SINK}/messages", params={"to": number})
        messages: list[dict[str, Any]] = response.json()["messages"]
        return messages


async def mail_duplicates() -> int:
    """Copies the mail catcher received of a Message-ID it already held (and did not keep)."""
    async with httpx.AsyncClient() as client:
        return int((await client.get(f"{MAIL_API}/stats")).json()["duplicates"])


async def mail_to(address: str) -> list[dict[str, Any]]:
    async with httpx.AsyncClient() as client:
        response = await client.get(f"{MAIL_API}/messages", params={"to": address})
        messages: list[dict[str, Any]] = response.json()["messages"]
        return messages


async def plan_sms_failures(status: int, count: int, to: str) -> None:
    """Only SMS to ``to`` fail, so other senders (the running platform) are not disturbed."""
    async with httpx.AsyncClient() as client:
        response = await client.post(
            f"{SMS_SINK}/control/failures", json={"status": status, "count": count, "to": to}
        )
        response.raise_for_status()


async def end_offsets(access: KafkaAccess, topic: str) -> dict[TopicPartition, int]:
    consumer = kafka_clients.consumer(access, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = [TopicPartition(topic, p) for p in range(EVENT_PARTITIONS)]
        offsets: dict[TopicPartition, int] = await consumer.end_offsets(partitions)
        return offsets
    finally:
        await consumer.stop()


@pytest.fixture(scope="session")
async def service(provisioned: Infra) -> AsyncIterator[Service]:
    suffix = uuid.uuid4().hex[:8]
    schema = f"t_notifications_{suffix}"
    event_types = (
        "OtpRequested",
        "CitizenRegistered",
        "ProfileUpdated",
        "ContactChanged",
        "DecisionIssued",
        "CardIssued",
    )
    topics = {name: f"test.notifications-{name.lower()}-{suffix}" for name in event_types}
    await ensure_topics(
        provisioned.kafka,
        [TopicSpec(t, partitions=3) for t in topics.values()]
        + [TopicSpec(f"dlq.test-notifications-{suffix}", partitions=1)],
    )
    admin_url = provisioned.database_admin_url()
    # Pinged on checkout: this session-long engine outlives the fault tier's Postgres restart.
    admin = create_async_engine(admin_url, pool_pre_ping=True)
    async with admin.begin() as conn:
        await conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    assert MIGRATIONS is not None
    await asyncio.to_thread(upgrade, MIGRATIONS, admin_url, schema)
    settings = ScratchSettings(
        scratch_schema=schema,
        scratch_url=admin_url,
        kafka_bootstrap_servers=provisioned.kafka_bootstrap,
        redis_url=provisioned.redis_url,
        scratch_kafka_admin=provisioned.kafka_admin,
        consumer_group=f"test-notifications-{suffix}",
        topics=tuple(topics.values()),
        sms_base_url=SMS_SINK,
        smtp_port=SMTP_PORT,
        retry_first_delay=0.2,
        retry_max_delay=1.0,
        max_attempts=4,
        worker_poll_interval=0.05,
    )
    app = create_app(settings)
    signer = TokenSigner(generate_signing_key())
    app.state.runtime.verifier = JwksVerifier(jwks=signer.jwks())
    producer = make_producer(provisioned.kafka, f"test-notifications-{suffix}")
    await producer.start()
    try:
        async with app.router.lifespan_context(app):
            root = logging.getLogger()
            capture = LogCapture(root.handlers[0].formatter if root.handlers else None)
            root.addHandler(capture)
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://svc") as client:
                yield Service(
                    app,
                    client,
                    settings,
                    producer,
                    signer,
                    capture,
                    topics,
                    await end_offsets(provisioned.kafka, NOTIFICATION_DISPATCHED),
                )
            root.removeHandler(capture)
    finally:
        await producer.stop()
        async with admin.begin() as conn:
            await conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        await admin.dispose()


def wrap(event: Any) -> Envelope:
    return Envelope.wrap(event, producer="test", correlation_id=f"req-{uuid.uuid4().hex[:8]}")


async def registered(
    service: Service, language: str, *, email: str | None = None
) -> tuple[uuid.UUID, str, str | None]:
    """A citizen registered, once the service has stored their contact."""
    citizen_id, number = uuid.uuid4(), mobile()
    email = email if email is not None else email_address()
    await service.publish(
        wrap(
            CitizenRegisteredV4(  # as identity publishes it: the ID only as a pseudonym
                key_id="k0",
                citizen_id=citizen_id,
                national_id_ref="0" * 64,
                full_name_ar="سارة أحمد",
                full_name_en="Sara Ahmed",
                nationality="SA",
                sex="F",
                birth_date=date(1990, 1, 1),
                marital_status="married",
                mobile=number,
                email=email,
                language=language,
                registered_at=datetime.now(UTC),
            )
        )
    )
    await service.contact(citizen_id)
    return citizen_id, number, email
