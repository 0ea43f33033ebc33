"""Which failures mean "Postgres is unreachable, redeliver later" and which mean "this
message cannot be handled, retry then dead-letter"."""

from __future__ import annotations

import smtplib
import socket

import pytest
from asyncpg import exceptions as pg_errors
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from sanad.shared.inbox import infrastructure_down


def wrapped(cause: BaseException) -> BaseException:
    """As SQLAlchemy raises it: a DBAPIError whose ``orig`` chain leads to asyncpg's error."""
    try:
        try:
            raise cause
        except BaseException as inner:
            raise OperationalError("SELECT 1", {}, inner) from inner
    except OperationalError as outer:
        return outer


@pytest.mark.parametrize(
    "exc",
    [
        pg_errors.CannotConnectNowError("the database system is starting up"),
        pg_errors.AdminShutdownError("terminating connection due to administrator command"),
        pg_errors.TooManyConnectionsError("sorry, too many clients already"),
        pg_errors.InvalidPasswordError("password authentication failed"),
        pg_errors.ConnectionDoesNotExistError("connection was closed"),
        pg_errors.InternalClientError("unexpected connection state"),
        ConnectionRefusedError(111, "Connection refused"),
        socket.gaierror(-2, "Name or service not known"),
        PoolTimeout("QueuePool limit reached"),
        wrapped(pg_errors.CannotConnectNowError("starting up")),
    ],
    ids=lambda exc: type(exc).__name__,
)
def test_an_unreachable_database_is_not_the_messages_fault(exc: BaseException) -> None:
    assert infrastructure_down(exc)


@pytest.mark.parametrize(
    "exc",
    [
        ValueError("cannot handle this payload"),
        TimeoutError("a provider took too long"),
        smtplib.SMTPRecipientsRefused({}),
        FileNotFoundError("template missing"),
        pg_errors.UniqueViolationError("duplicate key"),
        pg_errors.QueryCanceledError("canceling statement due to statement timeout"),
        wrapped(pg_errors.NotNullViolationError("null value in column")),
        DBAPIError("INSERT", {}, ValueError("bad value")),
    ],
    ids=lambda exc: type(exc).__name__,
)
def test_a_failure_about_the_message_is_retried_then_dead_lettered(exc: BaseException) -> None:
    assert not infrastructure_down(exc)
