"""Refresh tokens: random, stored as SHA-256 digests, rotated on every use within a family;
presenting one that was already used revokes the whole family (it was stolen or replayed)."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import Enum


def new_token() -> str:
    return secrets.token_urlsafe(32)


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class Refusal(Enum):
    UNKNOWN = "The refresh token is not valid."
    REVOKED = "The refresh token has been revoked; sign in again."
    EXPIRED = "The refresh token has expired; sign in again."
    REUSED = "The refresh token was already used; every session of this sign-in is revoked."


@dataclass(frozen=True)
class StoredToken:
    """What is kept of a refresh token, and the role of its account."""

    token_hash: str
    account_id: uuid.UUID
    role: str
    family_id: uuid.UUID
    expires_at: datetime
    used_at: datetime | None
    revoked_at: datetime | None


def refusal(token: StoredToken | None, now: datetime) -> Refusal | None:
    """Why ``token`` cannot be exchanged for a new pair at ``now``, or None when it can.
    ``REUSED`` obliges the caller to revoke the token's family."""
    if token is None:
        return Refusal.UNKNOWN
    if token.revoked_at is not None:
        return Refusal.REVOKED
    if token.used_at is not None:
        return Refusal.REUSED
    if token.expires_at <= now:
        return Refusal.EXPIRED
    return None
