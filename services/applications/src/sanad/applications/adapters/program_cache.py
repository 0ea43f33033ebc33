"""The public catalog cached in Redis: read-through, invalidated whenever a program changes.

Entries are filed under a catalog generation that every change increments (after its
commit). A reader takes the generation before it reads Postgres, so a reader that raced a
change files its stale copy under the old generation, which nobody reads again (it expires).
A Redis outage never fails a read: the catalog is then read from Postgres.
"""

from __future__ import annotations

from redis.asyncio import Redis
from redis.exceptions import RedisError

from sanad.shared.logging import get_logger

log = get_logger(__name__)
PREFIX = "applications:programs:"
GENERATION_KEY = PREFIX + "generation"


class ProgramCache:
    def __init__(self, redis: Redis, ttl_seconds: int) -> None:
        self.redis = redis
        self.ttl = ttl_seconds

    async def generation(self) -> str | None:
        try:
            value = await self.redis.get(GENERATION_KEY)
        except RedisError as exc:
            log.warning("program_cache_unavailable", error_type=type(exc).__name__)
            return None
        return "0" if value is None else str(value)

    @staticmethod
    def key(generation: str, name: str) -> str:
        return f"{PREFIX}{generation}:{name}"

    async def get(self, generation: str | None, name: str) -> str | None:
        if generation is None:
            return None
        try:
            value = await self.redis.get(self.key(generation, name))
        except RedisError as exc:
            log.warning("program_cache_unavailable", error_type=type(exc).__name__)
            return None
        return None if value is None else str(value)

    async def put(self, generation: str | None, name: str, value: str) -> None:
        if generation is None:
            return
        try:
            await self.redis.set(self.key(generation, name), value, ex=self.ttl)
        except RedisError as exc:
            log.warning("program_cache_unavailable", error_type=type(exc).__name__)

    async def invalidate(self) -> None:
        """Start a new generation. Should Redis be away, old entries expire within the TTL."""
        try:
            await self.redis.incr(GENERATION_KEY)
        except RedisError as exc:
            log.warning("program_cache_invalidation_failed", error_type=type(exc).__name__)
