"""Idempotent consumers at transport speed: batches in, each event's effect stored once.

``Inbox.subscribe(group_id=, topics=, handlers={EventType: handler})`` registers a consumer
group. Its loop (one aiokafka consumer per group) fetches up to ``max_records`` at a time and
hands each partition's records to a task of their own; records that come for a partition
while its batch runs wait in order behind it and become its next batch, so partitions (and
topics) progress independently: a burst on one topic does not hold another's events, and a
slow partition holds at most one of its topic's two database slots. The loop always takes
what aiokafka has fetched (it pauses a partition only when a whole batch already waits):
aiokafka stops fetching *every* partition of a broker for ``prefetch_backoff`` (100 ms) while
one of them holds fetched records nobody takes. Per partition batch:

- records that are not envelopes, and handled event types of an unknown schema version, go
  to the group's dead-letter topic at once (a later deployment can replay them);
- event types the service has no handler for are skipped with a log line;
- the rest are de-duplicated in ONE ``INSERT … ON CONFLICT DO NOTHING RETURNING`` into
  ``processed_events`` and the new ones run, in order, in ONE transaction with it;
- if a handler fails (or swallows a database error, leaving the transaction aborted), that
  transaction rolls back and the batch is replayed one event per transaction, with retries
  and backoff: the failing event is dead-lettered alone and every other event takes effect
  exactly once;
- Postgres unreachable (an outage-looking error, and a fresh ``SELECT 1`` fails too):
  nothing commits, the partition is rewound to the batch's first offset and redelivered
  after a pause — nothing is lost, nothing dead-lettered;
- offsets are committed to Kafka once per loop turn, for exactly the partitions whose
  batches committed, after the Postgres commit; a crash in between redelivers, and the
  ``processed_events`` rows make the redelivery change nothing;
- on a rebalance aiokafka revokes every partition (and assigns anew): the batches in flight
  finish first (up to ``REVOKE_DRAIN_SECONDS``, well inside the rebalance timeout) and their
  offsets are committed; until the new assignment nothing else starts, and every partition
  is then read again from its committed offset.

Why not FastStream's batch subscriber: its ``nack`` rewinds only the first message's
partition, ``max_workers`` cannot combine with ``batch``, and its ``ack`` commits the position
of every assigned partition, including ones whose records are still being handled.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import random
import traceback
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from aiokafka import AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.abc import ConsumerRebalanceListener
from aiokafka.errors import IllegalStateError, KafkaError
from pydantic import ValidationError
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from sanad.shared import kafka_clients
from sanad.shared.db import SessionFactory
from sanad.shared.events import Envelope, Event, correlation_id_var
from sanad.shared.kafka_clients import KafkaAccess
from sanad.shared.logging import get_logger, work_context
from sanad.shared.outages import infrastructure_down
from sanad.shared.topics import dead_letter_topic

log = get_logger(__name__)

E = TypeVar("E", bound=Event)
# A typed handler: the validated payload and its envelope (ids, times, correlation).
Handler = Callable[[AsyncSession, Any, Envelope], Awaitable[None]]
Handlers = Mapping[type[Event], Handler]
# A batch handler: every new event of its type in a partition's batch, in order, at once —
# for effects that are one statement for many rows (projections, bulk inserts).
BatchHandler = Callable[[AsyncSession, list[tuple[Any, Envelope]]], Awaitable[None]]
BatchHandlers = Mapping[type[Event], BatchHandler]

# The envelope being handled: ``outbox.publish`` takes its event id as the causation id.
current_envelope: contextvars.ContextVar[Envelope | None] = contextvars.ContextVar(
    "current_envelope", default=None
)

_ALIVE = text("SELECT 1")
_CLAIM = text(
    "INSERT INTO processed_events (consumer, event_id, event_type) "
    "SELECT :consumer, e.id, e.type FROM unnest(CAST(:ids AS uuid[]), CAST(:types AS text[])) "
    "AS e(id, type) ON CONFLICT DO NOTHING RETURNING event_id"
)


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 4
    first_delay: float = 0.2
    max_delay: float = 5.0

    def delay(self, attempt: int) -> float:
        """Exponential backoff with full jitter, so instances do not retry in lockstep."""
        ceiling = min(self.max_delay, self.first_delay * 2 ** (attempt - 1))
        return random.uniform(ceiling / 2, ceiling)


@dataclass(frozen=True)
class _Route:
    model: type[Event]
    handler: Handler | None = None
    batch_handler: BatchHandler | None = None


@dataclass
class Subscription:
    group_id: str
    topics: tuple[str, ...]
    handlers: dict[tuple[str, int], _Route]
    handled_types: frozenset[str]
    consumer: str
    retry: RetryPolicy
    max_records: int

    @property
    def dead_letter_topic(self) -> str:
        return dead_letter_topic(self.group_id)


class Inbox:
    """A service's consumer groups; started and stopped by ``create_service_app``."""

    def __init__(self, access: KafkaAccess, sessions: SessionFactory, *, client_id: str):
        self._access = access
        self._sessions = sessions
        self._client_id = client_id
        self.subscriptions: list[Subscription] = []
        self._loops: list[_GroupLoop] = []
        self._producer: AIOKafkaProducer | None = None

    def subscribe(
        self,
        *,
        group_id: str,
        topics: Iterable[str],
        handlers: Handlers | None = None,
        batch_handlers: BatchHandlers | None = None,
        retry: RetryPolicy = RetryPolicy(),
        consumer: str | None = None,
        max_records: int = 500,
    ) -> None:
        """Handle ``topics`` as consumer group ``group_id``, dispatching by event type and
        schema version to ``handlers`` (one event at a time) or ``batch_handlers`` (all of
        a batch's new events of that type at once). Effectively once: see the module's
        docstring."""
        if both := set(handlers or {}) & set(batch_handlers or {}):
            raise ValueError(f"handled both one by one and in batches: {sorted(map(str, both))}")
        by_version = {
            (model.EVENT_TYPE, model.SCHEMA_VERSION): _Route(model, handler=handler)
            for model, handler in (handlers or {}).items()
        }
        by_version |= {
            (model.EVENT_TYPE, model.SCHEMA_VERSION): _Route(model, batch_handler=handler)
            for model, handler in (batch_handlers or {}).items()
        }
        self.subscriptions.append(
            Subscription(
                group_id=group_id,
                topics=tuple(topics),
                handlers=by_version,
                handled_types=frozenset(event_type for event_type, _ in by_version),
                consumer=consumer or group_id,
                retry=retry,
                max_records=max_records,
            )
        )

    def dead_letter_topics(self) -> set[str]:
        return {sub.dead_letter_topic for sub in self.subscriptions}

    async def start(self) -> None:
        if not self.subscriptions:
            return
        self._producer = kafka_clients.producer(
            self._access,
            client_id=f"{self._client_id}-dead-letters",
            enable_idempotence=True,
        )
        await self._producer.start()
        for sub in self.subscriptions:
            loop = _GroupLoop(sub, self._access, self._client_id, self._sessions, self._producer)
            await loop.start()
            self._loops.append(loop)

    async def stop(self) -> None:
        for loop in self._loops:
            await loop.stop()
        self._loops.clear()
        if self._producer is not None:
            await self._producer.stop()
            self._producer = None

    def alive(self) -> bool:
        """Whether every consumer group's loop is running (readiness reports it)."""
        return all(loop.alive() for loop in self._loops)

    def processed(self) -> int:
        """Events whose effects committed since start (a figure for benchmarks and tests)."""
        return sum(loop.processed for loop in self._loops)


