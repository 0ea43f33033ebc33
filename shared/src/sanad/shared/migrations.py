"""Alembic per service: each service's migrations touch only its schema and keep their
version table there. A service's ``migrations/env.py`` is two lines calling ``run_env``."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import cast

from alembic import command, context
from alembic.config import Config
from alembic.operations import Operations
from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from sanad.shared.messaging_tables import UNPUBLISHED_INDEX


def alembic_config(migrations_dir: Path, url: str, schema: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(migrations_dir))
    cfg.attributes["url"] = url
    cfg.attributes["schema"] = schema
    return cfg


def upgrade(migrations_dir: Path, url: str, schema: str, revision: str = "head") -> None:
    """Blocking; async callers use ``asyncio.to_thread``."""
    command.upgrade(alembic_config(migrations_dir, url, schema), revision)


def run_env() -> None:
    """Body of every service's ``migrations/env.py`` (online mode only)."""
    cfg = context.config
    url: str = cfg.attributes["url"]
    schema: str = cfg.attributes["schema"]

    def run(connection: Connection) -> None:
        context.configure(
            connection=connection,
            version_table_schema=schema,
            include_schemas=False,
        )
        with context.begin_transaction():
            context.run_migrations()

    async def main() -> None:
        engine = create_async_engine(url, connect_args={"server_settings": {"search_path": schema}})
        async with engine.begin() as conn:
            await conn.run_sync(run)
        await engine.dispose()

    asyncio.run(main())


# Frozen SQL of the outbox and inbox as every service's first migration creates them; a change
# to ``messaging_tables.py`` needs a new revision (a test compares the two).
MESSAGING_TABLES_V1 = (
    """
    CREATE TABLE outbox (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        event_id UUID NOT NULL CONSTRAINT outbox_event_id_key UNIQUE,
        event_type VARCHAR(100) NOT NULL,
        topic VARCHAR(200) NOT NULL,
        key VARCHAR(200) NOT NULL,
        correlation_id VARCHAR(200),
        envelope JSONB NOT NULL,
        created_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
        published_at TIMESTAMP WITH TIME ZONE
    )
    """,
    f"CREATE INDEX {UNPUBLISHED_INDEX} ON outbox (id) WHERE published_at IS NULL",
    """
    CREATE TABLE processed_events (
        consumer VARCHAR(100) NOT NULL,
        event_id UUID NOT NULL,
        event_type VARCHAR(100) NOT NULL,
        processed_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
        CONSTRAINT processed_events_pkey PRIMARY KEY (consumer, event_id)
    )
    """,
)


def create_messaging_tables(op: Operations) -> None:
    """The outbox and processed-events tables, in the current schema (first migration)."""
    for statement in MESSAGING_TABLES_V1:
        op.execute(statement)


def drop_messaging_tables(op: Operations) -> None:
    op.execute("DROP TABLE processed_events")
    op.execute("DROP TABLE outbox")


def messaging_revision() -> tuple[Callable[[], None], Callable[[], None]]:
    """``upgrade, downgrade`` of every service's first migration (outbox + inbox)."""
    from alembic import op

    operations = cast(Operations, op)  # alembic.op proxies the current Operations
    return (lambda: create_messaging_tables(operations)), (
        lambda: drop_messaging_tables(operations)
    )
