"""The first migration's frozen SQL and the tables the code queries must describe the same
thing: a change to messaging_tables.py without a new migration fails here."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from sanad.platform.testing import Infra, scratch_schema
from sanad.shared.messaging_tables import messaging_metadata

COLUMNS = """
    SELECT table_name, column_name, data_type, character_maximum_length, is_nullable,
           column_default, is_identity
    FROM information_schema.columns WHERE table_schema = :schema ORDER BY 1, 2
"""
CONSTRAINTS = """
    SELECT conrelid::regclass::text AS table_name, conname, contype,
           pg_get_constraintdef(oid) AS definition
    FROM pg_constraint WHERE connamespace = CAST(:schema AS regnamespace) ORDER BY 1, 2
"""


async def describe(url: str, schema: str) -> tuple[list[Any], list[Any]]:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            columns = (await conn.execute(text(COLUMNS), {"schema": schema})).all()
            constraints = (await conn.execute(text(CONSTRAINTS), {"schema": schema})).all()
    finally:
        await engine.dispose()
    strip = f"{schema}."
    return list(columns), [(row[0].removeprefix(strip), *row[1:]) for row in constraints]


async def test_frozen_first_migration_matches_the_table_definitions(infra: Infra) -> None:
    url = infra.database_admin_url()
    model_schema = f"t_model_{uuid.uuid4().hex[:8]}"
    admin = create_async_engine(url)
    try:
        async with admin.begin() as conn:
            await conn.execute(text(f'CREATE SCHEMA "{model_schema}"'))
            await conn.execute(text(f'SET LOCAL search_path TO "{model_schema}"'))
            await conn.run_sync(messaging_metadata.create_all)
        async with scratch_schema(infra, "frozen") as frozen:  # runs the migration's SQL
            assert await describe(url, frozen.schema) == await describe(url, model_schema)
    finally:
        async with admin.begin() as conn:
            await conn.execute(text(f'DROP SCHEMA "{model_schema}" CASCADE'))
        await admin.dispose()
