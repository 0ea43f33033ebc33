"""Counters, cooldowns and locks in Redis, measured on the injected clock.

Every claim is one Lua script (read, compare, count), so a burst of parallel requests cannot
all pass a check made before any of them is counted. Times are compared in the scripts
against the ``now`` the caller passes (epoch milliseconds from its ``Clock``), not against
Redis's own TTLs: tests move a fake clock instead of sleeping. Each key still gets a Redis TTL
as long as its window, only so that Redis collects it; with the real clock both end together.

Keys carry digests, not national IDs or mobiles, so Redis holds no personal data in clear.
"""

from __future__ import annotations

import hashlib
import math
from datetime import datetime
from typing import Any, cast

from redis.asyncio import Redis

from sanad.shared.clock import epoch_ms

# Renamed from ``identity:<name>:…`` when windows moved onto the injected clock (the values
# changed shape), so keys left by the previous code cannot clash with these.
PREFIX = "identity:limit"

# KEYS[1] a window: hash {n, ends}; ARGV[1] the limit, ARGV[2] the window (ms), ARGV[3] now (ms).
# Counts one more unless that would go over the limit; answers {claimed (1|0), ms left}.
_CLAIM = """
local now = tonumber(ARGV[3])
local ends = tonumber(redis.call('HGET', KEYS[1], 'ends') or '0')
if ends <= now then
    ends = now + tonumber(ARGV[2])
    redis.call('HSET', KEYS[1], 'n', 0, 'ends', ends)
    redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
if redis.call('HINCRBY', KEYS[1], 'n', 1) > tonumber(ARGV[1]) then
    redis.call('HINCRBY', KEYS[1], 'n', -1)
    return {0, ends - now}
end
return {1, ends - now}
"""

# KEYS[1] a window: gives one claim back (never below zero, never creating the key).
_REFUND = """
if redis.call('EXISTS', KEYS[1]) == 1 then
    if redis.call('HINCRBY', KEYS[1], 'n', -1) <= 0 then redis.call('DEL', KEYS[1]) end
end
return 0
"""

# KEYS[1] a cooldown (the time it ends, ms); ARGV[1] its length (ms), ARGV[2] now (ms).
# Starts it unless one is running; answers {started (1|0), ms left of the running one}.
_COOLDOWN = """
local now = tonumber(ARGV[2])
local ends = tonumber(redis.call('GET', KEYS[1]) or '0')
if ends > now then return {0, ends - now} end
redis.call('SET', KEYS[1], now + tonumber(ARGV[1]), 'PX', ARGV[1])
return {1, 0}
"""

# KEYS[1] the attempts (a window), KEYS[2] the lock (the time it ends, ms); ARGV[1] the limit,
# ARGV[2] the window (ms), ARGV[3] the lockout (ms), ARGV[4] now (ms).
# Answers {0, ms left of the lock} when locked (now or already), else {1, attempts counted}.
_LOCKING_ATTEMPT = """
local now = tonumber(ARGV[4])
local locked_until = tonumber(redis.call('GET', KEYS[2]) or '0')
if locked_until > now then return {0, locked_until - now} end
local ends = tonumber(redis.call('HGET', KEYS[1], 'ends') or '0')
if ends <= now then
    redis.call('HSET', KEYS[1], 'n', 0, 'ends', now + tonumber(ARGV[2]))
    redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
local count = redis.call('HINCRBY', KEYS[1], 'n', 1)
if count > tonumber(ARGV[1]) then
    redis.call('SET', KEYS[2], now + tonumber(ARGV[3]), 'PX', ARGV[3])
    redis.call('DEL', KEYS[1])
    return {0, tonumber(ARGV[3])}
end
return {1, count}
"""

# KEYS[1] the attempts, KEYS[2] the lock; ARGV[1] now (ms): clears the attempts unless the lock
# runs (then the lock stands).
_CLEAR_UNLESS_LOCKED = """
if tonumber(redis.call('GET', KEYS[2]) or '0') <= tonumber(ARGV[1]) then
    redis.call('DEL', KEYS[1])
end
return 0
"""


def key(name: str, value: str) -> str:
    return f"{PREFIX}:{name}:{hashlib.sha256(value.encode()).hexdigest()[:32]}"


def seconds(ms: int) -> int:
    """A Retry-After: whole seconds, rounded up, at least 1."""
    return max(math.ceil(ms / 1000), 1)


async def _script(redis: Redis, script: str, keys: list[str], *args: int) -> list[int]:
    answer = await cast(Any, redis.eval(script, len(keys), *keys, *args))
    return [int(value) for value in answer] if isinstance(answer, list) else [int(answer)]


async def claim(redis: Redis, key: str, *, limit: int, window: int, now: datetime) -> int | None:
    """Counts one claim on ``key`` if fewer than ``limit`` are held in the window (seconds):
    None when claimed, else the seconds until the window ends (nothing is counted then)."""
    claimed, left = await _script(redis, _CLAIM, [key], limit, window * 1000, epoch_ms(now))
    return None if claimed else seconds(left)


async def refund(redis: Redis, key: str) -> None:
    await _script(redis, _REFUND, [key])


async def start_cooldown(redis: Redis, key: str, *, length: int, now: datetime) -> int | None:
    """Starts a cooldown of ``length`` seconds: None when started, else the seconds left of the
    one running."""
    started, left = await _script(redis, _COOLDOWN, [key], length * 1000, epoch_ms(now))
    return None if started else seconds(left)


async def locking_attempt(
    redis: Redis,
    attempts_key: str,
    lock_key: str,
    *,
    limit: int,
    window: int,
    lockout: int,
    now: datetime,
) -> int | None:
    """Counts an attempt: None when allowed, else the seconds left of the lock (which this
    attempt set when it was over the limit)."""
    allowed, value = await _script(
        redis,
        _LOCKING_ATTEMPT,
        [attempts_key, lock_key],
        limit,
        window * 1000,
        lockout * 1000,
        epoch_ms(now),
    )
    return None if allowed else seconds(value)


async def clear_unless_locked(
    redis: Redis, attempts_key: str, lock_key: str, *, now: datetime
) -> None:
    await _script(redis, _CLEAR_UNLESS_LOCKED, [attempts_key, lock_key], epoch_ms(now))
