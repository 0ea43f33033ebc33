"""Idempotent consumers: each event's effect is stored once, offsets committed after it.

``subscribe`` registers a FastStream subscriber that
- parses the envelope (a message that is not one goes straight to the dead-letter topic);
- in one Postgres transaction records ``(consumer, event_id)`` in ``processed_events`` and
  runs the handler; a redelivered event finds its row and changes nothing;
- retries a failing handler with exponential backoff, then sends the message to the
  consumer group's dead-letter topic with the error and moves on;
- acknowledges (commits the Kafka offset) only after all that: ``NACK_ON_ERROR`` rewinds to
  the message if anything above raised (Postgres or Kafka unreachable), so nothing is lost.
"""

from __future__ import annotations

import asyncio
import random
import socket
import traceback
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import structlog
from asyncpg import exceptions as pg_errors
from faststream import AckPolicy
from faststream.kafka import KafkaBroker, KafkaMessage
from pydantic import ValidationError
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import DBAPIError, InterfaceError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncSession

from sanad.shared.db import SessionFactory
from sanad.shared.events import Envelope, correlation_id_var
from sanad.shared.logging import get_logger
from sanad.shared.messaging_tables import processed_events
from sanad.shared.topics import dead_letter_topic

log = get_logger(__name__)

Handler = Callable[[AsyncSession, Envelope], Awaitable[None]]

# The dead-letter topics a broker's subscribers need, so the service can make sure they exist
# before it consumes (a group missing from topics.SUBSCRIPTIONS would otherwise have none, and
# its poison messages would be redelivered forever).
_DEAD_LETTER_TOPICS: weakref.WeakKeyDictionary[KafkaBroker, set[str]] = weakref.WeakKeyDictionary()


def dead_letter_topics(broker: KafkaBroker) -> set[str]:
    return set(_DEAD_LETTER_TOPICS.get(broker, ()))


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 4
    first_delay: float = 0.2
    max_delay: float = 5.0

    def delay(self, attempt: int) -> float:
        """Exponential backoff with full jitter, so instances do not retry in lockstep."""
        ceiling = min(self.max_delay, self.first_delay * 2 ** (attempt - 1))
        return random.uniform(ceiling / 2, ceiling)


async def claim(session: AsyncSession, consumer: str, envelope: Envelope) -> bool:
    """Record the event as processed by ``consumer``; False if it already was."""
    result = await session.execute(
        insert(processed_events)
        .values(consumer=consumer, event_id=envelope.event_id, event_type=envelope.event_type)
        .on_conflict_do_nothing()
        .returning(processed_events.c.event_id)
    )
    return result.first() is not None


async def process_once(
    sessions: SessionFactory, consumer: str, envelope: Envelope, handler: Handler
) -> bool:
    """Run ``handler`` for ``envelope`` unless already done. True if it ran."""
    async with sessions() as session, session.begin():
        if not await claim(session, consumer, envelope):
            return False
        await handler(session, envelope)
    return True


