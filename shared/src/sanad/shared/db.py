"""Each service's async engine, bound to its own Postgres role and schema."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from sanad.shared.settings import ServiceSettings

SessionFactory = async_sessionmaker[AsyncSession]


def create_engine(
    url: str, schema: str, *, application_name: str, pool_size: int = 5
) -> AsyncEngine:
    # The search_path makes unqualified table names resolve to the service's own schema, so
    # the shared outbox and inbox tables are defined once and live in every service's schema.
    return create_async_engine(
        url,
        pool_size=pool_size,
        # Bursts: the inbox holds up to two connections per topic it consumes (see inbox).
        max_overflow=2 * pool_size,
        # No pre-ping: it is a round trip on every checkout. A connection that died (Postgres
        # restarted) fails its statement once, and SQLAlchemy then discards the whole pool.
        pool_pre_ping=False,
        connect_args={
            "server_settings": {"search_path": schema, "application_name": application_name}
        },
    )


def engine_for(settings: ServiceSettings) -> AsyncEngine:
    return create_engine(
        settings.database_url, settings.db_schema, application_name=settings.service
    )


def session_factory(engine: AsyncEngine, *, producer: str | None = None) -> SessionFactory:
    """Sessions of one service: ``producer`` (its name) is what ``outbox.publish`` stamps on
    the events they queue."""
    return async_sessionmaker(engine, expire_on_commit=False, info={"producer": producer})


def asyncpg_dsn(sqlalchemy_url: str) -> str:
    """The plain DSN asyncpg wants (for LISTEN), from a SQLAlchemy URL."""
    return sqlalchemy_url.replace("postgresql+asyncpg://", "postgresql://", 1)
