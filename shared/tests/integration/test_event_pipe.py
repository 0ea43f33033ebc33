"""The tracer bullet: outbox → relay → real Kafka → idempotent consumer, across two schemas.

A producing "service" and a consuming "service" each get a scratch schema in the real
Postgres; events travel through the real broker on a topic made for each test, so the
running platform's services never see them.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from faststream.kafka import KafkaBroker
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from sanad.platform import dead_letters
from sanad.platform.testing import Infra, Scratch, eventually, scratch_schema
from sanad.shared import outbox
from sanad.shared.db import asyncpg_dsn, session_factory
from sanad.shared.events import CitizenRegistered, Envelope
from sanad.shared.inbox import RetryPolicy, subscribe
from sanad.shared.kafka_admin import ensure_topics
from sanad.shared.messaging_tables import outbox as outbox_table
from sanad.shared.messaging_tables import processed_events
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


async def record_effect(session: AsyncSession, envelope: Envelope) -> None:
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
        consumer = AIOKafkaConsumer(
            topic or self.topic,
            bootstrap_servers=self.infra.kafka_bootstrap,
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
        infra.kafka_bootstrap,
        [TopicSpec(topic, partitions=3), TopicSpec(dead_letter_topic(group), partitions=1)],
    )
    async with scratch_schema(infra, "source") as source, scratch_schema(infra, "sink") as sink:
        async with sink.engine.begin() as conn:
            await conn.execute(
                text("CREATE TABLE effects (id serial PRIMARY KEY, event_id uuid, note text)")
            )
        yield Pipe(infra, topic, group, source, sink, uuid.uuid4())


@pytest.fixture
async def consumer(pipe: Pipe) -> AsyncIterator[KafkaBroker]:
    broker = KafkaBroker(pipe.infra.kafka_bootstrap, client_id=pipe.group)
    subscribe(
        broker,
        group_id=pipe.group,
        topics=(pipe.topic,),
        handler=record_effect,
        sessions=session_factory(pipe.sink.engine),
        retry=RetryPolicy(attempts=3, first_delay=0.05, max_delay=0.2),
    )
    await broker.start()
    try:
        yield broker
    finally:
        await broker.stop()


@pytest.fixture
async def producer(pipe: Pipe) -> AsyncIterator[AIOKafkaProducer]:
    kafka_producer = make_producer(pipe.infra.kafka_bootstrap, "test-relay")
    await kafka_producer.start()
    try:
        yield kafka_producer
    finally:
        await kafka_producer.stop()


def event_ids(records: Sequence[Any]) -> list[str]:
    return [dict(record.headers)["event_id"].decode() for record in records]


async def test_committed_event_reaches_the_other_service_once_even_when_delivered_twice(
    pipe: Pipe, consumer: KafkaBroker, producer: AIOKafkaProducer
) -> None:
    first = pipe.event("first")
    async with running(pipe.relay(producer)):
        await pipe.commit(first)
        await pipe.wait_for_effect("first")
        # Kafka delivers the very same message again (e.g. after a rebalance).
        await producer.send_and_wait(
            pipe.topic, first.to_bytes(), key=first.key.encode(), headers=first.headers()
        )
        await pipe.commit(pipe.event("after"))  # same key, so handled after the duplicate
        notes = await pipe.wait_for_effect("after")

    assert notes == ["first", "after"]
    assert event_ids(await pipe.raw_messages()).count(str(first.event_id)) == 2
    record = next(r for r in await pipe.raw_messages() if r.key == first.key.encode())
    headers = {name: value.decode() for name, value in record.headers}
    assert headers["event_type"] == "CitizenRegistered"
    assert headers["correlation_id"] == "req-first"
    assert await pipe.unpublished() == 0


async def test_rolled_back_transaction_publishes_nothing(
    pipe: Pipe, consumer: KafkaBroker, producer: AIOKafkaProducer
) -> None:
    doomed = pipe.event("rolled-back")
    async with running(pipe.relay(producer)):
        async with session_factory(pipe.source.engine)() as session:
            async with session.begin():
                await outbox.add(session, doomed, topic=pipe.topic)
                await session.rollback()
        await pipe.commit(pipe.event("sentinel"))
        notes = await pipe.wait_for_effect("sentinel")

    assert notes == ["sentinel"]
    assert str(doomed.event_id) not in event_ids(await pipe.raw_messages())


class CrashAfterPublish(OutboxRelay):
    """A relay that dies after Kafka acknowledged the batch, before marking rows published."""

    async def _after_publish(self, rows: Sequence[Any]) -> None:
        raise SystemExit("relay killed between publish and mark")


async def test_relay_killed_around_the_publish_still_delivers_exactly_once(
    pipe: Pipe, consumer: KafkaBroker, producer: AIOKafkaProducer
) -> None:
    event = pipe.event("survivor")
    # Committed while no relay runs: the state a relay killed before publishing leaves.
    await pipe.commit(event)
    await asyncio.sleep(1.0)
    assert await pipe.effects() == []
    assert await pipe.unpublished() == 1

    # Restarted, it is killed again after publishing but before marking the row.
    with pytest.raises(SystemExit):
        await pipe.relay(producer, CrashAfterPublish).publish_batch()
    assert await pipe.unpublished() == 1  # the mark was rolled back with the crash

    # Restarted once more: it publishes the row again; the consumer applies it once.
    async with running(pipe.relay(producer)) as relay:
        await eventually(pipe.unpublished, until=lambda n: n == 0, what="outbox drained")
        await pipe.commit(pipe.event("after"))
        notes = await pipe.wait_for_effect("after")

    assert relay.published >= 1
    assert notes == ["survivor", "after"]
    assert event_ids(await pipe.raw_messages()).count(str(event.event_id)) == 2


async def test_failing_handler_dead_letters_after_retries_and_the_consumer_moves_on(
    pipe: Pipe, consumer: KafkaBroker, producer: AIOKafkaProducer
) -> None:
    poison = pipe.event("poison-pill")
    async with running(pipe.relay(producer)):
        await pipe.commit(poison, pipe.event("next"))
        notes = await pipe.wait_for_effect("next")
        # Not even an envelope: straight to the dead-letter topic, without retries.
        await producer.send_and_wait(pipe.topic, b"not json", key=pipe.key.bytes)
        await pipe.commit(pipe.event("last"))
        notes = await pipe.wait_for_effect("last")

    assert notes == ["next", "last"]
    dead = await eventually(
        lambda: pipe.raw_messages(dead_letter_topic(pipe.group)),
        until=lambda records: len(records) >= 2,
        what="two dead letters",
    )
    first = {name: value.decode() for name, value in dead[0].headers}
    assert Envelope.from_bytes(dead[0].value) == poison
    assert first["dlq_attempts"] == "3"
    assert first["dlq_error_type"] == "ValueError"
    assert "cannot handle poison-pill" in first["dlq_error"]
    assert first["dlq_original_topic"] == pipe.topic
    second = {name: value.decode() for name, value in dead[1].headers}
    assert (dead[1].value, second["dlq_attempts"], second["dlq_error_type"]) == (
        b"not json",
        "0",
        "ValidationError",
    )
    async with pipe.sink.engine.connect() as conn:
        done = (await conn.execute(select(processed_events.c.event_id))).scalars().all()
    assert poison.event_id not in done


class SlowFirstBatch(OutboxRelay):
    """A relay that stalls while sending its first batch (a GC pause, a slow broker ack):
    without one-publisher-at-a-time, another instance would publish later rows meanwhile."""

    stalled = False

    async def _send(self, rows: Sequence[Any]) -> None:
        if not SlowFirstBatch.stalled:
            SlowFirstBatch.stalled = True
            await asyncio.sleep(1.5)
        await super()._send(rows)


async def test_two_relay_instances_keep_one_aggregate_in_order(
    pipe: Pipe, consumer: KafkaBroker, producer: AIOKafkaProducer
) -> None:
    notes = [f"step-{n:03d}" for n in range(30)]
    for chunk in range(0, len(notes), 5):  # six transactions, like six requests
        await pipe.commit(*(pipe.event(note) for note in notes[chunk : chunk + 5]))
    other = make_producer(pipe.infra.kafka_bootstrap, "test-relay-2")
    await other.start()
    SlowFirstBatch.stalled = False
    try:
        slow = pipe.relay(producer, SlowFirstBatch, batch_size=5)
        async with running(slow):
            await asyncio.sleep(0.3)  # the slow one holds the first batch
            async with running(pipe.relay(other, batch_size=5)):
                seen = await pipe.wait_for_effect(notes[-1])
    finally:
        await other.stop()
    assert SlowFirstBatch.stalled
    assert seen == notes
    assert await pipe.unpublished() == 0


async def test_a_dead_letter_replayed_after_the_fix_takes_effect_once(
    pipe: Pipe, consumer: KafkaBroker, producer: AIOKafkaProducer
) -> None:
    note = f"poison-{uuid.uuid4().hex[:6]}"
    async with running(pipe.relay(producer)):
        await pipe.commit(pipe.event(note))
        [letter] = await eventually(
            lambda: dead_letters.read(pipe.infra.kafka_bootstrap, pipe.group),
            until=lambda letters: len(letters) == 1,
            what="the dead letter",
        )
        assert letter.original_topic == pipe.topic
        assert letter.error.startswith("ValueError: cannot handle poison")
        assert await pipe.effects() == []

        HEALED.add(note)  # the handler's bug is fixed and the service redeployed
        bootstrap = pipe.infra.kafka_bootstrap
        assert await dead_letters.replay(bootstrap, pipe.group) == 1
        assert await dead_letters.replay(bootstrap, pipe.group) == 0  # the cursor moved on
        # Replaying one on purpose again is harmless: the consumer is idempotent.
        at = {(letter.partition, letter.offset)}
        assert await dead_letters.replay(bootstrap, pipe.group, at) == 1
        await pipe.commit(pipe.event("after-replay"))
        notes = await pipe.wait_for_effect("after-replay")

    assert notes == [note, "after-replay"]
