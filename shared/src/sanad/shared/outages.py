"""Whether an error means a dependency (Postgres, Redis, Kafka) is away rather than that the
request or the message is at fault.

The inbox uses it to rewind a batch instead of dead-lettering it; the HTTP error handler
(``sanad.shared.problems``) to answer ``503`` problem+json with ``Retry-After`` instead of
``500``: the client should try again shortly, and nothing was changed.
"""

from __future__ import annotations

import socket

from aiokafka import errors as kafka_errors
from asyncpg import exceptions as pg_errors
from redis import exceptions as redis_errors
from sqlalchemy.exc import DBAPIError, InterfaceError
from sqlalchemy.exc import TimeoutError as PoolTimeout

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
    # The driver's protocol state is broken, as when a statement meets a connection whose
    # server went away before the event loop saw it close (seen on a hot read's raw driver
    # call, ``db.on_driver``, across a Postgres restart): the connection's, not the request's.
    pg_errors.InternalClientError,
    InterfaceError,
    PoolTimeout,  # every pooled connection is stuck
)

_REDIS_AWAY: tuple[type[BaseException], ...] = (
    redis_errors.ConnectionError,  # refused, reset, "loading the dataset"
    redis_errors.TimeoutError,
)

_KAFKA_AWAY: tuple[type[BaseException], ...] = (
    kafka_errors.KafkaConnectionError,
    kafka_errors.KafkaTimeoutError,
    kafka_errors.NodeNotReadyError,
    kafka_errors.RequestTimedOutError,
    kafka_errors.NotLeaderForPartitionError,
    kafka_errors.LeaderNotAvailableError,
)


# What an outage is raised as, at the top: the classes the HTTP error handler takes in
# Starlette's ExceptionMiddleware (``sanad.shared.problems``), which then tells an outage (503)
# from a bug (500) with ``dependency_down``.
RAISED_BY_OUTAGES: tuple[type[Exception], ...] = (
    DBAPIError,
    PoolTimeout,
    OSError,  # ConnectionError, TimeoutError, socket.gaierror
    pg_errors.PostgresError,
    pg_errors.InterfaceError,
    pg_errors.InternalClientError,
    redis_errors.RedisError,
    kafka_errors.KafkaError,
    ExceptionGroup,
)


def _causes(exc: BaseException) -> list[BaseException]:
    """The exception and what it wraps (SQLAlchemy's ``orig``, ``__cause__``, ``__context__``,
    and the members of an exception group)."""
    seen: list[BaseException] = []
    pending: list[BaseException | None] = [exc]
    while pending:
        current = pending.pop()
        if current is None or any(current is known for known in seen):
            continue
        seen.append(current)
        pending += [getattr(current, "orig", None), current.__cause__, current.__context__]
        if isinstance(current, BaseExceptionGroup):
            pending += list(current.exceptions)
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


def dependency_down(exc: BaseException) -> str | None:
    """Which dependency ``exc`` says is away — ``"database"``, ``"redis"`` or ``"kafka"`` —
    or None if it is some other error."""
    causes = _causes(exc)
    # Redis' and Kafka's connection errors are ConnectionError's cousins, not subclasses:
    # name them first so the answer says which one is away.
    if any(isinstance(cause, _REDIS_AWAY) for cause in causes):
        return "redis"
    if any(isinstance(cause, _KAFKA_AWAY) for cause in causes):
        return "kafka"
    if infrastructure_down(exc):
        return "database"
    return None
