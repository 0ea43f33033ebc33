"""The tracer bullet: outbox → relay → real Kafka → idempotent consumer, across two schemas.

A producing "service" and a consuming "service" each get a scratch schema in the real
Postgres; events travel through the real broker on a topic made for each test, so the
running platform's services never see them.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer
from sqlalchemy import select

from sanad.platform import dead_letters
from sanad.platform.testing import eventually
from sanad.shared import outbox
from sanad.shared.db import session_factory
from sanad.shared.events import Envelope
from sanad.shared.inbox import Inbox
from sanad.shared.messaging_tables import processed_events
from sanad.shared.outbox import OutboxRelay, make_producer
from sanad.shared.topics import dead_letter_topic

from .conftest import HEALED, Pipe, event_ids, running


async def test_committed_event_reaches_the_other_service_once_even_when_delivered_twice(
    pipe: Pipe, consumer: Inbox, producer: AIOKafkaProducer
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
    pipe: Pipe, consumer: Inbox, producer: AIOKafkaProducer
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
    pipe: Pipe, consumer: Inbox, producer: AIOKafkaProducer
) -> None:
    event = pipe.event("survivor")
    # Committed while no relay runs: the state a relay killed before publishing leaves.
    await pipe.commit(event)
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
    pipe: Pipe, consumer: Inbox, producer: AIOKafkaProducer
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
    """A relay that stalls while sending its first batch (a GC pause, a slow broker ack)
    until the test releases it: without one-publisher-at-a-time, another instance would
    publish later rows meanwhile."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.holding = asyncio.Event()
        self.release = asyncio.Event()

    async def _send(self, rows: Sequence[Any]) -> None:
        if not self.holding.is_set():
            self.holding.set()
            await self.release.wait()
        await super()._send(rows)


class CountingRelay(OutboxRelay):
    """A relay that counts its turns, published or not."""

    turns = 0

    async def publish_batch(self) -> int:
        published = await super().publish_batch()
        self.turns += 1
        return published


async def test_two_relay_instances_keep_one_aggregate_in_order(
    pipe: Pipe, consumer: Inbox, producer: AIOKafkaProducer
) -> None:
    notes = [f"step-{n:03d}" for n in range(30)]
    for chunk in range(0, len(notes), 5):  # six transactions, like six requests
        await pipe.commit(*(pipe.event(note) for note in notes[chunk : chunk + 5]))
    other = make_producer(pipe.infra.kafka, "test-relay-2")
    await other.start()
    try:
        slow = pipe.relay(producer, SlowFirstBatch, batch_size=5)
        assert isinstance(slow, SlowFirstBatch)
        second = pipe.relay(other, CountingRelay, batch_size=5)
        assert isinstance(second, CountingRelay)
        async with running(slow):
            await asyncio.wait_for(slow.holding.wait(), 30)  # it holds the first batch
            async with running(second):
                # The other instance has had turns while the first batch was held.
                await eventually(lambda: _value(second.turns), until=lambda n: n >= 3)
                assert await pipe.effects() == []  # it published nothing meanwhile
                slow.release.set()
                seen = await pipe.wait_for_effect(notes[-1])
    finally:
        await other.stop()
    assert seen == notes
    assert await pipe.unpublished() == 0


async def _value(value: int) -> int:
    return value


async def test_a_dead_letter_replayed_after_the_fix_takes_effect_once(
    pipe: Pipe, consumer: Inbox, producer: AIOKafkaProducer
) -> None:
    note = f"poison-{uuid.uuid4().hex[:6]}"
    async with running(pipe.relay(producer)):
        await pipe.commit(pipe.event(note))
        [letter] = await eventually(
            lambda: dead_letters.read(pipe.infra.kafka, pipe.group),
            until=lambda letters: len(letters) == 1,
            what="the dead letter",
        )
        assert letter.original_topic == pipe.topic
        assert letter.error.startswith("ValueError: cannot handle poison")
        assert await pipe.effects() == []

        HEALED.add(note)  # the handler's bug is fixed and the service redeployed
        bootstrap = pipe.infra.kafka
        assert await dead_letters.replay(bootstrap, pipe.group) == 1
        assert await dead_letters.replay(bootstrap, pipe.group) == 0  # the cursor moved on
        # Replaying one on purpose again is harmless: the consumer is idempotent.
        at = {(letter.partition, letter.offset)}
        assert await dead_letters.replay(bootstrap, pipe.group, at) == 1
        await pipe.commit(pipe.event("after-replay"))
        notes = await pipe.wait_for_effect("after-replay")

    assert notes == [note, "after-replay"]
