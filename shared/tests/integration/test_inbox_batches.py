"""The batched inbox on the real broker: a batch takes effect once per event, a poison event
is isolated, a redelivered batch changes nothing, instances share partitions, an outage
rewinds instead of losing or dead-lettering, and unknown types are skipped."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaProducer, TopicPartition
from asyncpg import exceptions as pg_errors
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from sanad.platform import dead_letters
from sanad.platform.testing import eventually
from sanad.shared import kafka_clients, outbox
from sanad.shared.db import session_factory
from sanad.shared.events import CitizenRegistered, Envelope, NotificationDispatched
from sanad.shared.inbox import BUSY_FETCH_WAIT_MS, IDLE_FETCH_WAIT_MS, Inbox, RetryPolicy
from sanad.shared.kafka_admin import ensure_topics
from sanad.shared.partitioning import partition_for
from sanad.shared.topics import TopicSpec

from .conftest import Pipe, citizen_event, consuming, make_inbox, record_effect, running


async def notes_by_event(pipe: Pipe) -> dict[str, int]:
    async with pipe.sink.engine.connect() as conn:
        rows = await conn.execute(text("SELECT note, count(*) FROM effects GROUP BY note"))
        return {row.note: row.count for row in rows}


async def test_a_batch_with_one_poison_event_dead_letters_that_one_only(
    pipe: Pipe, producer: AIOKafkaProducer
) -> None:
    notes = [f"ok-{n:02d}" for n in range(20)]
    notes.insert(7, "poison-in-the-middle")
    # Published before any consumer runs, so they arrive as one batch of one partition.
    await pipe.commit(*(pipe.event(note) for note in notes))
    async with running(pipe.relay(producer)):
        await eventually(pipe.unpublished, until=lambda n: n == 0, what="outbox drained")
    async with consuming(make_inbox(pipe)):
        seen = await pipe.wait_for_effect("ok-19")
        [letter] = await eventually(
            lambda: dead_letters.read(pipe.infra.kafka, pipe.group),
            until=lambda letters: len(letters) == 1,
            what="one dead letter",
        )
    assert seen == [note for note in notes if not note.startswith("poison")]  # in order, once
    assert letter.error.startswith("ValueError: cannot handle poison-in-the-middle")


async def test_a_batch_delivered_again_after_its_offsets_were_lost_changes_nothing(
    pipe: Pipe, producer: AIOKafkaProducer
) -> None:
    notes = [f"e-{n:03d}" for n in range(100)]
    await pipe.commit(*(pipe.event(note) for note in notes))
    async with running(pipe.relay(producer)):
        async with consuming(make_inbox(pipe)):
            await pipe.wait_for_effect("e-099")
    # The state a consumer killed between its Postgres commit and its offset commit leaves,
    # at its worst: every offset forgotten. Another group with the same inbox name reads the
    # topic again from the beginning.
    again_group = f"{pipe.group}-again"
    again = make_inbox(pipe, consumer=pipe.group, group=again_group)
    async with consuming(again):
        await eventually(
            lambda: _committed(pipe, again_group), until=lambda n: n >= 100, what="re-read"
        )
    assert await notes_by_event(pipe) == dict.fromkeys(notes, 1)
    assert again.processed() == 0


async def _committed(pipe: Pipe, group: str) -> int:
    """The offsets ``group`` committed on the pipe's three partitions, summed."""
    consumer = kafka_clients.consumer(pipe.infra.kafka, group_id=group)
    await consumer.start()
    try:
        partitions = [TopicPartition(pipe.topic, p) for p in range(3)]
        offsets = [await consumer.committed(tp) or 0 for tp in partitions]
        return sum(offsets)
    finally:
        await consumer.stop()


async def test_two_instances_share_the_partitions_and_apply_each_event_once(
    pipe: Pipe, producer: AIOKafkaProducer
) -> None:
    # Many keys: spread over the topic's three partitions.
    events = [citizen_event(f"k-{n:03d}", uuid.uuid4()) for n in range(300)]
    async with consuming(make_inbox(pipe)) as first, consuming(make_inbox(pipe)) as second:
        async with running(pipe.relay(producer)):
            for start in range(0, len(events), 50):
                await pipe.commit(*events[start : start + 50])
            await eventually(
                lambda: notes_by_event(pipe), until=lambda seen: len(seen) == 300, what="300"
            )
        counts = await notes_by_event(pipe)
        shared = (first.processed(), second.processed())
    assert set(counts.values()) == {1}
    assert sum(shared) == 300


