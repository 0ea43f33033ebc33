"""What the identity use cases run on: the shared runtime (database, Redis), identity's
settings, its token signer and the clock, and the Redis adapters built from them. No HTTP:
the routes reach it through ``api/deps.py``; tests build the app with a fake clock."""

from __future__ import annotations

from dataclasses import dataclass, field

from sanad.identity.adapters.login_guard import LoginGuard
from sanad.identity.adapters.otp_store import OtpStore
from sanad.identity.adapters.otp_throttle import OtpThrottle
from sanad.identity.passwords import Argon2Params, PasswordHashing
from sanad.identity.settings import IdentitySettings
from sanad.shared.app import Runtime
from sanad.shared.auth import TokenSigner
from sanad.shared.clock import Clock, SystemClock
from sanad.shared.db import SessionFactory


@dataclass(frozen=True)
class Identity:
    runtime: Runtime
    settings: IdentitySettings
    signer: TokenSigner
    clock: Clock = field(default_factory=SystemClock)
    hashing: PasswordHashing = field(default_factory=PasswordHashing)

    @classmethod
    def build(
        cls,
        runtime: Runtime,
        settings: IdentitySettings,
        signer: TokenSigner,
        clock: Clock | None = None,
    ) -> Identity:
        hashing = PasswordHashing(
            Argon2Params(
                memory_kib=settings.password_memory_kib,
                time_cost=settings.password_time_cost,
                parallelism=settings.password_parallelism,
            ),
            concurrency=settings.hash_concurrency or None,
            queue=None if settings.hash_queue < 0 else settings.hash_queue,
            per_client=settings.hash_per_client,
        )
        return cls(runtime, settings, signer, clock or SystemClock(), hashing)

    @property
    def sessions(self) -> SessionFactory:
        return self.runtime.require_sessions()

    @property
    def otps(self) -> OtpStore:
        return OtpStore(
            self.runtime.redis,
            self.clock,
            ttl_seconds=self.settings.otp_ttl_seconds,
            max_tries=self.settings.otp_max_tries,
        )

    @property
    def otp_throttle(self) -> OtpThrottle:
        return OtpThrottle(self.runtime.redis, self.settings, self.clock)

    @property
    def login_guard(self) -> LoginGuard:
        return LoginGuard(self.runtime.redis, self.settings, self.clock)
