"""Counters in Redis: OTP send limits (per mobile, per client IP), registration limits (per
national ID) and login lockout.

Every limit that guards something slow or costly is claimed atomically *before* the work is
done (a Lua script: count, compare, answer), so a burst of parallel requests cannot all pass a
check made before any of them is counted.

Keys carry digests, not national IDs or mobiles, so Redis holds no personal data in clear.
"""

from __future__ import annotations

import hashlib
from typing import Any, cast

from redis.asyncio import Redis

from sanad.identity.settings import IdentitySettings
from sanad.shared.problems import FieldError, Problem

_PREFIX = "identity"

# KEYS[1] the counter; ARGV[1] the limit, ARGV[2] the window in seconds.
# Counts one more unless that would go over the limit; answers {claimed (1|0), ttl}.
_CLAIM = """
local count = redis.call('INCR', KEYS[1])
if redis.call('TTL', KEYS[1]) < 0 then redis.call('EXPIRE', KEYS[1], ARGV[2]) end
local ttl = redis.call('TTL', KEYS[1])
if count > tonumber(ARGV[1]) then
    redis.call('DECR', KEYS[1])
    return {0, ttl}
end
return {1, ttl}
"""

# KEYS[1] the counter: gives one claim back (never below zero, never creating the key).
_REFUND = """
if redis.call('EXISTS', KEYS[1]) == 1 then
    if redis.call('DECR', KEYS[1]) <= 0 then redis.call('DEL', KEYS[1]) end
end
return 0
"""

# KEYS[1] the attempts counter, KEYS[2] the lock; ARGV[1] the limit, ARGV[2] the window,
# ARGV[3] the lockout. Answers {0, lock ttl} when locked (now or already), else {1, count}.
_LOGIN_ATTEMPT = """
local ttl = redis.call('TTL', KEYS[2])
if ttl > 0 or ttl == -1 then return {0, ttl} end
local count = redis.call('INCR', KEYS[1])
if redis.call('TTL', KEYS[1]) < 0 then redis.call('EXPIRE', KEYS[1], ARGV[2]) end
if count > tonumber(ARGV[1]) then
    redis.call('SET', KEYS[2], '1', 'EX', ARGV[3])
    redis.call('DEL', KEYS[1])
    return {0, tonumber(ARGV[3])}
end
return {1, count}
"""

# KEYS[1] the attempts counter, KEYS[2] the lock: a success clears the attempts, unless the
# ID was locked meanwhile (then the lock and its count stand).
_LOGIN_SUCCEEDED = """
if redis.call('EXISTS', KEYS[2]) == 0 then redis.call('DEL', KEYS[1]) end
return 0
"""


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()[:32]


