"""A failing statement's error, logged as the inbox and the apps log errors (its text and
its traceback), says what failed and never the personal data it carried: not the statement's
parameters, not the key or row Postgres's detail prints."""

from __future__ import annotations

import logging
import traceback

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from sanad.platform.testing import Infra, scratch_schema
from sanad.shared.logging import configure_logging, get_logger

EMAIL = "sara.q@example.com"


async def test_a_failing_statement_logs_what_failed_and_none_of_its_data(
    provisioned: Infra, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging("test-db-errors")
    log = get_logger("test")
    failing = {
        # Too long for the column: only the statement's parameters hold the value.
        "value too long": {"email": EMAIL + "x" * 40, "name": "Sara Al-Qahtani"},
        # A duplicate key: Postgres's detail names the key's value.
        "duplicate key": {"email": EMAIL, "name": "Sara Al-Qahtani"},
        # A check failed: Postgres's detail prints the whole row.
        "violates check constraint": {"email": "other@example.com", "name": "Sara Al-Qahtani!"},
    }
    try:
        async with scratch_schema(provisioned, "dberr") as scratch:
            async with scratch.engine.begin() as conn:
                await conn.execute(
                    text(
                        "CREATE TABLE people (email varchar(40) PRIMARY KEY, "
                        "name text CHECK (name NOT LIKE '%!'))"
                    )
                )
                await conn.execute(
                    text("INSERT INTO people VALUES (:email, :name)"),
                    {"email": EMAIL, "name": "Sara Al-Qahtani"},
                )
            capsys.readouterr()
            for what, params in failing.items():
                with pytest.raises(DBAPIError) as caught:
                    async with scratch.engine.begin() as conn:
                        await conn.execute(
                            text("INSERT INTO people VALUES (:email, :name)"), params
                        )
                log.warning(
                    "event_handler_failed",
                    error=str(caught.value),
                    trace=traceback.format_exc(limit=3)[-1000:],
                )
                try:
                    raise caught.value
                except DBAPIError:
                    log.exception("unhandled_error")
                lines = capsys.readouterr().out
                assert what in lines, lines  # it says what failed
                for leaked in ("sara.q", "Sara", "Qahtani", "other@"):
                    assert leaked not in lines, lines
    finally:
        logging.getLogger().handlers.clear()
