"""Each service's async engine, bound to its own Postgres role and schema."""

from __future__ import annotations

from typing import Any

from asyncpg.exceptions import InternalClientError
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from sanad.shared.settings import DB_POOL_SIZE, ServiceSettings

SessionFactory = async_sessionmaker[AsyncSession]


def create_engine(
    url: str, schema: str, *, application_name: str, pool_size: int = DB_POOL_SIZE
) -> AsyncEngine:
    # The search_path makes unqualified table names resolve to the service's own schema, so
    # the shared outbox and inbox tables are defined once and live in every service's schema.
    return create_async_engine(
        url,
        pool_size=pool_size,
        # Bursts beyond the pool (see ServiceSettings.db_pool_size): closed on return.
        max_overflow=pool_size,
        # No pre-ping: it is a round trip on every checkout. A connection that died (Postgres
        # restarted) fails its statement once, and SQLAlchemy then discards the whole pool.
        pool_pre_ping=False,
        # A failing statement's error (logged with its traceback by the inbox and the app's
        # error handler) would otherwise print its parameters: names, numbers, emails.
        hide_parameters=True,
        connect_args={
            "server_settings": {"search_path": schema, "application_name": application_name}
        },
    )


def engine_for(settings: ServiceSettings) -> AsyncEngine:
    return create_engine(
        settings.database_url,
        settings.db_schema,
        application_name=settings.service,
        pool_size=settings.db_pool_size,
    )


def session_factory(engine: AsyncEngine, *, producer: str | None = None) -> SessionFactory:
    """Sessions of one service: ``producer`` (its name) is what ``outbox.publish`` stamps on
    the events they queue."""
    return async_sessionmaker(engine, expire_on_commit=False, info={"producer": producer})


def asyncpg_dsn(sqlalchemy_url: str) -> str:
    """The plain DSN asyncpg wants (for LISTEN), from a SQLAlchemy URL."""
    return sqlalchemy_url.replace("postgresql+asyncpg://", "postgresql://", 1)


async def on_driver(conn: AsyncConnection, method: str, sql: str, *args: Any) -> Any:
    """``sql`` run by the asyncpg connection under ``conn`` (``method``: ``fetch``,
    ``fetchrow`` or ``fetchval``), for a hot read that is one statement: asyncpg prepares it
    once per connection (its statement cache) and runs it with no transaction around it,
    where a SQLAlchemy ``execute`` would build the statement each time and wrap it in
    ``BEGIN`` … ``ROLLBACK`` (two more round trips). JSON columns decode with SQLAlchemy's
    codec (``json.loads``); select them ``::text`` to validate them with pydantic instead.

    A connection found dead (Postgres restarted), or left in a broken protocol state, is
    invalidated, as SQLAlchemy does on its own statements, so the pool does not hand it out
    again; the error goes on (a 503, see ``outages``)."""
    driver = (await conn.get_raw_connection()).driver_connection
    assert driver is not None  # checked out: never a closed record
    try:
        return await getattr(driver, method)(sql, *args)
    except Exception as exc:
        if driver.is_closed() or isinstance(exc, InternalClientError):
            await conn.invalidate()
        raise