@dataclass
class _Parsed:
    record: ConsumerRecord[bytes, bytes]
    envelope: Envelope
    event: Event
    route: _Route


@dataclass
class _Batch:
    tp: TopicPartition
    records: list[ConsumerRecord[bytes, bytes]]
    handled: list[_Parsed] = field(default_factory=list)

    @property
    def next_offset(self) -> int:
        return int(self.records[-1].offset) + 1


class _PartitionRewound(Exception):
    """The batch could not be processed for a reason not its own (the database is down)."""


class HandlerSwallowedDatabaseError(RuntimeError):
    """A handler caught a database error and went on: Postgres aborted the transaction, and
    committing it would silently roll back every event of the batch."""


# Waiting for in-flight batches: on a revoke, below the rebalance timeout given to the
# broker (a member that takes longer is evicted and the group rebalances again); on stop,
# below the service's shutdown step. Batches still running then are cancelled (rolled back,
# redelivered to whoever owns the partition next).
REBALANCE_TIMEOUT_MS = 60_000
REVOKE_DRAIN_SECONDS = 30.0
STOP_DRAIN_SECONDS = 8.0
# How long the broker may hold a fetch with nothing to return. A waiting fetch returns as
# soon as an event arrives on any partition it asks for, so a long wait costs no latency:
# long by default, and the platform does not poll 50 times a second per consumer (measured:
# at rest 40% of a core with 20 ms, 10% with 250 ms; at 10 applications/s, with 20 ms
# whenever a batch ran, see the README). Short only while a partition sits out of the fetch
# in flight — paused behind a full queue, or rewound — since with one broker aiokafka keeps
# one fetch in flight and such a partition joins only the next one. aiokafka reads the value
# per request; it has no public setter.
BUSY_FETCH_WAIT_MS = 20
IDLE_FETCH_WAIT_MS = 500
# Records dead-lettered lately, so a batch rewound and fetched again does not send the same
# letters twice (across restarts a duplicate letter is possible, and harmless to replay).
_RECENT_LETTERS = 10_000


