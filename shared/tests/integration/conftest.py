"""The pipe between two scratch "services": a producing schema with an outbox and a relay,
a consuming schema with an inbox, on a topic made for each test (the running platform's
services never see these events)."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from sanad.platform.testing import Infra, Scratch, eventually, scratch_schema
from sanad.shared import kafka_clients, outbox
from sanad.shared.db import asyncpg_dsn, session_factory
from sanad.shared.events import CitizenRegistered, Envelope
from sanad.shared.inbox import Inbox, RetryPolicy
from sanad.shared.kafka_admin import ensure_topics
from sanad.shared.messaging_tables import outbox as outbox_table
from sanad.shared.outbox import OutboxRelay, make_producer
from sanad.shared.topics import TopicSpec, dead_letter_topic


def citizen_event(note: str, citizen_id: uuid.UUID) -> Envelope:
    event = CitizenRegistered(
        citizen_id=citizen_id,
        national_id="1000000008",
        full_name_ar="اختبار",
        full_name_en=note,
        nationality="SA",
        sex="F",
        birth_date=date(1990, 1, 1),
        marital_status="married",
        mobile="+966500000001",
        registered_at=datetime.now(UTC),
    )
    return Envelope.wrap(event, producer="test-producer", correlation_id=f"req-{note}")


# Poison notes a test has "fixed the bug" for: they no longer fail.
HEALED: set[str] = set()


async def record_effect(
    session: AsyncSession, event: CitizenRegistered, envelope: Envelope
) -> None:
    """The consumer's effect: one row per event. Notes starting 'poison' fail until healed."""
    note = envelope.payload["full_name_en"]
    if note.startswith("poison") and note not in HEALED:
        raise ValueError(f"cannot handle {note}")
    await session.execute(
        text("INSERT INTO effects (event_id, note) VALUES (:id, :note)"),
        {"id": envelope.event_id, "note": note},
    )


@dataclass
class Pipe:
    infra: Infra
    topic: str
    group: str
    source: Scratch
    sink: Scratch
    key: uuid.UUID  # every event in a test shares it: one partition, kept in order

    def relay(
        self,
        producer: AIOKafkaProducer,
        cls: type[OutboxRelay] = OutboxRelay,
        batch_size: int = 200,
    ) -> OutboxRelay:
        return cls(
            self.source.engine,
            producer,
            listen_dsn=asyncpg_dsn(self.infra.database_admin_url()),
            schema=self.source.schema,
            poll_interval=0.5,
            batch_size=batch_size,
        )

    def event(self, note: str) -> Envelope:
        return citizen_event(note, self.key)

    async def commit(self, *envelopes: Envelope) -> None:
        async with session_factory(self.source.engine)() as session, session.begin():
            for envelope in envelopes:
                await outbox.add(session, envelope, topic=self.topic)

    async def effects(self) -> list[str]:
        async with self.sink.engine.connect() as conn:
            return [
                row.note for row in await conn.execute(text("SELECT note FROM effects ORDER BY id"))
            ]

    async def wait_for_effect(self, note: str) -> list[str]:
        return await eventually(
            self.effects, until=lambda notes: note in notes, what=f"effect {note!r}"
        )

    async def unpublished(self) -> int:
        async with self.source.engine.connect() as conn:
            query = select(func.count()).where(outbox_table.c.published_at.is_(None))
            return int((await conn.execute(query.select_from(outbox_table))).scalar_one())

    async def raw_messages(self, topic: str | None = None) -> list[Any]:
        """Every record on the topic, read from the beginning with no consumer group."""
        consumer = kafka_clients.consumer(
            self.infra.kafka,
            topic or self.topic,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
        )
        await consumer.start()
        try:
            batches = await consumer.getmany(timeout_ms=3000)
            return [record for records in batches.values() for record in records]
        finally:
            await consumer.stop()


@contextlib.asynccontextmanager
async def running(relay: OutboxRelay) -> AsyncIterator[OutboxRelay]:
    task = asyncio.create_task(relay.run())
    try:
        yield relay
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


@pytest.fixture
async def pipe(infra: Infra) -> AsyncIterator[Pipe]:
    suffix = uuid.uuid4().hex[:8]
    topic, group = f"test.pipe-{suffix}", f"test-consumer-{suffix}"
    await ensure_topics(
        infra.kafka,
        [TopicSpec(topic, partitions=3), TopicSpec(dead_letter_topic(group), partitions=1)],
    )
    async with scratch_schema(infra, "source") as source, scratch_schema(infra, "sink") as sink:
        async with sink.engine.begin() as conn:
            await conn.execute(
                text("CREATE TABLE effects (id serial PRIMARY KEY, event_id uuid, note text)")
            )
        yield Pipe(infra, topic, group, source, sink, uuid.uuid4())


def make_inbox(
    pipe: Pipe, sessions: Any = None, *, consumer: str | None = None, group: str | None = None
) -> Inbox:
    """The sink's inbox of the pipe's topic (``group``, the pipe's group by default)."""
    inbox = Inbox(
        pipe.infra.kafka,
        sessions or session_factory(pipe.sink.engine, producer="sink"),
        client_id=pipe.group,
    )
    inbox.subscribe(
        group_id=group or pipe.group,
        topics=(pipe.topic,),
        handlers={CitizenRegistered: record_effect},
        retry=RetryPolicy(attempts=3, first_delay=0.05, max_delay=0.2),
        consumer=consumer,
    )
    return inbox


@contextlib.asynccontextmanager
async def consuming(inbox: Inbox) -> AsyncIterator[Inbox]:
    await inbox.start()
    try:
        yield inbox
    finally:
        await inbox.stop()


@pytest.fixture
async def consumer(pipe: Pipe) -> AsyncIterator[Inbox]:
    async with consuming(make_inbox(pipe)) as inbox:
        yield inbox


@pytest.fixture
async def producer(pipe: Pipe) -> AsyncIterator[AIOKafkaProducer]:
    kafka_producer = make_producer(pipe.infra.kafka, "test-relay")
    await kafka_producer.start()
    try:
        yield kafka_producer
    finally:
        await kafka_producer.stop()


def event_ids(records: Sequence[Any]) -> list[str]:
    return [dict(record.headers)["event_id"].decode() for record in records]