class FlakyDatabase:
    """A session factory whose database is unreachable for the first ``outages`` sessions."""

    def __init__(self, sessions: Any, outages: int) -> None:
        self._sessions = sessions
        self.outages = outages

    def __call__(self) -> Any:
        if self.outages > 0:
            self.outages -= 1
            raise ConnectionRefusedError(111, "Connection refused")
        return self._sessions()


async def test_database_down_mid_stream_rewinds_and_loses_nothing(
    pipe: Pipe, producer: AIOKafkaProducer
) -> None:
    notes = [f"d-{n:02d}" for n in range(10)]
    await pipe.commit(*(pipe.event(note) for note in notes))
    # Down for the batch, for its first event alone and for the check that it is really
    # down: the batch is rewound; back when it is fetched again.
    flaky = FlakyDatabase(session_factory(pipe.sink.engine), outages=3)
    async with running(pipe.relay(producer)), consuming(make_inbox(pipe, flaky)):
        seen = await pipe.wait_for_effect("d-09")
    assert flaky.outages == 0
    assert seen == notes
    assert await dead_letters.read(pipe.infra.kafka, pipe.group) == []


async def test_unhandled_types_are_skipped_and_unknown_versions_dead_lettered(
    pipe: Pipe, producer: AIOKafkaProducer
) -> None:
    other = NotificationDispatched(
        delivery_id=uuid.uuid4(),
        source_event_id=uuid.uuid4(),
        citizen_id=pipe.key,
        channel="sms",
        template="otp",
        language="ar",
        status="sent",
        attempts=1,
    )
    unhandled = Envelope.wrap(other, producer="test")
    future = pipe.event("from-the-future").model_copy(update={"schema_version": 99})
    await pipe.commit(unhandled, future, pipe.event("after"))
    async with running(pipe.relay(producer)), consuming(make_inbox(pipe)):
        await pipe.wait_for_effect("after")
        [letter] = await eventually(
            lambda: dead_letters.read(pipe.infra.kafka, pipe.group),
            until=lambda letters: len(letters) >= 1,
            what="the unknown version's dead letter",
        )
    assert Envelope.from_bytes(letter.value).event_id == future.event_id
    assert "no handler for CitizenRegistered v99" in letter.error


async def test_a_handler_publishes_with_the_cause_and_the_services_name(
    pipe: Pipe, producer: AIOKafkaProducer
) -> None:
    async def republish(
        session: AsyncSession, event: CitizenRegistered, envelope: Envelope
    ) -> None:
        await outbox.publish(session, event)

    inbox = Inbox(
        pipe.infra.kafka,
        session_factory(pipe.sink.engine, producer="sink-service"),
        client_id=pipe.group,
    )
    inbox.subscribe(
        group_id=pipe.group,
        topics=(pipe.topic,),
        handlers={CitizenRegistered: republish},
        retry=RetryPolicy(attempts=1),
    )
    cause = pipe.event("cause")
    async with running(pipe.relay(producer)), consuming(inbox):
        await pipe.commit(cause)
        [published] = await eventually(
            lambda: _outbox_envelopes(pipe), until=lambda rows: len(rows) == 1, what="republish"
        )
    assert published["producer"] == "sink-service"
    assert published["causation_id"] == str(cause.event_id)
    assert published["correlation_id"] == cause.correlation_id


async def _outbox_envelopes(pipe: Pipe) -> list[dict[str, Any]]:
    async with pipe.sink.engine.connect() as conn:
        return [row[0] for row in await conn.execute(text("SELECT envelope FROM outbox"))]