def subscribe(
    broker: KafkaBroker,
    *,
    group_id: str,
    topics: tuple[str, ...],
    handler: Handler,
    sessions: SessionFactory,
    retry: RetryPolicy = RetryPolicy(),
    consumer: str | None = None,
) -> None:
    """Register an at-least-once, effectively-once subscriber of ``topics`` for ``group_id``."""
    name = consumer or group_id
    dlq = dead_letter_topic(group_id)
    _DEAD_LETTER_TOPICS.setdefault(broker, set()).add(dlq)

    async def dead_letter(msg: KafkaMessage, error: BaseException, attempts: int) -> None:
        record = msg.raw_message
        assert not isinstance(record, tuple)  # single-message subscriber
        headers = {k: v.decode(errors="replace") for k, v in (record.headers or ())}
        headers.update(
            {
                "dlq_consumer": name,
                "dlq_original_topic": record.topic,
                "dlq_original_partition": str(record.partition),
                "dlq_original_offset": str(record.offset),
                "dlq_attempts": str(attempts),
                "dlq_error_type": type(error).__name__,
                "dlq_error": str(error)[:2000],
            }
        )
        await broker.publish(record.value, topic=dlq, key=record.key, headers=headers)
        log.error(
            "message_dead_lettered",
            topic=record.topic,
            offset=record.offset,
            dead_letter_topic=dlq,
            error_type=type(error).__name__,
            attempts=attempts,
        )

    # Takes the raw message, not a decoded body: FastStream's own decoding would fail (and,
    # under NACK_ON_ERROR, redeliver forever) on a message that is not JSON.
    async def consume(msg: KafkaMessage) -> None:
        try:
            envelope = Envelope.from_bytes(msg.body)
        except ValidationError as exc:
            await dead_letter(msg, exc, attempts=0)
            return
        token = correlation_id_var.set(envelope.correlation_id)
        with structlog.contextvars.bound_contextvars(
            event_id=str(envelope.event_id),
            event_type=envelope.event_type,
            correlation_id=envelope.correlation_id,
            consumer=name,
        ):
            try:
                await _with_retries(sessions, name, envelope, handler, retry, msg, dead_letter)
            finally:
                correlation_id_var.reset(token)

    consume.__name__ = f"{name}_consumer"
    broker.subscriber(
        *topics,
        group_id=group_id,
        auto_offset_reset="earliest",
        ack_policy=AckPolicy.NACK_ON_ERROR,
        title=f"{name}:{','.join(topics)}",
    )(consume)


# The database (or the network to it) is not there: the message is not at fault. asyncpg's
# own classes reach us unwrapped when a connection is being opened.
_UNREACHABLE: tuple[type[BaseException], ...] = (
    ConnectionError,  # refused, reset, aborted
    socket.gaierror,  # the host name does not resolve
    pg_errors.PostgresConnectionError,  # SQLSTATE class 08
    pg_errors.OperatorInterventionError,  # 57P01-03: shutting down, starting up
    pg_errors.InsufficientResourcesError,  # 53: too many connections, disk full
    pg_errors.InvalidAuthorizationSpecificationError,  # 28: a password being rotated
    pg_errors.InterfaceError,  # the connection is closed
    InterfaceError,
    PoolTimeout,  # every pooled connection is stuck
)


def _causes(exc: BaseException) -> list[BaseException]:
    """The exception and what it wraps (SQLAlchemy's ``orig``, ``__cause__``, ``__context__``)."""
    seen: list[BaseException] = []
    pending: list[BaseException | None] = [exc]
    while pending:
        current = pending.pop()
        if current is None or any(current is known for known in seen):
            continue
        seen.append(current)
        pending += [getattr(current, "orig", None), current.__cause__, current.__context__]
    return seen


def infrastructure_down(exc: BaseException) -> bool:
    """Whether ``exc`` means Postgres is unreachable (redeliver later) rather than that the
    message cannot be handled (retry, then dead-letter)."""
    for cause in _causes(exc):
        if isinstance(cause, pg_errors.QueryCanceledError):
            return False  # a statement timeout: about this message, not the database
        if isinstance(cause, _UNREACHABLE):
            return True
        if isinstance(cause, DBAPIError) and cause.connection_invalidated:
            return True
    return False


async def _with_retries(
    sessions: SessionFactory,
    name: str,
    envelope: Envelope,
    handler: Handler,
    retry: RetryPolicy,
    msg: KafkaMessage,
    dead_letter: Callable[[KafkaMessage, BaseException, int], Awaitable[None]],
) -> None:
    for attempt in range(1, retry.attempts + 1):
        try:
            ran = await process_once(sessions, name, envelope, handler)
            log.info("event_processed" if ran else "event_duplicate_ignored")
            return
        except Exception as exc:
            if infrastructure_down(exc):
                # Not the message's fault: leave it unacknowledged so it is redelivered.
                log.warning("event_deferred_infrastructure_down", error_type=type(exc).__name__)
                await asyncio.sleep(retry.max_delay)
                raise
            log.warning(
                "event_handler_failed",
                attempt=attempt,
                error_type=type(exc).__name__,
                error=str(exc)[:500],
                trace=traceback.format_exc(limit=3)[-1000:],
            )
            if attempt == retry.attempts:
                await dead_letter(msg, exc, retry.attempts)
                return
            await asyncio.sleep(retry.delay(attempt))
