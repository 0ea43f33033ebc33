"""Refresh tokens: random, stored as SHA-256 digests, rotated on every use within a family;
presenting one that was already used revokes the whole family (it was stolen or replayed)."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import Enum

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from sanad.identity.models import accounts, refresh_tokens


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def issue(
    session: AsyncSession, account_id: uuid.UUID, family_id: uuid.UUID, ttl_seconds: int
) -> str:
    token = secrets.token_urlsafe(32)
    await session.execute(
        refresh_tokens.insert().values(
            token_hash=digest(token),
            family_id=family_id,
            account_id=account_id,
            expires_at=datetime.now(UTC) + timedelta(seconds=ttl_seconds),
        )
    )
    return token


class Refusal(Enum):
    UNKNOWN = "The refresh token is not valid."
    REVOKED = "The refresh token has been revoked; sign in again."
    EXPIRED = "The refresh token has expired; sign in again."
    REUSED = "The refresh token was already used; every session of this sign-in is revoked."


@dataclass(frozen=True)
class Rotation:
    account_id: uuid.UUID
    role: str
    family_id: uuid.UUID


async def revoke_family(session: AsyncSession, family_id: uuid.UUID) -> None:
    await session.execute(
        update(refresh_tokens)
        .where(refresh_tokens.c.family_id == family_id, refresh_tokens.c.revoked_at.is_(None))
        .values(revoked_at=datetime.now(UTC))
    )


async def consume(session: AsyncSession, token: str) -> Rotation | Refusal:
    """Marks ``token`` used (the caller then issues its successor in the same family)."""
    row = (
        (
            await session.execute(
                select(refresh_tokens, accounts.c.role)
                .join(accounts, accounts.c.id == refresh_tokens.c.account_id)
                .where(refresh_tokens.c.token_hash == digest(token))
                .with_for_update(of=refresh_tokens)
            )
        )
        .mappings()
        .first()
    )
    if row is None:
        return Refusal.UNKNOWN
    if row["revoked_at"] is not None:
        return Refusal.REVOKED
    if row["used_at"] is not None:
        await revoke_family(session, row["family_id"])
        return Refusal.REUSED
    now = datetime.now(UTC)
    if row["expires_at"] <= now:
        return Refusal.EXPIRED
    await session.execute(
        update(refresh_tokens)
        .where(refresh_tokens.c.token_hash == row["token_hash"])
        .values(used_at=now)
    )
    return Rotation(row["account_id"], row["role"], row["family_id"])


async def family_of(session: AsyncSession, token: str) -> uuid.UUID | None:
    query = select(refresh_tokens.c.family_id).where(refresh_tokens.c.token_hash == digest(token))
    return (await session.execute(query)).scalar_one_or_none()
