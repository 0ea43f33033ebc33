"""The SQL of the eligibility schema (SQLAlchemy Core, inside the caller's transaction)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncSession

from sanad.eligibility.models import (
    applications,
    beneficiaries,
    citizen_profiles,
    evaluations,
    rule_sets,
)


async def rule_set_in_force(session: AsyncSession, program: str, on: date) -> Row[Any] | None:
    """The version in force on ``on``: the latest effective on or before it (of two
    effective the same day, the one published last)."""
    return (
        await session.execute(
            select(rule_sets)
            .where(rule_sets.c.program_code == program, rule_sets.c.effective_from <= on)
            .order_by(rule_sets.c.effective_from.desc(), rule_sets.c.seq.desc())
            .limit(1)
        )
    ).first()


async def rule_set(session: AsyncSession, program: str, version: str) -> Row[Any] | None:
    return (
        await session.execute(
            select(rule_sets).where(
                rule_sets.c.program_code == program, rule_sets.c.version == version
            )
        )
    ).first()


async def rule_set_versions(session: AsyncSession, program: str) -> list[Row[Any]]:
    return list(
        await session.execute(
            select(rule_sets)
            .where(rule_sets.c.program_code == program)
            .order_by(rule_sets.c.effective_from, rule_sets.c.seq)
        )
    )


async def insert_rule_set(
    session: AsyncSession,
    program: str,
    version: str,
    effective_from: date,
    document: dict[str, Any],
    digest: str,
    published_by: str,
) -> bool:
    """False (nothing written) if that version exists: a published version never changes."""
    result = await session.execute(
        insert(rule_sets)
        .values(
            program_code=program,
            version=version,
            effective_from=effective_from,
            document=document,
            digest=digest,
            published_by=published_by,
        )
        .on_conflict_do_nothing(index_elements=[rule_sets.c.program_code, rule_sets.c.version])
        .returning(rule_sets.c.seq)
    )
    return result.first() is not None


async def keep_profile(
    session: AsyncSession, citizen_id: UUID, version: int, profile: dict[str, Any]
) -> bool:
    """Keep the newest version per citizen; False if ``version`` is not newer."""
    statement = insert(citizen_profiles).values(
        citizen_id=citizen_id, version=version, profile=profile
    )
    upsert = statement.on_conflict_do_update(
        index_elements=[citizen_profiles.c.citizen_id],
        set_={"version": version, "profile": profile, "updated_at": statement.excluded.updated_at},
        where=citizen_profiles.c.version < version,
    ).returning(citizen_profiles.c.citizen_id)
    return (await session.execute(upsert)).first() is not None


async def profile(session: AsyncSession, citizen_id: UUID) -> tuple[int, dict[str, Any]] | None:
    """The citizen's latest profile known here, with its version."""
    found = (
        await session.execute(
            select(citizen_profiles.c.version, citizen_profiles.c.profile).where(
                citizen_profiles.c.citizen_id == citizen_id
            )
        )
    ).first()
    return None if found is None else (found.version, found.profile)


async def profiles_page(
    session: AsyncSession, after: UUID | None, limit: int
) -> list[tuple[UUID, dict[str, Any]]]:
    query = select(citizen_profiles.c.citizen_id, citizen_profiles.c.profile).order_by(
        citizen_profiles.c.citizen_id
    )
    if after is not None:
        query = query.where(citizen_profiles.c.citizen_id > after)
    rows = await session.execute(query.limit(limit))
    return [(row.citizen_id, row.profile) for row in rows]


async def active_programs(
    session: AsyncSession, citizen_id: UUID, *, besides: UUID | None = None
) -> list[str]:
    """The programs the citizen actively receives (other than through ``besides``)."""
    query = select(beneficiaries.c.program_code).where(
        beneficiaries.c.citizen_id == citizen_id, beneficiaries.c.active
    )
    if besides is not None:
        query = query.where(beneficiaries.c.application_id != besides)
    return sorted(set((await session.execute(query)).scalars()))


async def active_programs_of(
    session: AsyncSession, citizen_ids: list[UUID]
) -> dict[UUID, list[str]]:
    rows = await session.execute(
        select(beneficiaries.c.citizen_id, beneficiaries.c.program_code).where(
            beneficiaries.c.citizen_id.in_(citizen_ids), beneficiaries.c.active
        )
    )
    found: dict[UUID, set[str]] = {}
    for row in rows:
        found.setdefault(row.citizen_id, set()).add(row.program_code)
    return {citizen: sorted(codes) for citizen, codes in found.items()}


async def keep_submissions(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """Keep each application's latest submission (a later one replaces an earlier one); at
    most one row per application."""
    if not rows:
        return
    statement = insert(applications).values(rows)
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[applications.c.application_id],
            set_={k: statement.excluded[k] for k in rows[0] if k != "application_id"},
            where=applications.c.submitted_at <= statement.excluded.submitted_at,
        )
    )


async def programs_with_rules(session: AsyncSession, programs: set[str]) -> set[str]:
    found = await session.execute(
        select(rule_sets.c.program_code).where(rule_sets.c.program_code.in_(programs)).distinct()
    )
    return set(found.scalars())


async def active_rows(
    session: AsyncSession, citizen_ids: set[UUID]
) -> list[tuple[UUID, str, UUID]]:
    """(citizen, program, application) of every active benefit of these citizens."""
    rows = await session.execute(
        select(
            beneficiaries.c.citizen_id,
            beneficiaries.c.program_code,
            beneficiaries.c.application_id,
        ).where(beneficiaries.c.citizen_id.in_(citizen_ids), beneficiaries.c.active)
    )
    return [(row.citizen_id, row.program_code, row.application_id) for row in rows]


async def submission(session: AsyncSession, application_id: UUID) -> Row[Any] | None:
    return (
        await session.execute(
            select(applications).where(applications.c.application_id == application_id)
        )
    ).first()


async def insert_evaluations(session: AsyncSession, rows: list[dict[str, Any]]) -> set[UUID]:
    """The ids of those written: a submission or appeal evaluated already (before, or
    earlier in ``rows``) is not written again."""
    if not rows:
        return set()
    result = await session.execute(
        insert(evaluations)
        .values(rows)
        .on_conflict_do_nothing()
        .returning(evaluations.c.evaluation_id)
    )
    return set(result.scalars())


async def evaluation(session: AsyncSession, evaluation_id: UUID) -> Row[Any] | None:
    return (
        await session.execute(
            select(evaluations).where(evaluations.c.evaluation_id == evaluation_id)
        )
    ).first()


async def record_decision(
    session: AsyncSession,
    *,
    application_id: UUID,
    citizen_id: UUID,
    program_code: str,
    active: bool,
    decision_id: UUID,
    decided_at: datetime,
) -> None:
    """The registry row of an application follows its latest decision."""
    statement = insert(beneficiaries).values(
        application_id=application_id,
        citizen_id=citizen_id,
        program_code=program_code,
        active=active,
        decision_id=decision_id,
        decided_at=decided_at,
    )
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[beneficiaries.c.application_id],
            set_={
                "active": statement.excluded.active,
                "decision_id": statement.excluded.decision_id,
                "decided_at": statement.excluded.decided_at,
            },
            where=beneficiaries.c.decided_at <= statement.excluded.decided_at,
        )
    )
