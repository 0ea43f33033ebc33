"""The outbox and its relay on the real Postgres and Kafka: a row that cannot be published
holds up only the rows after it, and a savepoint's rollback does not leave the relay asleep."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaProducer

from sanad.platform.testing import eventually
from sanad.shared import outbox
from sanad.shared.db import session_factory
from sanad.shared.events import Envelope
from sanad.shared.outbox import OutboxRelay

from .conftest import Pipe, event_ids, running


class CountingRelay(OutboxRelay):
    """Counts its turns, and the turns that failed."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.turns = 0
        self.failures = 0

    async def publish_batch(self) -> int:
        self.turns += 1
        try:
            return await super().publish_batch()
        except Exception:
            self.failures += 1
            raise


def oversized(pipe: Pipe) -> Envelope:
    """An envelope over Kafka's 1 MB message limit (a payload nobody should publish)."""
    return Envelope(
        event_type="CitizenRegistered",
        schema_version=1,
        occurred_at=datetime.now(UTC),
        producer="test",
        key=str(pipe.key),
        payload={"blob": "x" * 1_100_000},
    )


async def test_an_unpublishable_row_holds_up_the_rows_after_it_and_resends_none_before(
    pipe: Pipe, producer: AIOKafkaProducer
) -> None:
    before = [pipe.event("before-1"), pipe.event("before-2")]
    too_big, after = oversized(pipe), pipe.event("after")
    await pipe.commit(*before, too_big, after)
    relay = pipe.relay(producer, CountingRelay)
    assert isinstance(relay, CountingRelay)
    relay._poll_interval = 0.05
    async with running(relay):
        await eventually(lambda: _value(relay.failures), until=lambda n: n >= 2, timeout=60)
        published = event_ids(await pipe.raw_messages())
    # The rows ahead of it went once, however often the relay tried again.
    assert published == [str(envelope.event_id) for envelope in before]
    assert await pipe.unpublished() == 2  # it, and the one behind it (order per key)


async def _value(value: int) -> int:
    return value


async def test_a_rolled_back_savepoint_does_not_swallow_the_transactions_wake_up(
    pipe: Pipe, producer: AIOKafkaProducer
) -> None:
    relay = pipe.relay(producer, CountingRelay)
    assert isinstance(relay, CountingRelay)
    relay._poll_interval = 3600.0  # only a NOTIFY can wake it within the test
    async with running(relay):
        # It listens before its first turn.
        await eventually(lambda: _value(relay.turns), until=lambda n: n >= 1)
        async with session_factory(pipe.source.engine)() as session, session.begin():
            savepoint = await session.begin_nested()
            await outbox.add(session, pipe.event("undone"), topic=pipe.topic)
            await savepoint.rollback()
            await outbox.add(session, pipe.event("kept"), topic=pipe.topic)
        await eventually(pipe.unpublished, until=lambda n: n == 0, what="kept published")
    notes = [
        Envelope.from_bytes(record.value).payload["full_name_en"]
        for record in await pipe.raw_messages()
    ]
    assert notes == ["kept"]
