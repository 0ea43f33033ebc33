"""The identity schema's SQL (SQLAlchemy Core), inside the caller's session or transaction:
accounts, pending registrations, refresh tokens. (The civil registry's table is read through
``adapters/civil_registry.py``, as the real registry would be.)"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import RowMapping, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from sanad.identity.domain.refresh_tokens import StoredToken
from sanad.identity.models import accounts, mobile_changes, refresh_tokens, registrations

# Accounts


async def account_by_national_id(session: AsyncSession, national_id: str) -> RowMapping | None:
    query = select(accounts).where(accounts.c.national_id == national_id)
    return (await session.execute(query)).mappings().first()


async def account_by_id(session: AsyncSession, account_id: uuid.UUID) -> RowMapping | None:
    query = select(accounts).where(accounts.c.id == account_id)
    return (await session.execute(query)).mappings().first()


async def insert_account(session: AsyncSession, **values: Any) -> None:
    """A new account; IntegrityError when its national ID has one already."""
    await session.execute(accounts.insert().values(**values))


async def set_password_hash(
    session: AsyncSession, account_id: uuid.UUID, password_hash: str
) -> None:
    await session.execute(
        update(accounts).where(accounts.c.id == account_id).values(password_hash=password_hash)
    )


# Registrations waiting for their code


async def registration(session: AsyncSession, registration_id: uuid.UUID) -> RowMapping | None:
    query = select(registrations).where(registrations.c.id == registration_id)
    return (await session.execute(query)).mappings().first()


async def insert_registration(session: AsyncSession, **values: Any) -> None:
    await session.execute(registrations.insert().values(**values))


async def set_otp_expiry(
    session: AsyncSession, registration_id: uuid.UUID, expires_at: datetime
) -> None:
    await session.execute(
        update(registrations)
        .where(registrations.c.id == registration_id)
        .values(otp_expires_at=expires_at)
    )


async def fail_registration(session: AsyncSession, registration_id: uuid.UUID) -> None:
    await session.execute(
        update(registrations)
        .where(registrations.c.id == registration_id, registrations.c.status == "pending")
        .values(status="failed")
    )


async def mark_verified(session: AsyncSession, registration_id: uuid.UUID, now: datetime) -> bool:
    """Moves a pending registration to verified; False when it was not pending (any more)."""
    claimed = await session.execute(
        update(registrations)
        .where(registrations.c.id == registration_id, registrations.c.status == "pending")
        .values(status="verified", verified_at=now)
    )
    return getattr(claimed, "rowcount", 0) == 1


# Refresh tokens (stored as digests)


async def insert_refresh_token(
    session: AsyncSession,
    *,
    token_hash: str,
    account_id: uuid.UUID,
    family_id: uuid.UUID,
    expires_at: datetime,
) -> None:
    await session.execute(
        refresh_tokens.insert().values(
            token_hash=token_hash,
            family_id=family_id,
            account_id=account_id,
            expires_at=expires_at,
        )
    )


async def refresh_token_for_update(session: AsyncSession, token_hash: str) -> StoredToken | None:
    """The token and its account's role, locked until the transaction ends, so two uses of
    one token serialise (the second sees it used)."""
    row = (
        (
            await session.execute(
                select(refresh_tokens, accounts.c.role)
                .join(accounts, accounts.c.id == refresh_tokens.c.account_id)
                .where(refresh_tokens.c.token_hash == token_hash)
                .with_for_update(of=refresh_tokens)
            )
        )
        .mappings()
        .first()
    )
    if row is None:
        return None
    return StoredToken(
        token_hash=row["token_hash"],
        account_id=row["account_id"],
        role=row["role"],
        family_id=row["family_id"],
        expires_at=row["expires_at"],
        used_at=row["used_at"],
        revoked_at=row["revoked_at"],
    )


async def mark_refresh_token_used(session: AsyncSession, token_hash: str, now: datetime) -> None:
    await session.execute(
        update(refresh_tokens).where(refresh_tokens.c.token_hash == token_hash).values(used_at=now)
    )


async def refresh_token_family(session: AsyncSession, token_hash: str) -> uuid.UUID | None:
    query = select(refresh_tokens.c.family_id).where(refresh_tokens.c.token_hash == token_hash)
    return (await session.execute(query)).scalar_one_or_none()


async def revoke_family(session: AsyncSession, family_id: uuid.UUID, now: datetime) -> None:
    await session.execute(
        update(refresh_tokens)
        .where(refresh_tokens.c.family_id == family_id, refresh_tokens.c.revoked_at.is_(None))
        .values(revoked_at=now)
    )


# Changes of mobile


async def insert_mobile_change(session: AsyncSession, **values: Any) -> None:
    await session.execute(mobile_changes.insert().values(**values))


async def mobile_change(session: AsyncSession, change_id: uuid.UUID) -> RowMapping | None:
    query = select(mobile_changes).where(mobile_changes.c.id == change_id)
    return (await session.execute(query)).mappings().first()


async def end_mobile_change(
    session: AsyncSession, change_id: uuid.UUID, status: str, now: datetime
) -> bool:
    """Moves a pending change to ``status``; False when it was not pending (any more)."""
    ended = await session.execute(
        update(mobile_changes)
        .where(mobile_changes.c.id == change_id, mobile_changes.c.status == "pending")
        .values(status=status, completed_at=now)
    )
    return getattr(ended, "rowcount", 0) == 1


async def set_mobile(session: AsyncSession, account_id: uuid.UUID, mobile: str) -> None:
    await session.execute(update(accounts).where(accounts.c.id == account_id).values(mobile=mobile))
