"""Sign-in's use cases: log in (lockout, argon2), refresh (rotating tokens, reuse revokes the
family), log out, the caller's account."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import RowMapping
from sqlalchemy.ext.asyncio import AsyncSession

from sanad.identity import repository
from sanad.identity.domain import refresh_tokens
from sanad.identity.domain.refresh_tokens import Refusal
from sanad.identity.passwords import verify_password
from sanad.identity.runtime import Identity
from sanad.shared.auth import Role, unauthorized
from sanad.shared.logging import get_logger
from sanad.shared.national_id import validate_national_id
from sanad.shared.problems import Problem

log = get_logger(__name__)


@dataclass(frozen=True)
class Tokens:
    access_token: str
    expires_in: int
    refresh_token: str
    refresh_expires_in: int
    role: Role


def invalid_credentials() -> Problem:
    return Problem(
        status=401,
        title="Unauthorized",
        detail="The national ID or password is incorrect.",
        type="invalid-credentials",
        headers={"WWW-Authenticate": 'Bearer realm="sanad"'},
    )


def locked(retry_after: int) -> Problem:
    return Problem(
        status=423,
        title="Locked",
        detail="Too many failed sign-ins; try again later.",
        type="account-locked",
        headers={"Retry-After": str(max(retry_after, 1))},
        extra={"retry_after": max(retry_after, 1)},
    )


async def _issue_refresh(
    identity: Identity, session: AsyncSession, account_id: uuid.UUID, family_id: uuid.UUID
) -> str:
    token = refresh_tokens.new_token()
    ttl = identity.settings.refresh_token_ttl_seconds
    await repository.insert_refresh_token(
        session,
        token_hash=refresh_tokens.digest(token),
        account_id=account_id,
        family_id=family_id,
        expires_at=identity.clock.now() + timedelta(seconds=ttl),
    )
    return token


def _tokens(identity: Identity, account_id: uuid.UUID, role: Role, refresh: str) -> Tokens:
    settings = identity.settings
    access, _, _ = identity.signer.issue(str(account_id), role, settings.access_token_ttl_seconds)
    return Tokens(
        access_token=access,
        expires_in=settings.access_token_ttl_seconds,
        refresh_token=refresh,
        refresh_expires_in=settings.refresh_token_ttl_seconds,
        role=role,
    )


async def login(identity: Identity, national_id: str, password: str) -> Tokens:
    try:
        national_id = validate_national_id(national_id)
    except ValueError as exc:
        raise Problem.invalid(
            "body.national_id", f"The national ID {exc}.", "invalid_national_id"
        ) from None
    guard = identity.login_guard
    # Counted before verifying: a burst cannot outrun it.
    if (wait := await guard.attempt(national_id)) is not None:
        raise locked(wait)
    async with identity.sessions() as session:
        account = await repository.account_by_national_id(session, national_id)
    password_hash = account["password_hash"] if account is not None else None
    # Always verified (against a dummy hash when no account has the ID) before deciding, so an
    # unknown ID costs the same argon2 time as a wrong password.
    password_matches = await verify_password(password_hash, password)
    if account is None or not password_matches:
        raise invalid_credentials()
    await guard.succeeded(national_id)
    role = Role(account["role"])
    async with identity.sessions() as session, session.begin():
        refresh = await _issue_refresh(identity, session, account["id"], uuid.uuid4())
    log.info("signed_in", account_id=str(account["id"]), role=role.value)
    return _tokens(identity, account["id"], role, refresh)


async def refresh(identity: Identity, token: str) -> Tokens:
    """A new pair for ``token``, which is used up."""
    now = identity.clock.now()
    async with identity.sessions() as session, session.begin():
        stored = await repository.refresh_token_for_update(session, refresh_tokens.digest(token))
        refusal = refresh_tokens.refusal(stored, now)
        if stored is not None and refusal is Refusal.REUSED:
            await repository.revoke_family(session, stored.family_id, now)
        if stored is not None and refusal is None:
            await repository.mark_refresh_token_used(session, stored.token_hash, now)
            successor = await _issue_refresh(identity, session, stored.account_id, stored.family_id)
    # Committed even when refused: a reused token's family stays revoked.
    if stored is None or refusal is not None:
        if refusal is Refusal.REUSED:
            log.warning("refresh_token_reused")
        raise unauthorized((refusal or Refusal.UNKNOWN).value)
    return _tokens(identity, stored.account_id, Role(stored.role), successor)


async def logout(identity: Identity, token: str) -> None:
    """Revokes the refresh token's whole family, whether or not it was known."""
    async with identity.sessions() as session, session.begin():
        family = await repository.refresh_token_family(session, refresh_tokens.digest(token))
        if family is not None:
            await repository.revoke_family(session, family, identity.clock.now())


async def account(identity: Identity, subject: str) -> RowMapping:
    """The account an access token's subject names; 401 when there is none."""
    try:
        account_id = uuid.UUID(subject)
    except ValueError:
        raise unauthorized("The access token's subject is not an account.") from None
    async with identity.sessions() as session:
        found = await repository.account_by_id(session, account_id)
    if found is None:
        raise unauthorized("The access token's account no longer exists.")
    return found