async def test_a_burst_on_one_topic_does_not_hold_another_topics_event(
    pipe: Pipe, producer: AIOKafkaProducer
) -> None:
    """An OTP must not wait behind thousands of decisions. One group consumes two topics;
    one has a backlog of slow events on each of its three partitions (every partition's
    batch takes seconds); the other topic's event still takes effect while the backlog is
    being worked through."""
    urgent_topic = f"{pipe.topic}-urgent"
    await ensure_topics(pipe.infra.kafka, [TopicSpec(urgent_topic, partitions=1)])
    backlog = [citizen_event(f"slow-{n:03d}", uuid.uuid4()) for n in range(600)]
    await pipe.commit(*backlog)
    async with running(pipe.relay(producer)):
        await eventually(pipe.unpublished, until=lambda n: n == 0, what="backlog published")

    handled: list[str] = []

    async def handle(session: AsyncSession, event: CitizenRegistered, envelope: Envelope) -> None:
        handled.append(event.full_name_en)
        if event.full_name_en.startswith("slow-"):
            await session.execute(text("SELECT pg_sleep(0.01)"))  # a handler with real work
        await record_effect(session, event, envelope)

    async def slow_batches_under_way() -> int:
        return len(handled)

    inbox = Inbox(pipe.infra.kafka, session_factory(pipe.sink.engine), client_id="t")
    inbox.subscribe(
        group_id=pipe.group,
        topics=(pipe.topic, urgent_topic),
        handlers={CitizenRegistered: handle},
    )
    urgent = citizen_event("urgent", uuid.uuid4())
    async with consuming(inbox), running(pipe.relay(producer)):
        # The backlog's batches are being handled (and hold what they hold) before it comes.
        await eventually(slow_batches_under_way, until=lambda n: n >= 30)
        async with session_factory(pipe.source.engine)() as session, session.begin():
            await outbox.add(session, urgent, topic=urgent_topic)
        seen = await pipe.wait_for_effect("urgent")
    # Each slow partition's batch takes seconds and commits at once: none had committed when
    # the urgent event took effect (it did not wait for a batch to free a connection).
    assert seen == ["urgent"]


class Swallower:
    """A handler with the "already exists? ignore it" idiom done wrong: it catches the
    database's error and goes on, leaving the transaction aborted."""

    async def __call__(
        self, session: AsyncSession, event: CitizenRegistered, envelope: Envelope
    ) -> None:
        if event.full_name_en == "swallows-an-error":
            try:
                await session.execute(text("SELECT 1/0"))
            except DBAPIError:
                return
        await record_effect(session, event, envelope)


async def test_a_handler_that_swallows_a_database_error_loses_nothing_else(
    pipe: Pipe, producer: AIOKafkaProducer
) -> None:
    # The swallower is the batch's last event: nothing after it would notice the abort.
    await pipe.commit(pipe.event("a"), pipe.event("b"), pipe.event("swallows-an-error"))
    async with running(pipe.relay(producer)):
        await eventually(pipe.unpublished, until=lambda n: n == 0, what="published")
    inbox = Inbox(pipe.infra.kafka, session_factory(pipe.sink.engine), client_id="t")
    inbox.subscribe(
        group_id=pipe.group,
        topics=(pipe.topic,),
        handlers={CitizenRegistered: Swallower()},
        retry=RetryPolicy(attempts=2, first_delay=0.05, max_delay=0.2),
    )
    async with consuming(inbox):
        [letter] = await eventually(
            lambda: dead_letters.read(pipe.infra.kafka, pipe.group),
            until=lambda letters: len(letters) == 1,
            what="the swallower's dead letter",
        )
    assert await pipe.effects() == ["a", "b"]
    assert letter.error.startswith("HandlerSwallowedDatabaseError")


async def test_an_outage_looking_error_while_the_database_answers_is_the_messages(
    pipe: Pipe, producer: AIOKafkaProducer
) -> None:
    """asyncpg raises InterfaceError for client-side faults too (too many bind parameters):
    with Postgres answering, the event is retried and dead-lettered, not rewound forever."""

    async def handle(session: AsyncSession, event: CitizenRegistered, envelope: Envelope) -> None:
        if event.full_name_en == "too-wide":
            raise pg_errors.InterfaceError("the number of query arguments cannot exceed 32767")
        await record_effect(session, event, envelope)

    await pipe.commit(pipe.event("before"), pipe.event("too-wide"), pipe.event("after"))
    inbox = Inbox(pipe.infra.kafka, session_factory(pipe.sink.engine), client_id="t")
    inbox.subscribe(
        group_id=pipe.group,
        topics=(pipe.topic,),
        handlers={CitizenRegistered: handle},
        retry=RetryPolicy(attempts=2, first_delay=0.05, max_delay=0.2),
    )
    async with running(pipe.relay(producer)), consuming(inbox):
        seen = await pipe.wait_for_effect("after")
        [letter] = await eventually(
            lambda: dead_letters.read(pipe.infra.kafka, pipe.group),
            until=lambda letters: len(letters) == 1,
            what="one dead letter",
        )
    assert seen == ["before", "after"]
    assert letter.error.startswith("InterfaceError: the number of query arguments")


