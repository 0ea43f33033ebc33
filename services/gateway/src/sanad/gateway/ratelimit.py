"""Fixed-window rate limits counted in Redis, shared by every gateway replica.

Every counter a request touches (its address's, then its user's) is counted by one Lua
script: one Redis round trip per request, stopping at the first limit exceeded (so a request
refused for its address does not count against its user either)."""

from __future__ import annotations

import time
from dataclasses import dataclass

from redis.asyncio import Redis
from redis.exceptions import RedisError

from sanad.shared.logging import get_logger
from sanad.shared.problems import Problem

log = get_logger(__name__)
KEY_PREFIX = "gateway:ratelimit"


@dataclass(frozen=True)
class Window:
    """One counting window: its Redis key and the seconds until it ends."""

    key: str
    seconds_left: int


def window_for(scope: str, who: str, *, size: int, now: float) -> Window:
    start = int(now // size) * size
    return Window(f"{KEY_PREFIX}:{scope}:{who}:{start}", max(1, start + size - int(now)))


def too_many_requests(scope: str, retry_after: int) -> Problem:
    return Problem(
        status=429,
        title="Too Many Requests",
        detail=f"Too many requests from this {scope}; retry in {retry_after} s.",
        type="rate-limited",
        headers={"Retry-After": str(retry_after)},
    )


# KEYS: the windows' keys; ARGV[1]: their time to live; ARGV[2..]: each key's limit.
# Returns the 1-based index of the first key past its limit, or 0.
_COUNT = """
for i, key in ipairs(KEYS) do
  local count = redis.call('INCR', key)
  if count == 1 then redis.call('EXPIRE', key, ARGV[1]) end
  if count > tonumber(ARGV[i + 1]) then return i end
end
return 0
"""

# (scope, who, limit): e.g. ("ip", "203.0.113.7", 600).
Hit = tuple[str, str, int]


class RateLimiter:
    def __init__(self, redis: Redis, *, window_seconds: int) -> None:
        self._redis = redis
        self._size = window_seconds
        self._count = redis.register_script(_COUNT)

    async def hit(self, scope: str, who: str, limit: int) -> None:
        """Count one request by ``who``; raise 429 (with Retry-After) past ``limit``."""
        await self.hit_all([(scope, who, limit)])

    async def hit_all(self, hits: list[Hit]) -> None:
        """Count one request against each of ``hits`` in order, in one round trip; raise 429
        (with Retry-After) for the first past its limit (later ones are then not counted)."""
        now = time.time()
        windows = [window_for(scope, who, size=self._size, now=now) for scope, who, _ in hits]
        try:
            exceeded = await self._count(
                keys=[w.key for w in windows],
                args=[self._size + 1, *(limit for _, _, limit in hits)],
            )
        except RedisError as exc:
            # Fail closed: without counting, limits would silently vanish.
            log.warning("rate_limiter_unavailable", error_type=type(exc).__name__)
            raise Problem(
                503,
                "Service Unavailable",
                "The rate limiter is unavailable; try again shortly.",
                "rate-limiter-unavailable",
                headers={"Retry-After": "5"},
            ) from None
        if int(exceeded):
            index = int(exceeded) - 1
            raise too_many_requests(hits[index][0], windows[index].seconds_left)
