"""The audit schema: one generation of projections per replay, written with COPY.

Only the ``audit`` schema is written. Reading the live services' tables (``compare``,
rule-set documents) is in ``adapters/live.py``, through the read-only grants the platform
gives the audit role.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg
import orjson

from sanad.audit.domain.projections import Projections

TABLES = (
    "events",
    "applications",
    "status_history",
    "evaluations",
    "decisions",
    "cards",
    "notifications",
)


async def start_generation(
    conn: asyncpg.Connection, generation: UUID, scope: dict[str, Any], at: datetime
) -> None:
    await conn.execute(
        "INSERT INTO generations (generation_id, started_at, scope) VALUES ($1, $2, $3::jsonb)",
        generation,
        at,
        orjson.dumps(scope).decode(),
    )


async def copy(
    conn: asyncpg.Connection,
    generation: UUID,
    table: str,
    columns: tuple[str, ...],
    rows: list[tuple[Any, ...]],
) -> None:
    """One projection's rows of the generation, in one COPY (binary; rows are streamed to
    Postgres as they are encoded, so it indexes them while the rest is sent)."""
    assert table in TABLES
    if rows:
        await conn.copy_records_to_table(
            table,
            columns=["generation_id", *columns],
            records=((generation, *row) for row in rows),
        )


async def finish(
    conn: asyncpg.Connection,
    generation: UUID,
    projections: Projections,
    *,
    messages_read: int,
    finished_at: datetime,
) -> None:
    """Mark the generation complete (readers take finished generations only)."""
    await conn.execute(
        "UPDATE generations SET finished_at = $2, messages_read = $3, counts = $4::jsonb "
        "WHERE generation_id = $1",
        generation,
        finished_at,
        messages_read,
        orjson.dumps(projections.counts()).decode(),
    )


async def write(
    conn: asyncpg.Connection,
    generation: UUID,
    projections: Projections,
    *,
    messages_read: int,
    finished_at: datetime,
) -> None:
    """Every projection of the generation, one COPY per table, in one transaction."""
    async with conn.transaction():
        for name, (columns, rows) in projections.tables().items():
            await copy(conn, generation, name, columns, rows)
        await finish(
            conn, generation, projections, messages_read=messages_read, finished_at=finished_at
        )


async def latest_generation(conn: asyncpg.Connection) -> UUID | None:
    found: UUID | None = await conn.fetchval(
        "SELECT generation_id FROM generations WHERE finished_at IS NOT NULL "
        "ORDER BY finished_at DESC LIMIT 1"
    )
    return found


async def generation(conn: asyncpg.Connection, generation_id: UUID) -> dict[str, Any] | None:
    row = await conn.fetchrow("SELECT * FROM generations WHERE generation_id = $1", generation_id)
    return None if row is None else dict(row)


async def rows(
    conn: asyncpg.Connection, generation_id: UUID, table: str, columns: tuple[str, ...]
) -> list[tuple[Any, ...]]:
    """A projection's rows of one generation, without the generation id, in a stable order."""
    assert table in TABLES
    names = ", ".join(f'"{c}"' for c in columns)
    found = await conn.fetch(
        f"SELECT {names} FROM {table} WHERE generation_id = $1 ORDER BY {names}",  # noqa: S608
        generation_id,
    )
    return [tuple(r) for r in found]


async def drop_generation(conn: asyncpg.Connection, generation_id: UUID) -> None:
    await _delete(conn, [generation_id])


async def prune(conn: asyncpg.Connection, keep: int) -> int:
    """Delete all but the ``keep`` newest generations; how many were deleted."""
    old: list[UUID] = [
        row[0]
        for row in await conn.fetch(
            "SELECT generation_id FROM generations ORDER BY started_at DESC OFFSET $1", keep
        )
    ]
    await _delete(conn, old)
    return len(old)


async def _delete(conn: asyncpg.Connection, generations: list[UUID]) -> None:
    """A generation's rows, table by table (no foreign key cascades: see migration 0003),
    then the generation itself, in one transaction."""
    async with conn.transaction():
        for table in TABLES:
            await conn.execute(
                f"DELETE FROM {table} WHERE generation_id = ANY($1::uuid[])",  # noqa: S608
                generations,
            )
        await conn.execute(
            "DELETE FROM generations WHERE generation_id = ANY($1::uuid[])", generations
        )