async def test_events_arriving_while_their_partitions_batch_runs_follow_it_in_order(
    pipe: Pipe, producer: AIOKafkaProducer
) -> None:
    """One key (one partition), events committed in small transactions while the consumer's
    batches of that partition are slow: the records fetched meanwhile wait behind the batch
    in flight (and with ``max_records`` of 20 a full queue pauses the partition), then run
    as its next batches. Every event takes effect once, in the order it was committed."""
    notes = [f"s-{n:03d}" for n in range(240)]

    async def slow_effect(
        session: AsyncSession, event: CitizenRegistered, envelope: Envelope
    ) -> None:
        await session.execute(text("SELECT pg_sleep(0.002)"))
        await record_effect(session, event, envelope)

    inbox = _inbox_of(pipe, slow_effect, max_records=20)
    async with consuming(inbox), running(pipe.relay(producer)):
        for start in range(0, len(notes), 8):
            await pipe.commit(*(pipe.event(note) for note in notes[start : start + 8]))
        seen = await pipe.wait_for_effect(notes[-1])
        processed = inbox.processed()
    assert seen == notes
    assert processed == len(notes)


async def test_an_idle_consumer_long_polls_and_still_takes_an_event_at_once(
    pipe: Pipe, producer: AIOKafkaProducer
) -> None:
    inbox = make_inbox(pipe)
    async with consuming(inbox):
        [loop] = inbox._loops
        # Nothing to read: after a fetch came back empty the broker may hold the next ones.
        await eventually(
            lambda: _value(loop.fetch_wait_ms),
            until=lambda ms: ms == IDLE_FETCH_WAIT_MS,
            what="idle wait",
        )
        await pipe.commit(pipe.event("while-idle"))
        async with running(pipe.relay(producer)):
            assert await pipe.wait_for_effect("while-idle") == ["while-idle"]


async def test_a_consumer_long_polls_while_batches_run_and_soon_for_a_paused_partition(
    pipe: Pipe, producer: AIOKafkaProducer
) -> None:
    """A waiting fetch returns as soon as an event arrives, so a long broker wait costs no
    latency while batches run (a short one meant 50 fetches a second per consumer under any
    load). Only a partition the fetch in flight leaves out — paused behind a whole queued
    batch — needs the next fetch soon."""
    gate = asyncio.Event()

    async def held_first(
        session: AsyncSession, event: CitizenRegistered, envelope: Envelope
    ) -> None:
        if envelope.payload["full_name_en"] == "held":
            await gate.wait()
        await record_effect(session, event, envelope)

    inbox = _inbox_of(pipe, held_first, max_records=2)
    async with consuming(inbox), running(pipe.relay(producer)):
        [loop] = inbox._loops
        await pipe.commit(pipe.event("held"))
        await eventually(lambda: _fact(bool(loop._inflight)), until=bool, what="held batch")
        # One event queued behind the batch: nothing is left out of the fetches.
        await pipe.commit(pipe.event("behind-1"))
        await eventually(
            lambda: _fact(sum(map(len, loop._queued.values())) == 1), until=bool, what="queued"
        )
        await eventually(
            lambda: _value(loop.fetch_wait_ms),
            until=lambda ms: ms == IDLE_FETCH_WAIT_MS,
            what="a long wait while a batch runs",
        )
        # A whole batch behind it: the partition is paused, its next fetch must come soon.
        await pipe.commit(pipe.event("behind-2"))
        await eventually(
            lambda: _value(loop.fetch_wait_ms),
            until=lambda ms: ms == BUSY_FETCH_WAIT_MS,
            what="a short wait for the paused partition",
        )
        gate.set()
        seen = await pipe.wait_for_effect("behind-2")
    assert seen == ["held", "behind-1", "behind-2"]


