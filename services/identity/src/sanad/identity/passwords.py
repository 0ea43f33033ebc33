"""Password hashing with argon2id (argon2-cffi's defaults: RFC 9106's low-memory profile).

Hashing is deliberately slow, so callers in the event loop run it in a thread.
"""

from __future__ import annotations

import asyncio

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()  # argon2id
# Verified against when the account does not exist, so both cases take the same time.
_DUMMY_HASH = _hasher.hash("no account has this password")


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(_hasher.hash, password)


def _verify(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


async def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether ``password`` matches; with no hash, spends the same time and answers False."""
    return await asyncio.to_thread(_verify, password_hash, password)
