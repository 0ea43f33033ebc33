"""The civil registry behind one small interface: here a table in the identity schema, seeded
from the synthetic people shipped in ``data/civil_registry.csv``; the real registry would be
another adapter with the same ``find``."""

from __future__ import annotations

import csv
import io
from dataclasses import asdict
from importlib import resources
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from sanad.identity.domain.registry import CivilRecord
from sanad.identity.models import civil_registry

Connection = AsyncSession | AsyncConnection


class CivilRegistry(Protocol):
    async def find(self, national_id: str) -> CivilRecord | None: ...


class TableCivilRegistry:
    """The registry as a table, read in the caller's session."""

    def __init__(self, session: Connection) -> None:
        self._session = session

    async def find(self, national_id: str) -> CivilRecord | None:
        row = (
            (
                await self._session.execute(
                    select(civil_registry).where(civil_registry.c.national_id == national_id)
                )
            )
            .mappings()
            .first()
        )
        if row is None:
            return None
        return CivilRecord(
            national_id=row["national_id"],
            full_name_ar=row["full_name_ar"],
            full_name_en=row["full_name_en"],
            nationality=row["nationality"],
            sex=row["sex"],
            birth_date=row["birth_date"],
            marital_status=row["marital_status"],
        )

    async def add(self, records: list[CivilRecord], *, replace: bool = False) -> int:
        """Insert records (or update them when ``replace``); how many rows changed."""
        if not records:
            return 0
        statement = insert(civil_registry).values([asdict(r) for r in records])
        if replace:
            statement = statement.on_conflict_do_update(
                index_elements=[civil_registry.c.national_id],
                set_={k: statement.excluded[k] for k in asdict(records[0]) if k != "national_id"},
            )
        else:
            statement = statement.on_conflict_do_nothing(
                index_elements=[civil_registry.c.national_id]
            )
        result = await self._session.execute(statement)
        return int(getattr(result, "rowcount", 0) or 0)


def shipped_records() -> list[CivilRecord]:
    text = resources.files("sanad.identity.data").joinpath("civil_registry.csv").read_text("utf-8")
    return [CivilRecord.parse(row) for row in csv.DictReader(io.StringIO(text))]
