"""Access tokens: identity signs them (Ed25519, ``EdDSA``); every service verifies them
offline against identity's JWKS, and checks roles and ownership itself (defence in depth).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import time
import uuid
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import httpx
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import Request

from sanad.shared.logging import security_event
from sanad.shared.problems import Problem

ALGORITHM = "EdDSA"
ISSUER = "sanad-identity"
AUDIENCE = "sanad"


class Role(StrEnum):
    CITIZEN = "citizen"
    CASEWORKER = "caseworker"
    AUDITOR = "auditor"
    ADMIN = "admin"


STAFF = frozenset({Role.CASEWORKER, Role.AUDITOR, Role.ADMIN})


@dataclass(frozen=True)
class Principal:
    subject: str  # the citizen id, or a staff account id
    role: Role
    token_id: str

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def generate_signing_key() -> str:
    """A new Ed25519 private key, base64url of its raw 32 bytes."""
    key = Ed25519PrivateKey.generate()
    return _b64(
        key.private_bytes(
            serialization.Encoding.Raw,
            serialization.PrivateFormat.Raw,
            serialization.NoEncryption(),
        )
    )


class TokenSigner:
    """Issues access tokens and publishes the matching JWKS (identity's side)."""

    def __init__(self, private_key: str, *, issuer: str = ISSUER, audience: str = AUDIENCE) -> None:
        self._key = Ed25519PrivateKey.from_private_bytes(_unb64(private_key))
        public = self._key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        self._x = _b64(public)
        self.kid = _b64(public[:9])  # stable for the key, changes when the key rotates
        self.issuer = issuer
        self.audience = audience

    def issue(self, subject: str, role: Role, ttl_seconds: int) -> tuple[str, str, int]:
        """(token, jti, expiry as a Unix time)."""
        now = int(time.time())
        jti = str(uuid.uuid4())
        claims = {
            "sub": subject,
            "role": role.value,
            "jti": jti,
            "iat": now,
            "nbf": now,
            "exp": now + ttl_seconds,
            "iss": self.issuer,
            "aud": self.audience,
        }
        token = jwt.encode(claims, self._key, algorithm=ALGORITHM, headers={"kid": self.kid})
        return token, jti, now + ttl_seconds

    def jwks(self) -> dict[str, Any]:
        return {
            "keys": [
                {
                    "kty": "OKP",
                    "crv": "Ed25519",
                    "x": self._x,
                    "kid": self.kid,
                    "use": "sig",
                    "alg": ALGORITHM,
                }
            ]
        }


def unauthorized(detail: str) -> Problem:
    return Problem(
        status=401,
        title="Unauthorized",
        detail=detail,
        type="unauthorized",
        headers={"WWW-Authenticate": 'Bearer realm="sanad"'},
    )


def forbidden(detail: str = "You may not access this resource.") -> Problem:
    security_event("forbidden", detail=detail)
    return Problem(status=403, title="Forbidden", detail=detail, type="forbidden")


class VerifiedTokens:
    """Tokens already verified, by the SHA-256 of the token, each kept until its ``exp``.

    A front end sends the same token with every request for its whole life: checking the
    Ed25519 signature once instead of each time is most of a cheap read's CPU. Bounded: past
    ``max_entries`` the oldest entries go first (an evicted token is simply verified again).
    """

    def __init__(self, max_entries: int = 10_000) -> None:
        self._max = max_entries
        self._entries: dict[bytes, tuple[Principal, float]] = {}

    @staticmethod
    def key(token: str) -> bytes:
        return hashlib.sha256(token.encode()).digest()

    def get(self, key: bytes, now: float) -> Principal | None:
        found = self._entries.get(key)
        if found is None:
            return None
        principal, expires_at = found
        if expires_at <= now:  # PyJWT's rule: expired once now reaches exp
            del self._entries[key]
            return None
        return principal

    def put(self, key: bytes, principal: Principal, expires_at: float) -> None:
        if len(self._entries) >= self._max:
            # Dicts keep insertion order: drop the oldest tenth in one go.
            for old in list(self._entries)[: max(1, self._max // 10)]:
                del self._entries[old]
        self._entries[key] = (principal, expires_at)

    def __len__(self) -> int:
        return len(self._entries)


class JwksVerifier:
    """Verifies tokens against a JWKS fetched from identity, refetched on an unknown ``kid``.
    A token that verified is remembered (by its hash) until it expires: see ``VerifiedTokens``."""

    REFRESH_AT_MOST_EVERY = 10.0

    def __init__(
        self,
        jwks_url: str | None = None,
        *,
        jwks: dict[str, Any] | None = None,
        issuer: str = ISSUER,
        audience: str = AUDIENCE,
    ) -> None:
        self._url = jwks_url
        self._keys: dict[str, Any] = {}
        self._fetched_at = 0.0
        self._lock = asyncio.Lock()
        self.issuer = issuer
        self.audience = audience
        self.verified = VerifiedTokens()
        if jwks is not None:
            self._load(jwks)

    def _load(self, jwks: dict[str, Any]) -> None:
        self._keys = {
            key["kid"]: jwt.PyJWK.from_dict(key).key
            for key in jwks.get("keys", [])
            if key.get("kid") and key.get("alg", ALGORITHM) == ALGORITHM
        }

    async def _key_for(self, kid: str) -> Any:
        if kid in self._keys or self._url is None:
            return self._keys.get(kid)
        async with self._lock:
            if (
                kid not in self._keys
                and time.monotonic() - self._fetched_at > self.REFRESH_AT_MOST_EVERY
            ):
                try:
                    async with httpx.AsyncClient(timeout=3.0) as client:
                        response = await client.get(self._url)
                        response.raise_for_status()
                    self._load(response.json())
                finally:
                    self._fetched_at = time.monotonic()
        return self._keys.get(kid)

    async def verify(self, token: str) -> Principal:
        cache_key = VerifiedTokens.key(token)
        known = self.verified.get(cache_key, time.time())
        if known is not None:
            return known
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise unauthorized("The access token is malformed.") from None
        if header.get("alg") != ALGORITHM:
            raise unauthorized("The access token's algorithm is not accepted.")
        try:
            key = await self._key_for(str(header.get("kid", "")))
        except httpx.HTTPError:
            raise Problem(
                503, "Service Unavailable", "Token keys are unavailable.", "jwks-unavailable"
            ) from None
        if key is None:
            raise unauthorized("The access token was not signed by a known key.")
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=[ALGORITHM],
                audience=self.audience,
                issuer=self.issuer,
                options={"require": ["exp", "sub", "jti", "iat"]},
            )
            role = Role(str(claims.get("role")))
        except jwt.ExpiredSignatureError:
            raise unauthorized("The access token has expired.") from None
        except (jwt.PyJWTError, ValueError):
            raise unauthorized("The access token is invalid.") from None
        principal = Principal(subject=str(claims["sub"]), role=role, token_id=str(claims["jti"]))
        self.verified.put(cache_key, principal, float(claims["exp"]))
        return principal


def bearer_token(request: Request) -> str:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise unauthorized("An access token is required (Authorization: Bearer <token>).")
    return token.strip()


async def authenticate(request: Request) -> Principal:
    """FastAPI dependency: the verified caller. Uses ``app.state.runtime.verifier``."""
    verifier: JwksVerifier = request.app.state.runtime.verifier
    principal = await verifier.verify(bearer_token(request))
    request.state.principal = principal
    return principal


def require_role(principal: Principal, *roles: Role) -> None:
    if principal.role not in roles:
        raise forbidden()


def require_self_or_staff(principal: Principal, owner_id: str, *staff: Role) -> None:
    """Object-level check: citizens reach only their own data; listed staff roles any."""
    if principal.subject == owner_id and principal.role is Role.CITIZEN:
        return
    if principal.role in staff:
        return
    raise forbidden()
