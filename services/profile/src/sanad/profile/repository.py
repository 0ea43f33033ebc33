"""Loading and storing profiles (SQLAlchemy Core, inside the caller's transaction)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from sanad.profile.domain.profile import Profile
from sanad.profile.models import profile_dependents, profiles
from sanad.shared.events import profile as wire


async def load(
    session: AsyncSession, citizen_id: UUID, *, for_update: bool = False
) -> Profile | None:
    """The citizen's profile; ``for_update`` locks it so concurrent writers queue up."""
    query = select(profiles).where(profiles.c.citizen_id == citizen_id)
    if for_update:
        query = query.with_for_update()
    row = (await session.execute(query)).first()
    if row is None:
        return None
    dependents = (
        await session.execute(
            select(profile_dependents.c.data)
            .where(profile_dependents.c.citizen_id == citizen_id)
            .order_by(profile_dependents.c.position)
        )
    ).scalars()
    return Profile(
        citizen_id=row.citizen_id,
        national_id=row.national_id,
        version=row.version,
        registry=wire.Registry.model_validate(row.registry),
        contact=wire.Contact.model_validate(row.contact),
        sections=wire.Sections.model_validate(row.sections),
        dependents=tuple(wire.Dependent.model_validate(data) for data in dependents),
    )


async def insert_new(session: AsyncSession, profile: Profile) -> bool:
    """Store a new profile; False (and nothing written) if the citizen already has one."""
    result = await session.execute(
        insert(profiles)
        .values(
            citizen_id=profile.citizen_id,
            national_id=profile.national_id,
            version=profile.version,
            registry=profile.registry.model_dump(mode="json"),
            contact=profile.contact.model_dump(mode="json"),
            sections=profile.sections.model_dump(mode="json"),
        )
        .on_conflict_do_nothing(index_elements=[profiles.c.citizen_id])
        .returning(profiles.c.citizen_id)
    )
    return result.first() is not None


def _dependent_row(dependent: wire.Dependent) -> dict[str, Any]:
    return {"national_id": dependent.national_id, "data": dependent.model_dump(mode="json")}


async def save(session: AsyncSession, before: Profile, after: Profile) -> None:
    """Write ``after`` over ``before`` (loaded ``for_update`` in the same transaction)."""
    await session.execute(
        update(profiles)
        .where(profiles.c.citizen_id == after.citizen_id)
        .values(
            version=after.version,
            sections=after.sections.model_dump(mode="json"),
            updated_at=func.now(),
        )
    )
    old = {d.dependent_id: d for d in before.dependents}
    new = {d.dependent_id: d for d in after.dependents}
    gone = [dependent_id for dependent_id in old if dependent_id not in new]
    if gone:
        await session.execute(
            delete(profile_dependents).where(profile_dependents.c.dependent_id.in_(gone))
        )
    for dependent_id, dependent in new.items():
        if dependent_id not in old:
            await session.execute(
                insert(profile_dependents).values(
                    dependent_id=dependent_id,
                    citizen_id=after.citizen_id,
                    **_dependent_row(dependent),
                )
            )
        elif old[dependent_id] != dependent:
            await session.execute(
                update(profile_dependents)
                .where(profile_dependents.c.dependent_id == dependent_id)
                .values(**_dependent_row(dependent))
            )