class _GroupLoop(ConsumerRebalanceListener):  # type: ignore[misc]  # aiokafka is untyped
    def __init__(
        self,
        sub: Subscription,
        access: KafkaAccess,
        client_id: str,
        sessions: SessionFactory,
        producer: AIOKafkaProducer,
        slots_per_topic: int = 2,
    ) -> None:
        self.sub = sub
        self._sessions = sessions
        self._producer = producer
        self._consumer = kafka_clients.consumer(
            access,
            client_id=f"{client_id}-{sub.group_id}",
            group_id=sub.group_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_poll_records=sub.max_records,
            rebalance_timeout_ms=REBALANCE_TIMEOUT_MS,
            fetch_max_wait_ms=BUSY_FETCH_WAIT_MS,
        )
        self._inflight: dict[TopicPartition, asyncio.Task[int]] = {}
        self._first_offset: dict[TopicPartition, int] = {}
        # Records fetched while their partition's batch runs: its next batch, in order.
        self._queued: dict[TopicPartition, list[ConsumerRecord[bytes, bytes]]] = {}
        self._rewound = False  # a partition was sought back since the last fetch came in
        # Each transaction holds a pooled connection: bounded per topic, so the HTTP side
        # keeps connections and a burst on one topic never holds another topic's events (an
        # OTP behind thousands of decisions). Held per transaction, never across a backoff.
        self._slots = {topic: asyncio.Semaphore(slots_per_topic) for topic in sub.topics}
        self._letters: OrderedDict[tuple[str, int, int], None] = OrderedDict()
        self._task: asyncio.Task[None] | None = None
        self.processed = 0
        # Between a revoke and the next assignment. The epoch is counted when a revoke begins
        # (before its first await), so a fetch returned before it is told from one after.
        self.rebalancing = False
        self._epoch = 0

    async def start(self) -> None:
        await self._consumer.start()
        self._consumer.subscribe(self.sub.topics, listener=self)
        self._task = asyncio.create_task(self._run(), name=f"inbox-{self.sub.group_id}")

    def alive(self) -> bool:
        return self._task is not None and not self._task.done()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        # Whatever is in flight finishes (or is cancelled and rolls back); offsets of what
        # committed are committed; then the consumer leaves the group.
        await self._settle(self._inflight.keys(), drain=STOP_DRAIN_SECONDS, follow=False)
        with contextlib.suppress(Exception):
            await self._consumer.stop()

    # -- rebalance: finish what we hold before a partition moves to another instance --------
    async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        # Until the new assignment, nothing starts: not the records queued behind a batch,
        # nor those of a fetch that completed just before this and reaches the loop after.
        # A batch started now could commit an offset past records given up here (seen: an
        # event lost in a kill). Every partition of the new assignment, even one this
        # instance keeps, is read again from its committed offset (aiokafka resets them).
        self.rebalancing = True
        self._epoch += 1
        self._queued.clear()
        held = [tp for tp in revoked if tp in self._inflight]
        await self._settle(held, drain=REVOKE_DRAIN_SECONDS, follow=False)

    async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        self.rebalancing = False

    async def _run(self) -> None:
        fetch: asyncio.Task[tuple[dict[TopicPartition, list[Any]], int]] | None = None
        try:
            while True:
                if fetch is None:
                    fetch = asyncio.create_task(self._fetch())
                await asyncio.wait(
                    {fetch, *self._inflight.values()}, return_when=asyncio.FIRST_COMPLETED
                )
                if fetch.done():
                    done, fetch = fetch, None
                    try:
                        batches, fetched_under = done.result()
                    except KafkaError as exc:  # the broker or the group is away: try again
                        log.warning("inbox_fetch_failed", error_type=type(exc).__name__)
                        await asyncio.sleep(1.0)
                        continue
                    if fetched_under == self._epoch:  # else read again from the commit
                        for tp, records in batches.items():
                            self._start(tp, records)
                    # Soon only for a partition the fetch in flight leaves out (above).
                    hurry = self._rewound or bool(self._consumer.paused())
                    self._rewound = False
                    self._set_fetch_wait(BUSY_FETCH_WAIT_MS if hurry else IDLE_FETCH_WAIT_MS)
                await self._settle([tp for tp, t in self._inflight.items() if t.done()])
        except asyncio.CancelledError:
            if fetch is not None:
                fetch.cancel()
            raise
        except Exception as exc:
            # A bug here must not stop the group silently, nor keep its partitions from the
            # other instances: leave the group (readiness then reports Kafka down).
            log.critical("inbox_loop_crashed", group=self.sub.group_id, error=repr(exc)[:500])
            if fetch is not None:
                fetch.cancel()
            with contextlib.suppress(Exception):
                await self._consumer.stop()
            raise

    async def _fetch(self) -> tuple[dict[TopicPartition, list[Any]], int]:
        """Fetched records, and the assignment they were returned under (aiokafka holds
        them back during a rebalance; a loop that sees them after one more began drops
        them)."""
        batches = await self._consumer.getmany(timeout_ms=1000)
        return batches, self._epoch

    @property
    def fetch_wait_ms(self) -> int | None:
        """The broker wait of the consumer's next fetch (None before it has started)."""
        fetcher = getattr(self._consumer, "_fetcher", None)
        return getattr(fetcher, "_fetch_max_wait_ms", None)

    def _set_fetch_wait(self, ms: int) -> None:
        fetcher = getattr(self._consumer, "_fetcher", None)
        if fetcher is not None and hasattr(fetcher, "_fetch_max_wait_ms"):
            fetcher._fetch_max_wait_ms = ms
        # else: an aiokafka without it keeps BUSY_FETCH_WAIT_MS (test_inbox_batches fails)

    def _start(self, tp: TopicPartition, records: list[Any]) -> None:
        if not records:
            return
        if self.rebalancing:  # see on_partitions_revoked; rewound in case they are the new
            with contextlib.suppress(IllegalStateError):  # assignment's (aiokafka says not)
                self._consumer.seek(tp, records[0].offset)
                self._rewound = True
            return
        if tp not in self._consumer.assignment():
            return  # revoked since the fetch: the new owner reads these
        if tp in self._inflight:
            # Behind the batch in flight, never beside it (order per key). A whole batch
            # waiting is enough: stop fetching this partition until it starts.
            queued = self._queued.setdefault(tp, [])
            queued.extend(records)
            if len(queued) >= self.sub.max_records:
                self._consumer.pause(tp)
            return
        self._first_offset[tp] = records[0].offset
        self._inflight[tp] = asyncio.create_task(self._process(_Batch(tp, records)))

    async def _settle(
        self, partitions: Iterable[TopicPartition], *, drain: float = 0, follow: bool = True
    ) -> None:
        """Commit the offsets of finished batches (one round trip) and start each partition's
        queued records as its next batch (with ``follow``); rewind those whose batch could not
        run. With ``drain``, first wait that long for the batches still running, and cancel
        those that do not finish."""
        partitions = list(partitions)
        running = [self._inflight[tp] for tp in partitions if tp in self._inflight]
        if drain and running:
            _, late = await asyncio.wait(running, timeout=drain)
            for straggler in late:
                straggler.cancel()
            if late:
                await asyncio.wait(late)
        offsets: dict[TopicPartition, int] = {}
        for tp in partitions:
            task = self._inflight.pop(tp, None)
            first = self._first_offset.pop(tp, None)
            if task is None or first is None:
                continue
            assigned = tp in self._consumer.assignment()
            queued = self._queued.pop(tp, [])
            if not task.cancelled() and task.exception() is None:
                if assigned:  # else its new owner reads on from the last commit
                    offsets[tp] = task.result()
            elif assigned:  # nothing of the batch committed, or not all of it: it comes again
                queued = []
                self._consumer.seek(tp, first)
                self._rewound = True
            if assigned:
                if self._rewound or tp in self._consumer.paused():
                    self._set_fetch_wait(BUSY_FETCH_WAIT_MS)  # it joins the next fetch
                self._consumer.resume(tp)
                if follow:
                    self._start(tp, queued)
        if offsets:
            try:
                await self._consumer.commit(offsets)
            except KafkaError as exc:
                # Effects are stored and de-duplicated: a redelivery after this changes nothing.
                log.warning("inbox_offset_commit_failed", error_type=type(exc).__name__)

    # -- one partition's batch ------------------------------------------------------------
    async def _process(self, batch: _Batch) -> int:
        """Process a partition's batch; returns the offset to commit next. Raises (and the
        partition is rewound to the batch's start) if it could not be processed."""
        try:
            return await self._process_batch(batch)
        except _PartitionRewound:
            raise
        except Exception as exc:  # e.g. Kafka down while dead-lettering: never skip the batch
            log.error("inbox_batch_deferred", error_type=type(exc).__name__, error=str(exc)[:500])
            await asyncio.sleep(self.sub.retry.max_delay)
            raise

    async def _process_batch(self, batch: _Batch) -> int:
        sub = self.sub
        for record in batch.records:
            try:
                envelope = Envelope.from_bytes(record.value or b"")
            except ValidationError as exc:
                await self._dead_letter(record, exc, attempts=0)
                continue
            if envelope.event_type not in sub.handled_types:
                log.debug("event_skipped_unhandled_type", event_type=envelope.event_type)
                continue
            route = sub.handlers.get((envelope.event_type, envelope.schema_version))
            if route is None:
                # A version this deployment does not know yet: keep it for a replay.
                missing = f"no handler for {envelope.event_type} v{envelope.schema_version}"
                await self._dead_letter(record, LookupError(missing), attempts=0)
                continue
            try:
                event = route.model.model_validate(envelope.payload)
            except ValidationError as exc:  # retrying cannot make a payload valid
                await self._dead_letter(record, exc, attempts=0)
                continue
            batch.handled.append(_Parsed(record, envelope, event, route))
        if batch.handled:
            try:
                await self._run_together(batch)
            except Exception as exc:
                # Whatever it was — one event's fault, or the database going away — find out
                # event by event: each is retried alone, and an outage rewinds the batch.
                log.warning(
                    "inbox_batch_failed_replaying_one_by_one",
                    events=len(batch.handled),
                    error_type=type(exc).__name__,
                    sqlstate=getattr(getattr(exc, "orig", None), "sqlstate", None),
                )
                for item in batch.handled:
                    await self._run_alone(batch, item)
        return batch.next_offset

    async def _run_together(self, batch: _Batch) -> None:
        unique: dict[Any, _Parsed] = {}
        for item in batch.handled:
            unique.setdefault(item.envelope.event_id, item)
        async with self._slots[batch.tp.topic]:
            async with self._sessions() as session, session.begin():
                claimed = await _claim(session, self.sub.consumer, list(unique.values()))
                await _handle(
                    session,
                    [item for event_id, item in unique.items() if event_id in claimed],
                    self.sub.consumer,
                )
        self.processed += len(claimed)
        log.info(
            "events_processed",
            consumer=self.sub.consumer,
            topic=batch.tp.topic,
            partition=batch.tp.partition,
            new=len(claimed),
            duplicates=len(batch.handled) - len(claimed),
        )

    async def _run_alone(self, batch: _Batch, item: _Parsed) -> None:
        retry = self.sub.retry
        with _bound(item.envelope, self.sub.consumer):
            for attempt in range(1, retry.attempts + 1):
                try:
                    async with self._slots[batch.tp.topic]:
                        async with self._sessions() as session, session.begin():
                            if await _claim(session, self.sub.consumer, [item]):
                                await _handle(session, [item], self.sub.consumer)
                                self.processed += 1
                    return
                except Exception as exc:
                    if infrastructure_down(exc) and not await self._database_answers():
                        await self._defer(exc)
                    log.warning(
                        "event_handler_failed",
                        attempt=attempt,
                        error_type=type(exc).__name__,
                        error=str(exc)[:500],
                        trace=traceback.format_exc(limit=3)[-1000:],
                    )
                    if attempt == retry.attempts:
                        await self._dead_letter(item.record, exc, retry.attempts)
                        return
                    await asyncio.sleep(retry.delay(attempt))

    async def _database_answers(self) -> bool:
        """Whether Postgres answers now: an error that looks like an outage while it does
        (a client-side asyncpg error, a full pool) is the message's, and is retried as one."""
        try:
            async with self._sessions() as session:
                await session.execute(_ALIVE)
        except Exception:
            return False
        return True

    async def _defer(self, exc: BaseException) -> None:
        # Not the messages' fault: rewind and let them come again once it is back.
        log.warning("events_deferred_infrastructure_down", error_type=type(exc).__name__)
        await asyncio.sleep(self.sub.retry.max_delay)
        raise _PartitionRewound() from exc

    async def _dead_letter(
        self, record: ConsumerRecord[bytes, bytes], error: BaseException, attempts: int
    ) -> None:
        where = (record.topic, record.partition, record.offset)
        if where in self._letters:
            return  # sent when this batch came before (it was rewound since)
        headers = {k: v.decode(errors="replace") for k, v in (record.headers or ())}
        headers.update(
            {
                "dlq_consumer": self.sub.consumer,
                "dlq_original_topic": record.topic,
                "dlq_original_partition": str(record.partition),
                "dlq_original_offset": str(record.offset),
                "dlq_attempts": str(attempts),
                "dlq_error_type": type(error).__name__,
                "dlq_error": str(error)[:2000],
            }
        )
        await self._producer.send_and_wait(
            self.sub.dead_letter_topic,
            value=record.value,
            key=record.key,
            headers=[(name, value.encode()) for name, value in headers.items()],
        )
        self._letters[where] = None
        if len(self._letters) > _RECENT_LETTERS:
            self._letters.popitem(last=False)
        log.error(
            "message_dead_lettered",
            topic=record.topic,
            offset=record.offset,
            dead_letter_topic=self.sub.dead_letter_topic,
            error_type=type(error).__name__,
            attempts=attempts,
        )


