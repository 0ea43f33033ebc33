"""Pending OTPs in Redis: the code's keyed digest with the time it expires, and the number of
attempts made on a registration (kept across resends, so resending does not buy tries).

A code's expiry is decided on the injected clock against the time stored with its digest,
not by the Redis key's TTL (which only collects the key): tests move a fake clock past a
code's life instead of sleeping it out."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum

from redis.asyncio import Redis

from sanad.identity.domain.otp import code_digest, code_matches
from sanad.shared.clock import Clock, epoch_ms

_PREFIX = "identity:otp"


class Check(Enum):
    MATCH = "match"
    WRONG = "wrong"
    EXPIRED = "expired"
    EXHAUSTED = "exhausted"


@dataclass(frozen=True)
class Outcome:
    check: Check
    tries_left: int = 0


class OtpStore:
    def __init__(self, redis: Redis, clock: Clock, *, ttl_seconds: int, max_tries: int) -> None:
        self._redis = redis
        self._clock = clock
        self.ttl_seconds = ttl_seconds
        self.max_tries = max_tries
        # Attempts are remembered long after the code expires: a resend must not reset them.
        # Running out of tries also fails the registration in Postgres (service/registration.py),
        # so this counter expiring does not give the registration new tries.
        self._attempts_ttl = max(ttl_seconds * 10, 3600)

    def _code_key(self, registration_id: str) -> str:
        return f"{_PREFIX}:code:{registration_id}"

    def _attempts_key(self, registration_id: str) -> str:
        return f"{_PREFIX}:attempts:{registration_id}"

    async def put(self, registration_id: str, code: str) -> datetime:
        """Keeps ``code`` (replacing any earlier one); answers when it expires."""
        expires_at = self._clock.now() + timedelta(seconds=self.ttl_seconds)
        value = f"{epoch_ms(expires_at)}:{code_digest(registration_id, code)}"
        await self._redis.set(self._code_key(registration_id), value, ex=self.ttl_seconds)
        return expires_at

    async def _pending_digest(self, registration_id: str) -> str | None:
        """The digest of the registration's code while it is alive, else None."""
        value = await self._redis.get(self._code_key(registration_id))
        if value is None:
            return None
        expires, _, digest = str(value).rpartition(":")
        # A value without an expiry was written before it was stored; its TTL still ends it.
        if expires and int(expires) <= epoch_ms(self._clock.now()):
            return None
        return digest

    async def discard(self, registration_id: str) -> None:
        await self._redis.delete(self._code_key(registration_id))

    async def exhausted(self, registration_id: str) -> bool:
        attempts = await self._redis.get(self._attempts_key(registration_id))
        return attempts is not None and int(attempts) >= self.max_tries

    async def check(self, registration_id: str, code: str) -> Outcome:
        if await self.exhausted(registration_id):
            return Outcome(Check.EXHAUSTED)
        digest = await self._pending_digest(registration_id)
        if digest is None:
            return Outcome(Check.EXPIRED)
        # Counting before comparing keeps concurrent guesses from exceeding the limit.
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.incr(self._attempts_key(registration_id))
            pipe.expire(self._attempts_key(registration_id), self._attempts_ttl)
            attempts = int((await pipe.execute())[0])
        if attempts > self.max_tries:
            return Outcome(Check.EXHAUSTED)
        if code_matches(registration_id, code, digest):
            return Outcome(Check.MATCH)
        left = self.max_tries - attempts
        if left == 0:
            await self.discard(registration_id)
        return Outcome(Check.WRONG, tries_left=left)

    async def forget(self, registration_id: str) -> None:
        await self._redis.delete(
            self._code_key(registration_id), self._attempts_key(registration_id)
        )
