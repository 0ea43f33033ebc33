"""Transactional outbox: the state change and its event commit together; a relay publishes.

``publish(session, event)`` (or ``add`` for a ready envelope) joins the caller's
transaction and never commits; it wakes the relay with at most one NOTIFY per transaction.
The relay claims unpublished rows with ``FOR UPDATE SKIP LOCKED`` under a per-schema
advisory lock (so of several instances one publishes at a time, in order), publishes them
with an idempotent producer (key = aggregate id), and marks them published in one statement
per batch, in the same transaction. ``prune`` deletes rows published, and event marks
de-duplicated, long enough ago.
A crash after publishing but before marking republishes on restart: consumers de-duplicate
by ``event_id`` (see ``inbox``), so downstream effects still happen once.
"""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from typing import Any
from uuid import UUID

import asyncpg
import orjson
from aiokafka import AIOKafkaProducer
from aiokafka import errors as kafka_errors
from aiokafka.errors import MessageSizeTooLargeError
from sqlalchemy import (
    BigInteger,
    BindParameter,
    Row,
    Text,
    bindparam,
    cast,
    func,
    select,
    text,
    tuple_,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from sanad.shared import kafka_clients
from sanad.shared.events import Envelope, Event
from sanad.shared.kafka_clients import KafkaAccess
from sanad.shared.logging import get_logger
from sanad.shared.messaging_tables import outbox, processed_events
from sanad.shared.partitioning import partition_for

log = get_logger(__name__)

# NOTIFY is delivered only when the transaction commits, and never if it rolls back.
_NOTIFY = text("SELECT pg_notify('sanad_outbox_' || current_schema(), '')")


_LEADER = text("SELECT pg_try_advisory_xact_lock(hashtext('sanad_outbox_' || current_schema()))")


def channel_for(schema: str) -> str:
    return f"sanad_outbox_{schema}"


# Transactions that already woke the relay: one NOTIFY each is enough.
_NOTIFIED: weakref.WeakSet[Any] = weakref.WeakSet()


def _transaction(session: AsyncSession | AsyncConnection) -> Any:
    if isinstance(session, AsyncSession):
        return session.sync_session.get_transaction()
    return session.sync_connection.get_transaction() if session.sync_connection else None


# Built once: building ``insert().values(...)`` per event costs more than the round trip.
_INSERT = outbox.insert()
# A transaction's first event and its NOTIFY in one round trip (most use cases publish one).
_INSERT_AND_NOTIFY = text(
    "WITH added AS (INSERT INTO outbox (event_id, event_type, topic, key, correlation_id, "
    "envelope) VALUES (:event_id, :event_type, :topic, :key, :correlation_id, "
    "CAST(:envelope AS jsonb))) SELECT pg_notify('sanad_outbox_' || current_schema(), '')"
)


def _row(envelope: Envelope, topic: str | None) -> dict[str, Any]:
    return {
        "event_id": envelope.event_id,
        "event_type": envelope.event_type,
        "topic": topic or envelope.topic,
        "key": envelope.key,
        "correlation_id": envelope.correlation_id,
        "envelope": envelope.model_dump(mode="json"),
    }


async def add(
    session: AsyncSession | AsyncConnection, envelope: Envelope, *, topic: str | None = None
) -> None:
    """Queue ``envelope`` for publishing as part of the caller's open transaction.

    The topic is the event type's own unless ``topic`` routes it elsewhere (tests do).
    """
    await add_all(session, [envelope], topic=topic)


async def add_all(
    session: AsyncSession | AsyncConnection,
    envelopes: Sequence[Envelope],
    *,
    topic: str | None = None,
) -> None:
    """``add`` for several envelopes in one statement (asyncpg pipelines an executemany)."""
    if not envelopes:
        return
    rows = [_row(envelope, topic) for envelope in envelopes]
    before = _transaction(session)
    notify = before is None or before not in _NOTIFIED
    if notify and len(rows) == 1:
        [row] = rows
        await session.execute(
            _INSERT_AND_NOTIFY, {**row, "envelope": orjson.dumps(row["envelope"]).decode()}
        )
    else:
        await session.execute(_INSERT, rows if len(rows) > 1 else rows[0])
        if notify:
            await session.execute(_NOTIFY)
    # Looked up again: a session without ``begin()`` has a transaction only once it executed.
    # Inside a savepoint the NOTIFY may be rolled back with it: a later add notifies again.
    transaction = _transaction(session)
    if notify and transaction is not None and not session.in_nested_transaction():
        _NOTIFIED.add(transaction)


def envelope(
    session: AsyncSession,
    event: Event,
    *,
    cause: Envelope | None = None,
    causation_id: UUID | None = None,
    correlation_id: str | None = None,
) -> Envelope:
    """``event`` wrapped as ``publish`` would queue it: the producer is the service the
    session belongs to (``db.session_factory(..., producer=)``); the causation and
    correlation ids are ``cause``'s — by default the event a per-event handler is handling —
    unless given (work outside a handler names its cause by id), else the current request's
    correlation id. For a batch: ``add_all(session, [envelope(session, e, cause=c), …])``."""
    from sanad.shared.inbox import current_envelope  # the inbox imports this module's users

    producer = session.info.get("producer")
    if not producer:
        raise RuntimeError("this session has no producer: use db.session_factory(producer=)")
    cause = cause or current_envelope.get()
    return Envelope.wrap(
        event,
        producer=producer,
        correlation_id=correlation_id or (cause.correlation_id if cause is not None else None),
        causation_id=causation_id or (cause.event_id if cause is not None else None),
    )


async def publish(
    session: AsyncSession, event: Event, *, cause: Envelope | None = None
) -> Envelope:
    """Queue ``event`` in the caller's transaction, wrapped by ``envelope``. Returns it."""
    wrapped = envelope(session, event, cause=cause)
    await add(session, wrapped)
    return wrapped


def make_producer(access: KafkaAccess, client_id: str) -> AIOKafkaProducer:
    # Idempotence (acks=all) keeps retries from duplicating or reordering within a partition.
    return kafka_clients.producer(
        access,
        client_id=client_id,
        enable_idempotence=True,
        linger_ms=0,
        max_batch_size=256 * 1024,  # a relay batch of 1 KB events fills few produce requests
    )


FIRST_FAILURE_DELAY = 1.0
MAX_FAILURE_DELAY = 60.0


class OutboxPublishError(RuntimeError):
    """A row the relay could not publish; the rows after it wait (order per key)."""


# Errors after which an idempotent producer cannot go on: its sequence numbers and the
# broker's no longer agree (seen after a broker restart in the middle of a batch: the relay
# then failed the same row every minute, forever). A new producer gets a new producer id
# and starts its sequences afresh; the rows not marked published are sent again, and
# consumers de-duplicate what had reached the topic.
_PRODUCER_BROKEN: tuple[type[BaseException], ...] = (
    kafka_errors.OutOfOrderSequenceNumber,
    kafka_errors.DuplicateSequenceNumber,
    kafka_errors.UnknownProducerId,
    kafka_errors.InvalidProducerIdMapping,
    kafka_errors.ProducerFenced,
)


def producer_broken(exc: BaseException) -> bool:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, _PRODUCER_BROKEN):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False


