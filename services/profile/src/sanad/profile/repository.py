"""Loading and storing profiles (SQLAlchemy Core, inside the caller's transaction)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from uuid import UUID

from pydantic import TypeAdapter
from sqlalchemy import (
    ColumnElement,
    Table,
    and_,
    delete,
    exists,
    func,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from sanad.profile.domain.household import PersonFacts, RegisteredRelative
from sanad.profile.domain.profile import Profile
from sanad.profile.models import family_register, profile_dependents, profiles, staff_ids
from sanad.shared.db import on_driver
from sanad.shared.events import RelativeRef
from sanad.shared.events import profile as wire

# The namespace of this service's per-person advisory locks (two-key form, so they cannot
# meet the relay's one-key lock).
_PERSON_LOCK_SPACE = 7201


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
        national_id_ref=row.national_id_ref,
        version=row.version,
        registry=wire.Registry.model_validate(row.registry),
        contact=wire.Contact.model_validate(row.contact),
        sections=wire.Sections.model_validate(row.sections),
        dependents=tuple(wire.Dependent.model_validate(data) for data in dependents),
    )


# The hot read as one statement, run on the driver (``sanad.shared.db.on_driver``):
# the row and its dependents, in order, the JSON columns as text for pydantic to validate.
READ_SQL = """
SELECT p.national_id_ref, p.version, p.registry::text, p.contact::text, p.sections::text,
       coalesce((SELECT jsonb_agg(d.data ORDER BY d.position)
                 FROM profile_dependents d WHERE d.citizen_id = p.citizen_id),
                '[]'::jsonb)::text
