"""Sign-in lockout in Redis, on the injected clock: at most ``login_max_failures`` attempts on
a national ID within the window (a success starts the count again); the next one locks the ID
for ``login_lockout_seconds``, whether or not an account has it, so the answers do not tell
which IDs exist.

Each attempt is counted before its password is verified, atomically with the lock check, so
parallel attempts beyond the limit are refused without being verified.

Per client address, failed sign-ins (whatever the IDs) are limited too: each attempt is
claimed before its password is verified and given back when it succeeds."""

from __future__ import annotations

from redis.asyncio import Redis

from sanad.identity.adapters.redis_limits import (
    claim,
    clear_unless_locked,
    key,
    locking_attempt,
    refund,
)
from sanad.identity.settings import IdentitySettings
from sanad.shared.clock import Clock


class LoginGuard:
    def __init__(self, redis: Redis, settings: IdentitySettings, clock: Clock) -> None:
        self._redis = redis
        self._s = settings
        self._clock = clock

    async def attempt(self, national_id: str) -> int | None:
        """Counts a sign-in attempt: None when allowed, else the seconds the ID stays locked
        (locked already, or by this attempt being over the limit)."""
        return await locking_attempt(
            self._redis,
            key("login-attempts", national_id),
            key("login-lock", national_id),
            limit=self._s.login_max_failures,
            window=self._s.login_failure_window_seconds,
            lockout=self._s.login_lockout_seconds,
            now=self._clock.now(),
        )

    async def succeeded(self, national_id: str) -> None:
        """Clears the ID's attempts, unless it was locked meanwhile."""
        await clear_unless_locked(
            self._redis,
            key("login-attempts", national_id),
            key("login-lock", national_id),
            now=self._clock.now(),
        )

    async def attempt_from(self, client_ip: str) -> int | None:
        """Counts a sign-in attempt from an address: None when allowed, else the seconds until
        its window of failures ends."""
        return await claim(
            self._redis,
            key("login-ip-failures", client_ip),
            limit=self._s.login_ip_max_failures,
            window=self._s.login_ip_window_seconds,
            now=self._clock.now(),
        )

    async def succeeded_from(self, client_ip: str) -> None:
        """A good sign-in is not a failure: gives the address's claim back."""
        await refund(self._redis, key("login-ip-failures", client_ip))