async def _claim(session: AsyncSession, consumer: str, items: Sequence[_Parsed]) -> set[Any]:
    """Record the events as processed by ``consumer``; the ids that were not already."""
    result = await session.execute(
        _CLAIM,
        {
            "consumer": consumer,
            "ids": [item.envelope.event_id for item in items],
            "types": [item.envelope.event_type for item in items],
        },
    )
    return set(result.scalars())


class _bound:
    """While an event is handled: its correlation id (for the events it causes and the
    outgoing calls), the envelope (``outbox.publish`` takes its id as the causation id), and
    what every log line then says about it. A class, not a generator: it runs per event."""

    __slots__ = ("_consumer", "_envelope", "_tokens")

    def __init__(self, envelope: Envelope, consumer: str) -> None:
        self._envelope, self._consumer = envelope, consumer

    def __enter__(self) -> None:
        envelope = self._envelope
        self._tokens = (
            correlation_id_var.set(envelope.correlation_id),
            current_envelope.set(envelope),
            work_context.set(
                {
                    "event_id": str(envelope.event_id),
                    "event_type": envelope.event_type,
                    "correlation_id": envelope.correlation_id,
                    "consumer": self._consumer,
                }
            ),
        )

    def __exit__(self, *_: object) -> None:
        correlation, envelope, context = self._tokens
        correlation_id_var.reset(correlation)
        current_envelope.reset(envelope)
        work_context.reset(context)


async def _handle(session: AsyncSession, items: list[_Parsed], consumer: str) -> None:
    """Run the handlers of ``items`` in order; a run of events for one batch handler is
    passed to it in one call. Then make sure no handler left the transaction aborted."""
    run: list[_Parsed] = []

    async def flush() -> None:
        if run:
            batch_handler = run[0].route.batch_handler
            assert batch_handler is not None
            await batch_handler(session, [(item.event, item.envelope) for item in run])
            run.clear()

    for item in items:
        route = item.route
        if route.batch_handler is not None:
            if run and run[0].route is not route:
                await flush()
            run.append(item)
            continue
        await flush()
        assert route.handler is not None
        with _bound(item.envelope, consumer):
            await route.handler(session, item.event, item.envelope)
    await flush()
    if items:
        try:
            await session.execute(_ALIVE)
        except DBAPIError as exc:
            raise HandlerSwallowedDatabaseError(
                "a handler caught a database error and went on; the transaction is aborted "
                "(let it raise, or use ON CONFLICT / a savepoint)"
            ) from exc
