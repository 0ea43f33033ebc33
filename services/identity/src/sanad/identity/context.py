"""What the routes share: the runtime's pieces typed for identity, and the caller's address."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from sanad.identity.otp_store import OtpStore
from sanad.identity.settings import IdentitySettings
from sanad.identity.throttles import LoginGuard, OtpThrottle
from sanad.shared.app import Runtime, runtime_of
from sanad.shared.auth import Principal, TokenSigner, authenticate
from sanad.shared.db import SessionFactory


@dataclass(frozen=True)
class Identity:
    runtime: Runtime
    settings: IdentitySettings
    signer: TokenSigner

    @property
    def sessions(self) -> SessionFactory:
        return self.runtime.require_sessions()

    @property
    def otps(self) -> OtpStore:
        return OtpStore(
            self.runtime.redis,
            ttl_seconds=self.settings.otp_ttl_seconds,
            max_tries=self.settings.otp_max_tries,
        )

    @property
    def otp_throttle(self) -> OtpThrottle:
        return OtpThrottle(self.runtime.redis, self.settings)

    @property
    def login_guard(self) -> LoginGuard:
        return LoginGuard(self.runtime.redis, self.settings)


def identity_of(request: Request) -> Identity:
    identity: Identity = request.app.state.identity
    assert identity.runtime is runtime_of(request)
    return identity


def client_ip(request: Request, trusted_proxies: tuple[str, ...]) -> str:
    """The caller's address: the peer, or, behind a trusted proxy (the gateway), the nearest
    untrusted address in X-Forwarded-For."""
    peer = request.client.host if request.client else "unknown"
    if peer not in trusted_proxies:
        return peer
    forwarded = [part.strip() for part in request.headers.get("x-forwarded-for", "").split(",")]
    for address in reversed([part for part in forwarded if part]):
        if address not in trusted_proxies:
            return address
    return peer


IdentityDep = Annotated[Identity, Depends(identity_of)]
CallerDep = Annotated[Principal, Depends(authenticate)]