class OutboxRelay:
    """Publishes a service's outbox to Kafka, woken by LISTEN/NOTIFY, with a slow poll as a net."""

    def __init__(
        self,
        engine: AsyncEngine,
        producer: AIOKafkaProducer,
        *,
        listen_dsn: str,
        schema: str,
        batch_size: int = 2000,
        poll_interval: float = 5.0,
        new_producer: Callable[[], Awaitable[AIOKafkaProducer]] | None = None,
    ) -> None:
        self._engine = engine
        self._producer = producer
        # Makes and starts a replacement when the producer is broken (see producer_broken).
        self._new_producer = new_producer
        self._listen_dsn = listen_dsn
        self._channel = channel_for(schema)
        self._batch_size = batch_size
        self._poll_interval = poll_interval
        self._wake = asyncio.Event()
        self._partition_counts: dict[str, int] = {}
        # What the producer would refuse as one message (aiokafka's max_request_size).
        self._max_message_bytes: int = getattr(producer, "_max_request_size", 1_048_576)
        self.published = 0

    async def run(self) -> None:
        listener: asyncpg.Connection | None = None
        failure_delay = FIRST_FAILURE_DELAY
        try:
            while True:
                if listener is None or listener.is_closed():
                    # (Re)connect the LISTEN connection, e.g. after Postgres restarted; until
                    # then the poll interval is the safety net.
                    listener = await self._listen()
                try:
                    # Again at once only after a full batch. A short one found every row
                    # committed by then; a row committed since has notified, so the wait
                    # below returns at once. (Asking again regardless cost every wake-up an
                    # empty transaction: at low rates, most of a relay's work.)
                    while await self.publish_batch() >= self._batch_size:
                        pass
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    # Backing off: Kafka away, or a row that cannot be published holding up
                    # the ones after it (those before it were marked: never resent).
                    log.warning(
                        "outbox_publish_failed", error=str(exc)[:500], retry_in=failure_delay
                    )
                    if producer_broken(exc) and self._new_producer is not None:
                        await self._replace_producer()
                    await asyncio.sleep(failure_delay)
                    failure_delay = min(failure_delay * 2, MAX_FAILURE_DELAY)
                    continue
                failure_delay = FIRST_FAILURE_DELAY
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self._poll_interval)
                self._wake.clear()
        finally:
            if listener is not None:
                with contextlib.suppress(Exception):
                    await listener.close()

    async def _replace_producer(self) -> None:
        old = self._producer
        try:
            assert self._new_producer is not None
            self._producer = await self._new_producer()
        except Exception as exc:  # Kafka away: try again after the next failure
            log.warning("outbox_producer_not_replaced", error=str(exc)[:300])
            return
        log.warning("outbox_producer_replaced")
        with contextlib.suppress(Exception):
            await asyncio.wait_for(old.stop(), 10.0)

    async def _listen(self) -> asyncpg.Connection | None:
        try:
            conn = await asyncpg.connect(self._listen_dsn)
            await conn.add_listener(self._channel, lambda *_: self._wake.set())
            return conn
        except (OSError, asyncpg.PostgresError) as exc:
            log.warning("outbox_listen_unavailable_polling", error=str(exc))
            return None

    async def publish_batch(self) -> int:
        """Publish one batch of unpublished rows, oldest first. Returns how many."""
        async with self._engine.begin() as conn:
            # One relay of a schema publishes at a time (others stand by), so two service
            # instances cannot interleave and reorder one aggregate's events.
            if not (await conn.execute(_LEADER)).scalar_one():
                return 0
            rows = (
                await conn.execute(
                    select(
                        outbox.c.id,
                        outbox.c.topic,
                        outbox.c.key,
                        # Sent as Postgres gives it back: no JSON decode and encode per row.
                        cast(outbox.c.envelope, Text).label("value"),
                        outbox.c.event_id,
                        outbox.c.event_type,
                        outbox.c.correlation_id,
                        outbox.c.envelope["schema_version"].astext.label("schema_version"),
                        outbox.c.envelope["producer"].astext.label("producer"),
                    )
                    .where(outbox.c.published_at.is_(None))
                    .order_by(outbox.c.id)
                    .limit(self._batch_size)
                    .with_for_update(skip_locked=True)
                )
            ).all()
            if not rows:
                return 0
            sent, failure = await self._send(rows)
            published = rows[:sent]
            await self._after_publish(published)
            if published:
                await conn.execute(
                    update(outbox)
                    .where(outbox.c.id == func.any(_ids(published)))
                    .values(published_at=func.now())
                )
        self.published += len(published)
        log.debug("outbox_published", count=len(published))
        if failure is not None:
            row = rows[sent]
            raise OutboxPublishError(
                f"outbox row {row.id} (event {row.event_id}, topic {row.topic}) could not be "
                f"published: {type(failure).__name__}: {failure}"
            ) from failure
        return len(published)

    async def _send(self, rows: Sequence[Row[Any]]) -> tuple[int, BaseException | None]:
        """Pack the rows, in order, into one record batch per partition (as many as they
        fill), hand every batch to the producer, then wait for the acknowledgements.
        Returns how many rows, from the first, Kafka took, and the first failure.

        A batch per partition instead of ``send`` per message: aiokafka's per-message path
        (partitioner, future, accumulator) cost more CPU than the rest of the relay."""
        batches: list[tuple[str, int, Any]] = []  # (topic, partition, builder), in send order
        open_batch: dict[tuple[str, int], int] = {}  # where each partition's rows go now
        row_batch: list[int] = []
        failure: BaseException | None = None
        for row in rows:
            try:
                # The row holds the envelope as ``add`` validated and dumped it: sent as is.
                key, value = row.key.encode(), row.value.encode()
                headers = Envelope.headers_of(dict(row._mapping))
                size = len(key) + len(value) + sum(len(k) + len(v) for k, v in headers)
                if size > self._max_message_bytes:
                    raise MessageSizeTooLargeError(f"{size} bytes, over the producer's limit")
                partitions = await self._partitions(row.topic)
            except Exception as exc:  # too large, unknown topic: refused before sending
                failure = exc
                break
            target = (row.topic, partition_for(key, partitions))
            index = open_batch.get(target)
            if (
                index is None
                or batches[index][2].append(key=key, value=value, timestamp=None, headers=headers)
                is None
            ):
                builder = self._producer.create_batch()  # its first record always fits
                builder.append(key=key, value=value, timestamp=None, headers=headers)
                index = open_batch[target] = len(batches)
                batches.append((*target, builder))
            row_batch.append(index)
        pending = [
            await self._producer.send_batch(builder, topic, partition=partition)
            for topic, partition, builder in batches
        ]
        outcomes = await asyncio.gather(*pending, return_exceptions=True)
        for sent, index in enumerate(row_batch):
            if isinstance(outcomes[index], BaseException):
                return sent, outcomes[index]
        return len(row_batch), failure

    async def _partitions(self, topic: str) -> int:
        count = self._partition_counts.get(topic)
        if count is None:
            # Metadata, fetched once per topic (topics are created with their partitions
            # by the platform and never resized: resizing would move keys anyway).
            count = self._partition_counts[topic] = len(await self._producer.partitions_for(topic))
        return count

    async def _after_publish(self, rows: Sequence[Row[Any]]) -> None:
        """Hook between publishing and marking published (tests crash the relay here)."""


def _ids(rows: Sequence[Row[Any]]) -> BindParameter[Any]:
    return bindparam("ids", [row.id for row in rows], type_=ARRAY(BigInteger))


async def prune(engine: AsyncEngine, *, keep: timedelta, batch: int = 5000) -> int:
    """Delete published outbox rows and processed-event marks older than ``keep``.

    The topics, kept forever, are the history; these rows only serve to publish and to
    de-duplicate redeliveries, which come within minutes (a relay republishing after a
    crash, a rebalance), so ``keep`` is days. Deletes in slices: no long lock is held.
    """
    slices = (
        (outbox, (outbox.c.id,), outbox.c.published_at),
        (
            processed_events,
            (processed_events.c.consumer, processed_events.c.event_id),
            processed_events.c.processed_at,
        ),
    )
    removed = 0
    for table, key, stamp in slices:
        while True:
            doomed = select(*key).where(stamp < func.now() - keep).limit(batch)
            async with engine.begin() as conn:
                result = await conn.execute(table.delete().where(tuple_(*key).in_(doomed)))
            removed += result.rowcount
            if result.rowcount < batch:
                break
    if removed:
        log.info("messaging_rows_pruned", count=removed)
    return removed
