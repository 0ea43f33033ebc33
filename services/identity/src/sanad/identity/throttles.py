"""Counters in Redis: OTP send limits (per mobile, per client IP) and login lockout.

Keys carry digests, not national IDs or mobiles, so Redis holds no personal data in clear.
"""

from __future__ import annotations

import hashlib

from redis.asyncio import Redis

from sanad.identity.settings import IdentitySettings
from sanad.shared.problems import Problem

_PREFIX = "identity"


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()[:32]


def too_many(detail: str, retry_after: int, type_: str = "rate-limited") -> Problem:
    return Problem(
        status=429,
        title="Too Many Requests",
        detail=detail,
        type=type_,
        headers={"Retry-After": str(max(retry_after, 1))},
        extra={"retry_after": max(retry_after, 1)},
    )


async def _count(redis: Redis, key: str, window: int) -> tuple[int, int]:
    """(count in the window including this one, seconds until the window ends)."""
    async with redis.pipeline(transaction=True) as pipe:
        pipe.incr(key)
        pipe.expire(key, window, nx=True)
        pipe.ttl(key)
        count, _, ttl = await pipe.execute()
    return int(count), int(ttl)


class OtpThrottle:
    def __init__(self, redis: Redis, settings: IdentitySettings) -> None:
        self._redis = redis
        self._s = settings

    async def check_ip(self, client_ip: str) -> None:
        count, ttl = await _count(
            self._redis, f"{_PREFIX}:otp-ip:{_digest(client_ip)}", self._s.otp_ip_window_seconds
        )
        if count > self._s.otp_ip_limit:
            raise too_many("Too many verification codes requested from this address.", ttl)

    async def check_resend_window(self, mobile: str) -> None:
        key = f"{_PREFIX}:otp-resends:{_digest(mobile)}"
        count, ttl = await _count(self._redis, key, self._s.otp_resend_window_seconds)
        if count > self._s.otp_resend_limit:
            raise too_many(
                f"A code can be resent at most {self._s.otp_resend_limit} times in "
                f"{self._s.otp_resend_window_seconds // 60} minutes.",
                ttl,
            )

    async def start_cooldown(self, mobile: str) -> None:
        """Claims the mobile's send slot; 429 while the previous code's cooldown runs."""
        key = f"{_PREFIX}:otp-cooldown:{_digest(mobile)}"
        if self._s.otp_resend_cooldown_seconds <= 0:
            return
        if not await self._redis.set(key, "1", ex=self._s.otp_resend_cooldown_seconds, nx=True):
            ttl = int(await self._redis.ttl(key))
            raise too_many("Wait before asking for another code for this mobile.", ttl)

    async def release_cooldown(self, mobile: str) -> None:
        await self._redis.delete(f"{_PREFIX}:otp-cooldown:{_digest(mobile)}")


class LoginGuard:
    """Five failures within 15 minutes lock the national ID for 15 minutes, whether or not an
    account has it, so the answers do not tell which IDs exist."""

    def __init__(self, redis: Redis, settings: IdentitySettings) -> None:
        self._redis = redis
        self._s = settings

    def _keys(self, national_id: str) -> tuple[str, str]:
        digest = _digest(national_id)
        return f"{_PREFIX}:login-failures:{digest}", f"{_PREFIX}:login-lock:{digest}"

    async def ensure_not_locked(self, national_id: str) -> None:
        _, lock = self._keys(national_id)
        ttl = int(await self._redis.ttl(lock))
        if ttl > 0 or ttl == -1:
            raise Problem(
                status=423,
                title="Locked",
                detail="Too many failed sign-ins; try again later.",
                type="account-locked",
                headers={"Retry-After": str(max(ttl, 1))},
                extra={"retry_after": max(ttl, 1)},
            )

    async def failed(self, national_id: str) -> None:
        failures, lock = self._keys(national_id)
        count, _ = await _count(self._redis, failures, self._s.login_failure_window_seconds)
        if count >= self._s.login_max_failures:
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.set(lock, "1", ex=self._s.login_lockout_seconds)
                pipe.delete(failures)
                await pipe.execute()

    async def succeeded(self, national_id: str) -> None:
        failures, _ = self._keys(national_id)
        await self._redis.delete(failures)
