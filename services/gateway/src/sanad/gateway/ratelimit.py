"""Fixed-window rate limits counted in Redis, shared by every gateway replica."""

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


class RateLimiter:
    def __init__(self, redis: Redis, *, window_seconds: int) -> None:
        self._redis = redis
        self._size = window_seconds

    async def hit(self, scope: str, who: str, limit: int) -> None:
        """Count one request by ``who``; raise 429 (with Retry-After) past ``limit``."""
        window = window_for(scope, who, size=self._size, now=time.time())
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.incr(window.key)
                pipe.expire(window.key, self._size + 1, nx=True)
                count, _ = await pipe.execute()
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
        if int(count) > limit:
            raise too_many_requests(scope, window.seconds_left)
