"""What the routes take from a request: the identity runtime, the caller's token, and the
caller's address."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from sanad.identity.runtime import Identity
from sanad.shared.app import runtime_of
from sanad.shared.auth import Principal, authenticate


async def identity_of(request: Request) -> Identity:
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