FROM profiles p
WHERE p.citizen_id = $1
"""

_DEPENDENTS = TypeAdapter(tuple[wire.Dependent, ...])


async def read(conn: AsyncConnection, citizen_id: UUID) -> Profile | None:
    """The citizen's profile in one indexed query (the hot read: no session, no
    transaction, no lock)."""
    row = await on_driver(conn, "fetchrow", READ_SQL, citizen_id)
    if row is None:
        return None
    ref, version, registry, contact, sections, dependents = row
    return Profile(
        citizen_id=citizen_id,
        national_id_ref=ref,
        version=version,
        registry=wire.Registry.model_validate_json(registry),
        contact=wire.Contact.model_validate_json(contact),
        sections=wire.Sections.model_validate_json(sections),
        dependents=_DEPENDENTS.validate_json(dependents),
    )


async def insert_new(session: AsyncSession, profile: Profile, key_id: str) -> bool:
    """Store a new profile (its pseudonym under the key ``key_id``); False (and nothing
    written) if the citizen already has one."""
    result = await session.execute(
        insert(profiles)
        .values(
            citizen_id=profile.citizen_id,
            national_id_ref=profile.national_id_ref,
            key_id=key_id,
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
            contact=after.contact.model_dump(mode="json"),
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


# The family register and staff IDs (event-carried state from identity)


async def save_family(
    session: AsyncSession, citizen_id: UUID, family: list[RelativeRef], key_id: str
) -> None:
    """The citizen's family as the register held it at registration (kept once), by
    pseudonym under the key ``key_id``."""
    if not family:
        return
    await session.execute(
        insert(family_register)
        .values(
            [
                {"citizen_id": citizen_id, "key_id": key_id, **member.model_dump()}
                for member in family
            ]
        )
        .on_conflict_do_nothing()
    )


async def add_staff(
    session: AsyncSession, national_id_ref: str, account_id: UUID, key_id: str
) -> None:
    await session.execute(
        insert(staff_ids)
        .values(national_id_ref=national_id_ref, account_id=account_id, key_id=key_id)
        .on_conflict_do_nothing()
    )


# Re-keying after a rotation of the pseudonym key (PseudonymsRekeyed): each statement is
# idempotent — a row already under the new key is left as it is.

# The family register's rows under the previous key move to the new one (a delete and an
# insert: the pseudonym is part of the key), in one statement whatever the family's size.
_REKEY_FAMILY = text(
    """
    WITH pairs AS (
        SELECT * FROM unnest(CAST(:previous AS text[]), CAST(:current AS text[]))
            AS p(previous_ref, national_id_ref)
    ), moved AS (
        DELETE FROM family_register f USING pairs
        WHERE f.citizen_id = :citizen_id AND f.key_id = :previous_key_id
          AND f.national_id_ref = pairs.previous_ref
        RETURNING f.citizen_id, pairs.national_id_ref, f.relationship, f.birth_date
    )
    INSERT INTO family_register (citizen_id, national_id_ref, relationship, birth_date, key_id)
    SELECT citizen_id, national_id_ref, relationship, birth_date, :key_id FROM moved
    ON CONFLICT DO NOTHING
    """
)


async def rekey_citizen(
    session: AsyncSession,
    citizen_id: UUID,
    national_id_ref: str,
    key_id: str,
    *,
    previous_key_id: str,
    family: list[tuple[str, str]],
) -> bool:
    """The citizen's own pseudonym and their family register's (``family``: pairs of the
    previous pseudonym and the new one) under the key ``key_id``, where they are under
    ``previous_key_id`` (a replay never moves a row back to an older key); False when the
    citizen has no profile (yet)."""
    result = await session.execute(
        update(profiles)
        .where(profiles.c.citizen_id == citizen_id, profiles.c.key_id == previous_key_id)
        .values(national_id_ref=national_id_ref, key_id=key_id)
        .returning(profiles.c.citizen_id)
    )
    if result.first() is None and not await _exists(session, profiles.c.citizen_id, citizen_id):
        return False
    if family:
        await session.execute(
            _REKEY_FAMILY,
            {
                "citizen_id": citizen_id,
                "previous_key_id": previous_key_id,
                "key_id": key_id,
                "previous": [previous for previous, _ in family],
                "current": [current for _, current in family],
            },
        )
    return True


async def rekey_staff(
    session: AsyncSession,
    account_id: UUID,
    national_id_ref: str,
    key_id: str,
    *,
    previous_key_id: str,
) -> bool:
    """The staff member's pseudonym under the key ``key_id`` where it is under
    ``previous_key_id``; False when their StaffAccountCreated has not been seen (yet)."""
    result = await session.execute(
        update(staff_ids)
        .where(staff_ids.c.account_id == account_id, staff_ids.c.key_id == previous_key_id)
        .values(national_id_ref=national_id_ref, key_id=key_id)
        .returning(staff_ids.c.account_id)
    )
    return result.first() is not None or await _exists(session, staff_ids.c.account_id, account_id)


async def _exists(session: AsyncSession, column: ColumnElement[Any], value: UUID) -> bool:
    return bool((await session.execute(select(exists().where(column == value)))).scalar())


async def pseudonyms_by_key(session: AsyncSession) -> dict[str, dict[str, int]]:
    """How many stored pseudonyms each table holds under each key: a rotation is complete
    when none is under a previous key."""
    counts: dict[str, dict[str, int]] = {}
    for table in (profiles, family_register, staff_ids):
        rows = await session.execute(select(table.c.key_id, func.count()).group_by(table.c.key_id))
        counts[table.name] = {key_id: int(count) for key_id, count in rows.all()}
    return counts


async def lock_person(session: AsyncSession, national_id: str) -> None:
    """Until the transaction ends, one household at a time may claim ``national_id`` (two
    households claiming one child serialise here and the second sees the first's claim)."""
    await session.execute(
        text("SELECT pg_advisory_xact_lock(:space, hashtext(:national_id))"),
        {"space": _PERSON_LOCK_SPACE, "national_id": national_id},
    )


def _under_its_key(table: Table, refs: Mapping[str, str]) -> ColumnElement[bool]:
    """A row whose pseudonym is the ID's under the row's own key (``refs``: the ID's
    pseudonym by key id, for every key held — current and previous, mid-rotation)."""
    return or_(
        *(
            and_(table.c.key_id == key_id, table.c.national_id_ref == ref)
            for key_id, ref in refs.items()
        )
    )


async def person_facts(
    session: AsyncSession, citizen_id: UUID, national_id: str, refs: Mapping[str, str]
) -> PersonFacts:
    """What decides whether ``citizen_id`` may claim ``national_id`` (whose pseudonyms by
    key id are ``refs``) as a dependent. The households' dependents are in clear (typed in by
    their citizens); identity's IDs only as pseudonyms, each under its key."""
    row = (
        (
            await session.execute(
                select(family_register)
                .where(
                    family_register.c.citizen_id == citizen_id,
                    _under_its_key(family_register, refs),
                )
                .limit(1)
            )
        )
        .mappings()
        .first()
    )
    relative = (
        None
        if row is None
        else RegisteredRelative(relationship=row["relationship"], birth_date=row["birth_date"])
    )
    is_staff, has_account, elsewhere = (
        await session.execute(
            select(
                exists().where(_under_its_key(staff_ids, refs)),
                exists().where(_under_its_key(profiles, refs)),
                exists().where(
                    profile_dependents.c.national_id == national_id,
                    profile_dependents.c.citizen_id != citizen_id,
                ),
            )
        )
    ).one()
    return PersonFacts(
        relative=relative,
        is_staff=bool(is_staff),
        has_own_account=bool(has_account),
        in_another_household=bool(elsewhere),
    )
