"""Sign-in's use cases: log in (lockout, argon2), refresh (rotating tokens, reuse revokes the
family), log out, the caller's account."""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import RowMapping
from sqlalchemy.ext.asyncio import AsyncSession

from sanad.identity import repository
from sanad.identity.domain import refresh_tokens
from sanad.identity.domain.refresh_tokens import Refusal
from sanad.identity.passwords import Busy, Overloaded
from sanad.identity.runtime import Identity
from sanad.identity.service.registration import hashing_refused, too_many
from sanad.shared.auth import Role, unauthorized
from sanad.shared.logging import get_logger, security_event, subject_ref
from sanad.shared.national_id import validate_national_id
from sanad.shared.problems import Problem

log = get_logger(__name__)


class _Sampled:
    """Refusals of a flood are logged once per address and reason every ``every`` seconds,
    with how many were not logged since: one line per request would cost the flood's victims
    more than the refusal itself."""

    def __init__(self, every: float = 10.0) -> None:
        self._every = every
        self._last: dict[tuple[str, str], float] = {}
        self._skipped: Counter[tuple[str, str]] = Counter()

    def event(self, now: float, name: str, reason: str, client_ip: str) -> None:
        key = (reason, client_ip)
        if now - self._last.get(key, float("-inf")) < self._every:
            self._skipped[key] += 1
            return
        if len(self._last) > 10_000:
            self._last.clear()
        self._last[key] = now
        security_event(
            name, reason=reason, client_ip=client_ip, not_logged_since=self._skipped.pop(key, 0)
        )


_refusals = _Sampled()


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


async def login(identity: Identity, national_id: str, password: str, *, client_ip: str) -> Tokens:
    try:
        national_id = validate_national_id(national_id)
    except ValueError as exc:
        raise Problem.invalid(
            "body.national_id", f"The national ID {exc}.", "invalid_national_id"
        ) from None
    try:
        # A place among the bounded password hashes, before anything is counted: a flood from
        # one address holds at most a few places and is refused (429) beyond them; a full
        # queue is refused (503) rather than making everyone wait.
        async with identity.hashing.admitted(client_ip):
            return await _login(identity, national_id, password, client_ip)
    except (Busy, Overloaded) as exc:
        reason = "busy" if isinstance(exc, Busy) else "overloaded"
        _refusals.event(identity.clock.now().timestamp(), "login_refused", reason, client_ip)
        raise hashing_refused(exc) from None


async def _login(identity: Identity, national_id: str, password: str, client_ip: str) -> Tokens:
    guard = identity.login_guard
    ref = subject_ref(national_id)
    # Counted before verifying, per address and per ID: a burst cannot outrun either.
    if (wait := await guard.attempt_from(client_ip)) is not None:
        _refusals.event(identity.clock.now().timestamp(), "login_refused", "ip_failures", client_ip)
        raise too_many("Too many failed sign-ins from this address; try again later.", wait)
    if (wait := await guard.attempt(national_id)) is not None:
        security_event("account_locked", subject_ref=ref, client_ip=client_ip)
        raise locked(wait)
    async with identity.sessions() as session:
        account = await repository.account_by_national_id(session, national_id)
    password_hash = account["password_hash"] if account is not None else None
    # Always verified (against a dummy hash with the same parameters when no account has the
    # ID) before deciding, so an unknown ID costs the same argon2 time as a wrong password.
    verified = await identity.hashing.verify(password_hash, password)
    if account is None or not verified.matches:
        security_event("login_failed", subject_ref=ref, client_ip=client_ip)
        raise invalid_credentials()
    await guard.succeeded(national_id)
    await guard.succeeded_from(client_ip)
    role = Role(account["role"])
    new_hash = None
    if verified.needs_rehash:
        # The hashing parameters changed since this password was hashed: re-hash it now that
        # we hold it (a full queue just leaves it for the next sign-in).
        try:
            new_hash = await identity.hashing.hash(password)
        except Overloaded:
            new_hash = None
    async with identity.sessions() as session, session.begin():
        if new_hash is not None:
            await repository.set_password_hash(session, account["id"], new_hash)
        refresh = await _issue_refresh(identity, session, account["id"], uuid.uuid4())
    log.info("signed_in", account_id=str(account["id"]), role=role.value, rehashed=bool(new_hash))
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
            account_id = str(stored.account_id) if stored is not None else None
            security_event("refresh_token_reused", account_id=account_id)
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
