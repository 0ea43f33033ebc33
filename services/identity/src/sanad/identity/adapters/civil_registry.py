"""The civil registry behind one small interface: here tables in the identity schema, seeded
from the synthetic people shipped in ``data/civil_registry.csv`` (who they are and the
mobiles registered to their ID) and ``data/civil_registry_family.csv`` (the family register);
the real registry would be another adapter with the same ``find`` and ``family``."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from importlib import resources
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from sanad.identity.domain.registry import (
    CivilRecord,
    FamilyMember,
    Relation,
    inverse,
    parse_relationship,
    relation_problem,
)
from sanad.identity.models import civil_registry, civil_registry_mobiles, civil_registry_relations

Connection = AsyncSession | AsyncConnection


class CivilRegistry(Protocol):
    async def find(self, national_id: str) -> CivilRecord | None: ...

    async def family(self, national_id: str) -> list[FamilyMember]: ...


def _record(row: Any, mobiles: tuple[str, ...]) -> CivilRecord:
    return CivilRecord(
        national_id=row["national_id"],
        full_name_ar=row["full_name_ar"],
        full_name_en=row["full_name_en"],
        nationality=row["nationality"],
        sex=row["sex"],
        birth_date=row["birth_date"],
        marital_status=row["marital_status"],
        mobiles=mobiles,
    )


_PERSON_FIELDS = (
    "national_id",
    "full_name_ar",
    "full_name_en",
    "nationality",
    "sex",
    "birth_date",
    "marital_status",
)


class TableCivilRegistry:
    """The registry as tables, read in the caller's session."""

    def __init__(self, session: Connection) -> None:
        self._session = session

    async def _mobiles(self, national_ids: list[str]) -> dict[str, tuple[str, ...]]:
        found: dict[str, list[str]] = defaultdict(list)
        rows = await self._session.execute(
            select(civil_registry_mobiles)
            .where(civil_registry_mobiles.c.national_id.in_(national_ids))
            .order_by(civil_registry_mobiles.c.mobile)
        )
        for row in rows.mappings():
            found[row["national_id"]].append(row["mobile"])
        return {key: tuple(value) for key, value in found.items()}

    async def find(self, national_id: str) -> CivilRecord | None:
        query = select(civil_registry).where(civil_registry.c.national_id == national_id)
        row = (await self._session.execute(query)).mappings().first()
        if row is None:
            return None
        mobiles = await self._mobiles([national_id])
        return _record(row, mobiles.get(national_id, ()))

    async def family(self, national_id: str) -> list[FamilyMember]:
        """The person's relatives as the family register holds them."""
        rows = (
            (
                await self._session.execute(
                    select(civil_registry, civil_registry_relations.c.relationship)
                    .join(
                        civil_registry_relations,
                        civil_registry_relations.c.relative_id == civil_registry.c.national_id,
                    )
                    .where(civil_registry_relations.c.national_id == national_id)
                    .order_by(civil_registry.c.birth_date, civil_registry.c.national_id)
                )
            )
            .mappings()
            .all()
        )
        return [
            FamilyMember(_record(row, ()), parse_relationship(row["relationship"])) for row in rows
        ]

    async def add(self, records: list[CivilRecord], *, replace: bool = False) -> int:
        """Insert records (or update them when ``replace``) with their mobiles (``replace``
        sets the mobiles given, when any are); how many people rows changed."""
        if not records:
            return 0
        values = [{k: getattr(r, k) for k in _PERSON_FIELDS} for r in records]
        statement = insert(civil_registry).values(values)
        if replace:
            statement = statement.on_conflict_do_update(
                index_elements=[civil_registry.c.national_id],
                set_={k: statement.excluded[k] for k in _PERSON_FIELDS if k != "national_id"},
            )
        else:
            statement = statement.on_conflict_do_nothing(
                index_elements=[civil_registry.c.national_id]
            )
        result = await self._session.execute(statement.returning(civil_registry.c.national_id))
        changed = {row[0] for row in result}
        if replace:
            with_mobiles = [
                r.national_id for r in records if r.mobiles and r.national_id in changed
            ]
            if with_mobiles:
                await self._session.execute(
                    civil_registry_mobiles.delete().where(
                        civil_registry_mobiles.c.national_id.in_(with_mobiles)
                    )
                )
        await self.add_mobiles([r for r in records if r.national_id in changed])
        return len(changed)

    async def add_mobiles(self, records: list[CivilRecord]) -> None:
        """Registers the records' mobiles to their IDs (those registered already stay)."""
        rows = [{"national_id": r.national_id, "mobile": m} for r in records for m in r.mobiles]
        if rows:
            await self._session.execute(
                insert(civil_registry_mobiles).values(rows).on_conflict_do_nothing()
            )

    async def relate(self, relations: list[Relation]) -> list[str]:
        """Records each relation and its inverse (a son's father); the problems found, each
        naming the field (nothing is recorded for a relation with a problem)."""
        problems: list[str] = []
        rows: list[dict[str, str]] = []
        for relation in relations:
            person = await self.find(relation.person)
            relative = await self.find(relation.relative)
            if person is None or relative is None:
                missing = relation.person if person is None else relation.relative
                problems.append(f"relative_of: no civil-registry record has {missing}")
                continue
            if problem := relation_problem(person, relative, relation.relationship):
                problems.append(problem)
                continue
            rows.append(
                {
                    "national_id": person.national_id,
                    "relative_id": relative.national_id,
                    "relationship": relation.relationship,
                }
            )
            rows.append(
                {
                    "national_id": relative.national_id,
                    "relative_id": person.national_id,
                    "relationship": inverse(relation.relationship, person.sex),
                }
            )
        if rows:
            statement = insert(civil_registry_relations).values(rows)
            await self._session.execute(
                statement.on_conflict_do_update(
                    index_elements=[
                        civil_registry_relations.c.national_id,
                        civil_registry_relations.c.relative_id,
                    ],
                    set_={"relationship": statement.excluded.relationship},
                )
            )
        return problems


def _data(name: str) -> str:
    return resources.files("sanad.identity.data").joinpath(name).read_text("utf-8")


def shipped_records() -> list[CivilRecord]:
    return [
        CivilRecord.parse(row) for row in csv.DictReader(io.StringIO(_data("civil_registry.csv")))
    ]


def shipped_relations() -> list[Relation]:
    """Each row: ``relative_national_id`` is ``national_id``'s ``relationship``."""
    return [
        Relation(
            person=row["national_id"].strip(),
            relative=row["relative_national_id"].strip(),
            relationship=parse_relationship(row["relationship"]),
        )
        for row in csv.DictReader(io.StringIO(_data("civil_registry_family.csv")))
    ]
