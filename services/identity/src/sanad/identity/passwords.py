"""Password hashing with argon2id, bounded so that a flood cannot starve the service.

Parameters (chosen deliberately, OWASP Password Storage Cheat Sheet): argon2id, 19 MiB of
memory, 2 passes, 1 lane — OWASP's second listed configuration, equivalent in cost to its
46 MiB/t=1 one. One lane because the service runs several hashes at once on few cores: with 4
lanes (the previous 64 MiB, t=3, p=4) one hash took ~0.13 s of both cores and registrations
topped out near 6 a second; one lane per hash lets as many hashes run as there are cores.
Hashes made with other parameters still verify, and are re-hashed on the next good sign-in.

Every hash and verification runs in a thread and holds one of ``concurrency`` slots (the
number of cores). At most ``queue`` more wait for a slot; beyond that the caller is refused at
once (``Overloaded`` → 503 with Retry-After) rather than queueing without bound; a sign-in
holds its place from admission to its answer, so its Redis and database calls are bounded
too. A client address may have at most ``per_client`` places (``Busy`` → 429), so one
address's burst cannot take every place in the queue.
"""

from __future__ import annotations

import asyncio
import os
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TypeVar

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

T = TypeVar("T")


@dataclass(frozen=True)
class Argon2Params:
    memory_kib: int = 19 * 1024
    time_cost: int = 2
    parallelism: int = 1

    def hasher(self) -> PasswordHasher:
        return PasswordHasher(
            time_cost=self.time_cost,
            memory_cost=self.memory_kib,
            parallelism=self.parallelism,
            type=Type.ID,
        )


class Overloaded(Exception):
    """Every slot and queue place is taken: try again after ``retry_after`` seconds."""

    def __init__(self, retry_after: int = 1) -> None:
        super().__init__("password hashing is at capacity")
        self.retry_after = retry_after


class Busy(Exception):
    """This client address has as many hashes waiting or running as it may."""

    def __init__(self, retry_after: int = 1) -> None:
        super().__init__("too many sign-ins in progress from this address")
        self.retry_after = retry_after


@dataclass(frozen=True)
class Verified:
    matches: bool
    needs_rehash: bool = False


class PasswordHashing:
    def __init__(
        self,
        params: Argon2Params | None = None,
        *,
        concurrency: int | None = None,
        queue: int | None = None,
        per_client: int = 2,
    ) -> None:
        self.params = params or Argon2Params()
        self._hasher = self.params.hasher()
        # Verified against when the account does not exist, so both take the same time.
        self._dummy = self._hasher.hash("no account has this password")
        self.concurrency = max(1, concurrency or os.cpu_count() or 1)
        self.queue = self.concurrency * 4 if queue is None else max(0, queue)
        self.per_client = max(1, per_client)
        self._slots = asyncio.Semaphore(self.concurrency)
        self._running = 0
        self._waiting = 0
        self._admitted = 0
        self._by_client: Counter[str] = Counter()

    @property
    def load(self) -> tuple[int, int]:
        """(running, waiting) now."""
        return self._running, self._waiting

    @asynccontextmanager
    async def admitted(self, client: str) -> AsyncIterator[None]:
        """A place for ``client``'s work (hashes inside run one at a time); ``Busy`` when the
        client has ``per_client`` places already, ``Overloaded`` when the queue is full."""
        if self._by_client[client] >= self.per_client:
            raise Busy()
        # Counted from admission (not only while hashing), so that at most this many
        # sign-ins are in progress at all: their Redis and database calls are bounded too.
        if self._admitted >= self.concurrency + self.queue:
            raise Overloaded()
        self._by_client[client] += 1
        self._admitted += 1
        try:
            yield
        finally:
            self._admitted -= 1
            self._by_client[client] -= 1
            if self._by_client[client] <= 0:
                del self._by_client[client]

    async def _run(self, work: Callable[..., T], *args: object) -> T:
        if self._slots.locked() and self._waiting >= self.queue:
            raise Overloaded()
        self._waiting += 1
        try:
            await self._slots.acquire()
        finally:
            self._waiting -= 1
        self._running += 1
        try:
            return await asyncio.to_thread(work, *args)
        finally:
            self._running -= 1
            self._slots.release()

    async def hash(self, password: str) -> str:
        return await self._run(self._hasher.hash, password)

    def _verify(self, password_hash: str | None, password: str) -> Verified:
        try:
            ok = self._hasher.verify(password_hash or self._dummy, password)
        except (VerificationError, InvalidHashError):
            return Verified(False)
        if password_hash is None or not ok:
            return Verified(False)
        return Verified(True, self._hasher.check_needs_rehash(password_hash))

    async def verify(self, password_hash: str | None, password: str) -> Verified:
        """Whether ``password`` matches (and whether its hash has other parameters); with no
        hash, spends the same time and answers no."""
        return await self._run(self._verify, password_hash, password)


# For callers outside the service (the CLI's staff accounts): the same parameters, unbounded.
_default = Argon2Params().hasher()


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(_default.hash, password)
