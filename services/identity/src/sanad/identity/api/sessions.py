"""Sign-in and tokens: login, refresh (rotating), logout, the caller's account, the JWKS."""

from __future__ import annotations

import uuid
from typing import Any, Literal

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict, Field

from sanad.identity import accounts, tokens
from sanad.identity.context import CallerDep, Identity, IdentityDep
from sanad.identity.passwords import verify_password
from sanad.shared.auth import Role, unauthorized
from sanad.shared.logging import get_logger
from sanad.shared.national_id import validate_national_id
from sanad.shared.problems import Problem

router = APIRouter(tags=["sessions"])
log = get_logger(__name__)


class LoginRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    national_id: str = Field(max_length=32)
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


class Me(BaseModel):
    id: uuid.UUID
    role: Role
    national_id: str
    full_name_ar: str | None
    full_name_en: str | None
    mobile: str | None
    email: str | None
    language: str


async def _pair(identity: Identity, account_id: uuid.UUID, role: Role, refresh: str) -> TokenPair:
    settings = identity.settings
    access, _, _ = identity.signer.issue(str(account_id), role, settings.access_token_ttl_seconds)
    return TokenPair(
        access_token=access,
        expires_in=settings.access_token_ttl_seconds,
        refresh_token=refresh,
        refresh_expires_in=settings.refresh_token_ttl_seconds,
        role=role,
    )


@router.post("/v1/auth/login", response_model=TokenPair)
async def login(body: LoginRequest, identity: IdentityDep) -> TokenPair:
    try:
        national_id = validate_national_id(body.national_id)
    except ValueError as exc:
        raise Problem.invalid(
            "body.national_id", f"The national ID {exc}.", "invalid_national_id"
        ) from None
    guard = identity.login_guard
    await guard.attempt(national_id)  # counted before verifying: a burst cannot outrun it
    async with identity.sessions() as session:
        account = await accounts.by_national_id(session, national_id)
    password_hash = account["password_hash"] if account is not None else None
    # Always verified (against a dummy hash when no account has the ID) before deciding, so an
    # unknown ID costs the same argon2 time as a wrong password.
    password_matches = await verify_password(password_hash, body.password)
    if account is None or not password_matches:
        raise Problem(
            status=401,
            title="Unauthorized",
            detail="The national ID or password is incorrect.",
            type="invalid-credentials",
            headers={"WWW-Authenticate": 'Bearer realm="sanad"'},
        )
    await guard.succeeded(national_id)
    role = Role(account["role"])
    async with identity.sessions() as session, session.begin():
        refresh = await tokens.issue(
            session, account["id"], uuid.uuid4(), identity.settings.refresh_token_ttl_seconds
        )
    log.info("signed_in", account_id=str(account["id"]), role=role.value)
    return await _pair(identity, account["id"], role, refresh)


@router.post("/v1/auth/refresh", response_model=TokenPair)
async def refresh(body: RefreshRequest, identity: IdentityDep) -> TokenPair:
    async with identity.sessions() as session, session.begin():
        rotation = await tokens.consume(session, body.refresh_token)
        if isinstance(rotation, tokens.Rotation):
            successor = await tokens.issue(
                session,
                rotation.account_id,
                rotation.family_id,
                identity.settings.refresh_token_ttl_seconds,
            )
    # Committed even when refused: a reused token's family stays revoked.
    if isinstance(rotation, tokens.Refusal):
        if rotation is tokens.Refusal.REUSED:
            log.warning("refresh_token_reused")
        raise unauthorized(rotation.value)
    return await _pair(identity, rotation.account_id, Role(rotation.role), successor)


@router.post("/v1/auth/logout", status_code=204)
async def logout(body: RefreshRequest, identity: IdentityDep) -> Response:
    """Revokes the refresh token's whole family; answers 204 whether or not it was known."""
    async with identity.sessions() as session, session.begin():
        family = await tokens.family_of(session, body.refresh_token)
        if family is not None:
            await tokens.revoke_family(session, family)
    return Response(status_code=204)


@router.get("/v1/auth/me", response_model=Me)
async def me(principal: CallerDep, identity: IdentityDep) -> Me:
    try:
        account_id = uuid.UUID(principal.subject)
    except ValueError:
        raise unauthorized("The access token's subject is not an account.") from None
    async with identity.sessions() as session:
        account = await accounts.by_id(session, account_id)
    if account is None:
        raise unauthorized("The access token's account no longer exists.")
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