def _inbox_of(pipe: Pipe, handler: Any, *, max_records: int) -> Inbox:
    """The sink's inbox of the pipe's topic with one handler and a batch size."""
    inbox = Inbox(pipe.infra.kafka, session_factory(pipe.sink.engine), client_id="t")
    inbox.subscribe(
        group_id=pipe.group,
        topics=(pipe.topic,),
        handlers={CitizenRegistered: handler},
        max_records=max_records,
    )
    return inbox


async def _value(value: int | None) -> int | None:
    return value


async def _fact(holds: bool) -> bool:
    return holds


async def test_records_fetched_before_a_revoke_are_not_started_during_it(
    pipe: Pipe, producer: AIOKafkaProducer
) -> None:
    """A second instance joins while the first holds batches on two partitions; a fetch that
    completed just before the revoke reaches the loop just after it began (forced here by
    holding that fetch's result; in the fault tier's kills it happened on its own). The
    revoke gave up the records queued behind the partition's batch; a batch started now
    from the later records would commit an offset past them, and they would be lost (the
    EligibilityEvaluated lost in the applications kill). So nothing starts until the
    partitions are assigned again, and every event takes effect, once."""
    slow, fast = _keys_on_two_partitions(pipe)
    gates = {note: asyncio.Event() for note in ("h-slow", "h-fast")}
    entered: set[str] = set()

    async def gated_effect(
        session: AsyncSession, event: CitizenRegistered, envelope: Envelope
    ) -> None:
        note = envelope.payload["full_name_en"]
        entered.add(note)
        if note in gates:
            await gates[note].wait()
        await record_effect(session, event, envelope)

    def gated_inbox() -> Inbox:
        inbox = Inbox(pipe.infra.kafka, session_factory(pipe.sink.engine), client_id="t")
        inbox.subscribe(
            group_id=pipe.group, topics=(pipe.topic,), handlers={CitizenRegistered: gated_effect}
        )
        return inbox

    first = gated_inbox()
    async with consuming(first), running(pipe.relay(producer)):
        [loop] = first._loops
        getmany, handed_late = loop._consumer.getmany, asyncio.Event()

        async def fetch_handed_over_after_the_revoke_began(*args: Any, **kwargs: Any) -> Any:
            batches = await getmany(*args, **kwargs)
            late = batches.get(fast.tp, ())
            if not handed_late.is_set() and any(record.offset >= 4 for record in late):
                await eventually(lambda: _fact(loop.rebalancing), what="the revoke")
                handed_late.set()
            return batches

        loop._consumer.getmany = fetch_handed_over_after_the_revoke_began
        await pipe.commit(citizen_event("h-slow", slow.key), citizen_event("h-fast", fast.key))
        await eventually(lambda: _fact({"h-slow", "h-fast"} <= entered), what="both held")
        # Fetched while h-fast's batch runs: queued behind it, then given up by the revoke.
        await pipe.commit(*(citizen_event(f"q-{n}", fast.key) for n in range(3)))
        await eventually(lambda: loop._consumer.position(fast.tp), until=lambda at: at == 4)
        await pipe.commit(*(citizen_event(f"r-{n}", fast.key) for n in range(3)))
        async with consuming(gated_inbox()) as second:
            await eventually(lambda: _fact(handed_late.is_set()), what="the late fetch")
            gates["h-fast"].set()
            await eventually(lambda: _fact(set(loop._inflight) == {slow.tp}), what="h-slow alone")
            assert "r-0" not in await pipe.effects()  # nothing started on a revoked partition
            gates["h-slow"].set()
            expected = {"h-slow", "h-fast", *(f"{p}-{n}" for p in "qr" for n in range(3))}
            counts = await eventually(
                lambda: notes_by_event(pipe), until=lambda seen: set(seen) == expected, what="all"
            )
            processed = first.processed() + second.processed()
    assert set(counts.values()) == {1}
    assert processed == len(expected)


@dataclass(frozen=True)
class _Key:
    key: uuid.UUID
    tp: TopicPartition


def _keys_on_two_partitions(pipe: Pipe) -> tuple[_Key, _Key]:
    found: dict[int, uuid.UUID] = {}
    while len(found) < 2:
        key = uuid.uuid4()
        found.setdefault(partition_for(str(key).encode(), 3), key)
    (one, one_key), (other, other_key) = found.items()
    return _Key(one_key, TopicPartition(pipe.topic, one)), _Key(
        other_key, TopicPartition(pipe.topic, other)
    )
