"""The signed-in person's session: identity's tokens in HttpOnly cookies, never in a page
or a script, refreshed through identity's refresh token when the access token has expired.

* ``sanad_access`` — the access JWT (15 minutes), ``sanad_refresh`` — the rotating refresh
  token (14 days). Both ``HttpOnly``, ``SameSite=Strict``, ``Path=/``, and ``Secure`` when
  the page came over TLS (or ``SANAD_PORTAL_COOKIE_SECURE``).
* A call made with an expired (or missing) access token first trades the refresh token for
  a new pair; a ``401`` from the gateway does the same once and retries. A refused refresh
  (revoked, reused, expired) ends the session: the cookies are cleared.
* The role and expiry shown by the portal are read from the token's claims without
  checking its signature: they only choose which pages to show. Every call is checked by
  the gateway and the service it reaches.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import httpx
import jwt
from fastapi import Request
from starlette.responses import Response

from sanad.portal.gateway import Gateway

ACCESS_COOKIE = "sanad_access"
REFRESH_COOKIE = "sanad_refresh"
# Refresh this many seconds before the access token's expiry (clock skew, the call's time).
EXPIRY_MARGIN = 20


@dataclass
class Tokens:
    access: str
    access_ttl: int
    refresh: str
    refresh_ttl: int

    @classmethod
    def from_answer(cls, body: dict[str, Any]) -> Tokens:
        return cls(
            access=str(body["access_token"]),
            access_ttl=int(body.get("expires_in", 900)),
            refresh=str(body["refresh_token"]),
            refresh_ttl=int(body.get("refresh_expires_in", 1_209_600)),
        )


def claims_of(token: str | None) -> dict[str, Any]:
    if not token:
        return {}
    try:
        found: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return {}
    return found


def secure_cookies(request: Request, forced: bool) -> bool:
    return forced or request.url.scheme == "https"


def set_tokens(response: Response, tokens: Tokens, *, secure: bool) -> None:
    for name, value, ttl in (
        (ACCESS_COOKIE, tokens.access, tokens.refresh_ttl),
        (REFRESH_COOKIE, tokens.refresh, tokens.refresh_ttl),
    ):
        response.set_cookie(
            name, value, max_age=ttl, path="/", secure=secure, httponly=True, samesite="strict"
        )


def clear_tokens(response: Response, *, secure: bool) -> None:
    for name in (ACCESS_COOKIE, REFRESH_COOKIE):
        response.delete_cookie(name, path="/", secure=secure, httponly=True, samesite="strict")


class Session:
    """One request's view of the session; the cookie changes it needs are applied to the
    response by the portal's middleware (``request.state.new_tokens`` / ``end_session``)."""

    def __init__(self, request: Request, gateway: Gateway) -> None:
        self.request = request
        self.gateway = gateway
        self.access: str | None = request.cookies.get(ACCESS_COOKIE)
        self.refresh_token: str | None = request.cookies.get(REFRESH_COOKIE)
        self._refreshed = False

    @property
    def claims(self) -> dict[str, Any]:
        return claims_of(self.access)

    @property
    def signed_in(self) -> bool:
        return bool(self.access or self.refresh_token)

    @property
    def role(self) -> str | None:
        role = self.claims.get("role")
        return str(role) if role else None

    @property
    def subject(self) -> str | None:
        subject = self.claims.get("sub")
        return str(subject) if subject else None

    def _expired(self) -> bool:
        expiry = self.claims.get("exp")
        return not isinstance(expiry, int | float) or expiry - EXPIRY_MARGIN <= time.time()

    def start(self, tokens: Tokens) -> None:
        self.access, self.refresh_token = tokens.access, tokens.refresh
        self.request.state.new_tokens = tokens

    def end(self) -> None:
        self.access = self.refresh_token = None
        self.request.state.end_session = True

    async def refresh(self) -> bool:
        """Trade the refresh token for a new pair (once per request)."""
        if self._refreshed or not self.refresh_token:
            return False
        self._refreshed = True
        answer = await self.gateway.request(
            "POST", "/v1/auth/refresh", json={"refresh_token": self.refresh_token}
        )
        if answer.status_code != 200:
            self.end()
            return False
        self.start(Tokens.from_answer(answer.json()))
        return True

    async def ensure_fresh(self) -> None:
        """Refresh now if the access token is missing or about to expire (a page that is
        about to be drawn learns the role from a valid token)."""
        if self.refresh_token and (not self.access or self._expired()):
            await self.refresh()

    async def call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        await self.ensure_fresh()
        response = await self.gateway.request(method, path, token=self.access, **kwargs)
        if response.status_code == 401 and await self.refresh():
            response = await self.gateway.request(method, path, token=self.access, **kwargs)
        return response

    async def logout(self) -> None:
        """Revoke the refresh token's family at identity, then forget the cookies."""
        if self.refresh_token:
            await self.ensure_fresh()
            if self.access and self.refresh_token:
                await self.gateway.request(
                    "POST",
                    "/v1/auth/logout",
                    token=self.access,
                    json={"refresh_token": self.refresh_token},
                )
        self.end()
