"""Hot reads on the driver (``sanad.shared.db.on_driver``), on the real Postgres: no
transaction around the statement, and a pooled connection that died is not handed out again."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from sanad.platform.testing import Infra, eventually
from sanad.shared.db import create_engine, on_driver
from sanad.shared.outages import dependency_down

PID = "SELECT pg_backend_pid()"


async def _now(value: bool) -> bool:
    return value


def one_connection_engine(infra: Infra) -> AsyncEngine:
    return create_engine(
        infra.database_admin_url(), "public", application_name="on-driver-test", pool_size=1
    )


async def test_a_read_runs_outside_any_transaction(provisioned: Infra) -> None:
    engine = one_connection_engine(provisioned)
    try:
        async with engine.connect() as conn:
            driver = (await conn.get_raw_connection()).driver_connection
            assert driver is not None
            assert await on_driver(conn, "fetchval", "SELECT 1") == 1
            assert not driver.is_in_transaction()  # no BEGIN was sent, none is left open
            # The same statement through SQLAlchemy opens one (to show the check can fail).
            await conn.scalar(text("SELECT 1"))
            assert driver.is_in_transaction()
            rows = await on_driver(conn, "fetch", "SELECT g FROM generate_series(1, $1) g", 3)
            assert [row["g"] for row in rows] == [1, 2, 3]
    finally:
        await engine.dispose()


async def test_a_connection_that_died_is_discarded_and_the_next_read_works(
    provisioned: Infra, admin_db: AsyncEngine
) -> None:
    engine = one_connection_engine(provisioned)
    try:
        async with engine.connect() as conn:
            before = await on_driver(conn, "fetchval", PID)
        async with engine.connect() as conn:
            pooled = (await conn.get_raw_connection()).driver_connection
        assert pooled is not None
        # Postgres ends that backend (a restart, as the pooled connection sees it).
        async with admin_db.connect() as admin:
            await admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": before})
        await eventually(lambda: _now(pooled.is_closed()), what="the connection seen closed")
        failed: Exception | None = None
        async with engine.connect() as conn:
            try:
                await on_driver(conn, "fetchval", PID)
            except Exception as exc:
                failed = exc
        assert failed is not None, "the dead connection answered"
        assert dependency_down(failed) == "database"  # answered 503, not 500
        async with engine.connect() as conn:
            after = await on_driver(conn, "fetchval", PID)
        assert after != before
    finally:
        await engine.dispose()
