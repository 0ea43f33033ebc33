"""Sign-in routes: login, refresh (rotating), logout, the caller's account, the JWKS."""

from __future__ import annotations

import uuid
from typing import Any, Literal

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from sanad.identity.api.deps import CallerDep, IdentityDep, client_ip
from sanad.identity.api.rules import NATIONAL_ID_RULE
from sanad.identity.service import sessions
from sanad.identity.service.sessions import Tokens
from sanad.shared import national_id
from sanad.shared.auth import Role
from sanad.shared.openapi import problems

router = APIRouter(tags=["sessions"])


class LoginRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    national_id: str = Field(
        max_length=32,
        description=NATIONAL_ID_RULE,
        json_schema_extra={"pattern": national_id.PATTERN},
    )
    password: str = Field(max_length=1024)


class RefreshRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    refresh_token: str = Field(min_length=1, max_length=512)


class TokenPair(BaseModel):
    access_token: str
    token_type: Literal["Bearer"] = "Bearer"
    expires_in: int
    refresh_token: str
    refresh_expires_in: int
    role: Role

    @classmethod
    def of(cls, tokens: Tokens) -> TokenPair:
        return cls(
            access_token=tokens.access_token,
            expires_in=tokens.expires_in,
            refresh_token=tokens.refresh_token,
            refresh_expires_in=tokens.refresh_expires_in,
            role=tokens.role,
        )


class Me(BaseModel):
    id: uuid.UUID
    role: Role
    national_id: str
    full_name_ar: str | None
    full_name_en: str | None
    mobile: str | None
    email: str | None
    language: str


# 423: the account is locked after repeated failures (Retry-After).
@router.post("/v1/auth/login", response_model=TokenPair, responses=problems(401, 423, 429, 503))
async def login(body: LoginRequest, request: Request, identity: IdentityDep) -> TokenPair:
    address = client_ip(request, identity.settings.trusted_proxies)
    return TokenPair.of(
        await sessions.login(identity, body.national_id, body.password, client_ip=address)
    )


@router.post("/v1/auth/refresh", response_model=TokenPair, responses=problems(401))
async def refresh(body: RefreshRequest, identity: IdentityDep) -> TokenPair:
    return TokenPair.of(await sessions.refresh(identity, body.refresh_token))


@router.post("/v1/auth/logout", status_code=204)
async def logout(body: RefreshRequest, identity: IdentityDep) -> Response:
    """Revokes the refresh token's whole family; answers 204 whether or not it was known."""
    await sessions.logout(identity, body.refresh_token)
    return Response(status_code=204)


@router.get("/v1/auth/me", response_model=Me)
async def me(principal: CallerDep, identity: IdentityDep) -> Me:
    account = await sessions.account(identity, principal.subject)
    return Me(
        id=account["id"],
        role=Role(account["role"]),
        national_id=account["national_id"],
        full_name_ar=account["full_name_ar"],
        full_name_en=account["full_name_en"],
        mobile=account["mobile"],
        email=account["email"],
        language=account["language"],
    )


@router.get("/.well-known/jwks.json", tags=["keys"])
async def jwks(identity: IdentityDep) -> dict[str, Any]:
    return identity.signer.jwks()
