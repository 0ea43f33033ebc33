"""Accounts: lookups, and staff accounts (from the CLI or the environment)."""

from __future__ import annotations

import uuid

from sqlalchemy import RowMapping, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from sanad.identity.domain.password_policy import password_problem
from sanad.identity.models import accounts
from sanad.identity.passwords import hash_password
from sanad.shared.auth import STAFF, Role
from sanad.shared.db import SessionFactory
from sanad.shared.national_id import validate_national_id


class StaffAccountError(ValueError):
    """A staff account that cannot be created; the message names the field."""


async def by_national_id(session: AsyncSession, national_id: str) -> RowMapping | None:
    query = select(accounts).where(accounts.c.national_id == national_id)
    return (await session.execute(query)).mappings().first()


async def by_id(session: AsyncSession, account_id: uuid.UUID) -> RowMapping | None:
    return (
        (await session.execute(select(accounts).where(accounts.c.id == account_id)))
        .mappings()
        .first()
    )


async def create_staff(
    sessions: SessionFactory, *, national_id: str, role: str, password: str, name: str
) -> uuid.UUID:
    try:
        staff_role = Role(role)
    except ValueError:
        staff_role = Role.CITIZEN
    if staff_role not in STAFF:
        raise StaffAccountError("role: must be one of caseworker, auditor, admin")
    try:
        national_id = validate_national_id(national_id)
    except ValueError as exc:
        raise StaffAccountError(f"national_id: {exc}") from None
    if problem := password_problem(password, national_id=national_id):
        raise StaffAccountError(f"password: {problem}")
    if not name.strip():
        raise StaffAccountError("name: required")
    account_id = uuid.uuid4()
    password_hash = await hash_password(password)
    try:
        async with sessions() as session, session.begin():
            await session.execute(
                accounts.insert().values(
                    id=account_id,
                    national_id=national_id,
                    role=staff_role.value,
                    password_hash=password_hash,
                    full_name_en=name.strip(),
                    language="en",
                )
            )
    except IntegrityError:
        raise StaffAccountError("national_id: an account with this national ID exists") from None
    return account_id