def too_many(
    detail: str, retry_after: int, type_: str = "rate-limited", field: str | None = None
) -> Problem:
    return Problem(
        status=429,
        title="Too Many Requests",
        detail=detail,
        type=type_,
        errors=[FieldError(field, detail, "rate_limited")] if field else [],
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


async def _script(redis: Redis, script: str, keys: list[str], *args: int) -> list[int]:
    answer = await cast(Any, redis.eval(script, len(keys), *keys, *args))
    return [int(value) for value in answer] if isinstance(answer, list) else [int(answer)]


async def _claim(redis: Redis, key: str, limit: int, window: int) -> int | None:
    """Counts one claim on ``key`` if fewer than ``limit`` are held in the window: None when
    claimed, else the seconds until the window ends (nothing is counted then)."""
    claimed, ttl = await _script(redis, _CLAIM, [key], limit, window)
    return None if claimed else max(ttl, 1)


async def _refund(redis: Redis, key: str) -> None:
    await _script(redis, _REFUND, [key])


class OtpThrottle:
    """Limits on sending codes and starting registrations."""

    def __init__(self, redis: Redis, settings: IdentitySettings) -> None:
        self._redis = redis
        self._s = settings

    # Per client address: registrations and resends together.
    async def check_ip(self, client_ip: str) -> None:
        count, ttl = await _count(
            self._redis, f"{_PREFIX}:otp-ip:{_digest(client_ip)}", self._s.otp_ip_window_seconds
        )
        if count > self._s.otp_ip_limit:
            raise too_many("Too many verification codes requested from this address.", ttl)

    # Per mobile: every code sent (by registering or resending), and a cooldown between two.
    def _sends_key(self, mobile: str) -> str:
        return f"{_PREFIX}:otp-sends:{_digest(mobile)}"

    def _cooldown_key(self, mobile: str) -> str:
        return f"{_PREFIX}:otp-cooldown:{_digest(mobile)}"

    @property
    def sends_per_window(self) -> int:
        """The first code and ``otp_resend_limit`` resends."""
        return self._s.otp_resend_limit + 1

    async def claim_send(self, mobile: str, field: str) -> None:
        """Claims a code for ``mobile``: 429 (naming ``field``) while the previous code's
        cooldown runs or when the window's codes are used up. Undo with ``release_send``."""
        cooldown = self._s.otp_resend_cooldown_seconds
        if cooldown > 0 and not await self._redis.set(
            self._cooldown_key(mobile), "1", ex=cooldown, nx=True
        ):
            ttl = int(await self._redis.ttl(self._cooldown_key(mobile)))
            raise too_many("Wait before asking for another code for this mobile.", ttl, field=field)
        window = self._s.otp_resend_window_seconds
        retry = await _claim(self._redis, self._sends_key(mobile), self.sends_per_window, window)
        if retry is not None:
            await self._redis.delete(self._cooldown_key(mobile))
            raise too_many(
                f"A code can be sent to a mobile at most {self.sends_per_window} times in "
                f"{window // 60} minutes (the first and {self._s.otp_resend_limit} resends).",
                retry,
                field=field,
            )

    async def release_send(self, mobile: str) -> None:
        """Gives back a claimed send that did not happen."""
        await self._redis.delete(self._cooldown_key(mobile))
        await _refund(self._redis, self._sends_key(mobile))

    # Per national ID: birth-date mismatches, and registrations started.
    def _mismatches_key(self, national_id: str) -> str:
        return f"{_PREFIX}:registry-mismatches:{_digest(national_id)}"

    def _registrations_key(self, national_id: str) -> str:
        return f"{_PREFIX}:registrations:{_digest(national_id)}"

    async def claim_registry_check(self, national_id: str) -> None:
        """Claims one of the ID's registry mismatches before the registry is looked at, so
        parallel guesses cannot pass together; 429 when they are used up, whatever the birth
        date (so the answer tells nothing about it). Give it back with ``release_registry_check``
        when the pair matches (only mismatches count)."""
        retry = await _claim(
            self._redis,
            self._mismatches_key(national_id),
            self._s.registry_mismatch_limit,
            self._s.registry_mismatch_window_seconds,
        )
        if retry is not None:
            raise too_many(
                "Too many national ID and date of birth pairs that do not match were tried "
                "for this national ID; try again later.",
                retry,
                field="body.national_id",
            )

    async def release_registry_check(self, national_id: str) -> None:
        await _refund(self._redis, self._mismatches_key(national_id))

    async def claim_registration(self, national_id: str) -> None:
        """Claims one of the registrations the ID may start in the window; 429 when used up.
        Undo with ``release_registration``."""
        window = self._s.registration_id_window_seconds
        retry = await _claim(
            self._redis,
            self._registrations_key(national_id),
            self._s.registration_id_limit,
            window,
        )
        if retry is not None:
            raise too_many(
                f"At most {self._s.registration_id_limit} registrations can be started for a "
                f"national ID in {window // 60} minutes; try again later.",
                retry,
                field="body.national_id",
            )

    async def release_registration(self, national_id: str) -> None:
        await _refund(self._redis, self._registrations_key(national_id))


def locked(retry_after: int) -> Problem:
    return Problem(
        status=423,
        title="Locked",
        detail="Too many failed sign-ins; try again later.",
        type="account-locked",
        headers={"Retry-After": str(max(retry_after, 1))},
        extra={"retry_after": max(retry_after, 1)},
    )


class LoginGuard:
    """At most five sign-in attempts on a national ID within 15 minutes (a success starts the
    count again); the next one locks the ID for 15 minutes, whether or not an account has it,
    so the answers do not tell which IDs exist.

    Each attempt is counted before its password is verified, atomically with the lock check,
    so parallel attempts beyond the limit are refused without being verified."""

    def __init__(self, redis: Redis, settings: IdentitySettings) -> None:
        self._redis = redis
        self._s = settings

    def _keys(self, national_id: str) -> list[str]:
        digest = _digest(national_id)
        return [f"{_PREFIX}:login-attempts:{digest}", f"{_PREFIX}:login-lock:{digest}"]

    async def attempt(self, national_id: str) -> None:
        """Counts a sign-in attempt; 423 when the ID is locked or this attempt is over the
        limit (which locks it)."""
        allowed, value = await _script(
            self._redis,
            _LOGIN_ATTEMPT,
            self._keys(national_id),
            self._s.login_max_failures,
            self._s.login_failure_window_seconds,
            self._s.login_lockout_seconds,
        )
        if not allowed:
            raise locked(value)

    async def succeeded(self, national_id: str) -> None:
        """Clears the ID's attempts, unless it was locked meanwhile."""
        await _script(self._redis, _LOGIN_SUCCEEDED, self._keys(national_id))
