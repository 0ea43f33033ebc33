"""Limits on sending codes and starting registrations (Redis, on the injected clock): per
client address, per mobile (a cooldown and a window), per national ID (registry mismatches
and registrations started). Each claim answers None or the seconds to wait; turning that into
an answer is the use case's job."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from redis.asyncio import Redis

from sanad.identity.adapters.redis_limits import claim, key, refund, start_cooldown
from sanad.identity.settings import IdentitySettings
from sanad.shared.clock import Clock


@dataclass(frozen=True)
class SendRefused:
    """Why a code cannot be sent to a mobile now, and for how many seconds."""

    reason: Literal["cooldown", "window"]
    retry_after: int


class OtpThrottle:
    def __init__(self, redis: Redis, settings: IdentitySettings, clock: Clock) -> None:
        self._redis = redis
        self._s = settings
        self._clock = clock

    @property
    def sends_per_window(self) -> int:
        """The first code and ``otp_resend_limit`` resends."""
        return self._s.otp_resend_limit + 1

    async def claim_ip(self, client_ip: str) -> int | None:
        """One of the codes (registrations and resends) a client address may ask for."""
        return await claim(
            self._redis,
            key("otp-ip", client_ip),
            limit=self._s.otp_ip_limit,
            window=self._s.otp_ip_window_seconds,
            now=self._clock.now(),
        )

    async def claim_send(self, mobile: str) -> SendRefused | None:
        """Claims a code for ``mobile`` (by registering or resending): refused while the
        previous code's cooldown runs or when the window's codes are used up. Undo with
        ``release_send``."""
        now = self._clock.now()
        cooldown = self._s.otp_resend_cooldown_seconds
        if cooldown > 0:
            wait = await start_cooldown(
                self._redis, key("otp-cooldown", mobile), length=cooldown, now=now
            )
            if wait is not None:
                return SendRefused("cooldown", wait)
        wait = await claim(
            self._redis,
            key("otp-sends", mobile),
            limit=self.sends_per_window,
            window=self._s.otp_resend_window_seconds,
            now=now,
        )
        if wait is not None:
            await self._redis.delete(key("otp-cooldown", mobile))
            return SendRefused("window", wait)
        return None

    async def release_send(self, mobile: str) -> None:
        """Gives back a claimed send that did not happen."""
        await self._redis.delete(key("otp-cooldown", mobile))
        await refund(self._redis, key("otp-sends", mobile))

    async def claim_registry_check(self, national_id: str) -> int | None:
        """One of the ID's registry mismatches, claimed before the registry is looked at so
        parallel guesses cannot pass together; given back with ``release_registry_check``
        when the pair matches (only mismatches count)."""
        return await claim(
            self._redis,
            key("registry-mismatches", national_id),
            limit=self._s.registry_mismatch_limit,
            window=self._s.registry_mismatch_window_seconds,
            now=self._clock.now(),
        )

    async def release_registry_check(self, national_id: str) -> None:
        await refund(self._redis, key("registry-mismatches", national_id))

    async def claim_mobile_registry_check(self, mobile: str) -> int | None:
        """As ``claim_registry_check``, per mobile: one number tried against many IDs."""
        return await claim(
            self._redis,
            key("registry-mismatches-mobile", mobile),
            limit=self._s.registry_mismatch_mobile_limit,
            window=self._s.registry_mismatch_window_seconds,
            now=self._clock.now(),
        )

    async def release_mobile_registry_check(self, mobile: str) -> None:
        await refund(self._redis, key("registry-mismatches-mobile", mobile))

    async def claim_registration(self, national_id: str) -> int | None:
        """One of the registrations the ID may start in the window. Undo with
        ``release_registration``."""
        return await claim(
            self._redis,
            key("registrations", national_id),
            limit=self._s.registration_id_limit,
            window=self._s.registration_id_window_seconds,
            now=self._clock.now(),
        )

    async def release_registration(self, national_id: str) -> None:
        await refund(self._redis, key("registrations", national_id))
