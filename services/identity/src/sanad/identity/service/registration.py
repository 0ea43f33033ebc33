"""Registration's use cases: register (civil-registry match of ID, birth date and mobile,
then an SMS code), resend the code, verify it (the account and CitizenRegistered with the
family register, national IDs only as pseudonyms).

Registering answers alike whether or not the ID has an account: when it has one (and the
details match), a registration is recorded as usual but its code is never sent; the account's
holder gets an SMS that someone tried (``RegistrationAttempted``) instead.

Every limit is claimed in Redis before the work it guards and given back when the work does
not happen. Each use case's Postgres writes and its event commit in one transaction; the reads
before it run in their own sessions, so no connection is held while Redis or argon2 work.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import RowMapping
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from sanad.identity import repository
from sanad.identity.adapters.civil_registry import TableCivilRegistry
from sanad.identity.adapters.otp_store import Check
from sanad.identity.adapters.otp_throttle import SendRefused
from sanad.identity.domain.otp import is_well_formed, new_code
from sanad.identity.domain.registration import check_registration
from sanad.identity.domain.registry import CivilRecord, FamilyMember
from sanad.identity.passwords import Busy, Overloaded
from sanad.identity.runtime import Identity
from sanad.shared import outbox
from sanad.shared.auth import Role
from sanad.shared.crypto import seal
from sanad.shared.events import (
    CitizenRegisteredV4,
    OtpRequested,
    RegistrationAttempted,
    RelativeRef,
)
from sanad.shared.logging import get_logger, security_event, subject_ref
from sanad.shared.problems import FieldError, Problem
from sanad.shared.pseudonym import Pseudonyms

log = get_logger(__name__)


@dataclass(frozen=True)
class OtpSent:
    registration_id: uuid.UUID
    expires_at: datetime
    ttl_seconds: int


def already_registered(field: str = "body.registration_id") -> Problem:
    # Only at verify, when the account was created meanwhile (registering never says it).
    message = "An account is already registered with this national ID; sign in instead."
    return Problem(
        status=409,
        title="Already registered",
        detail=message,
        type="already-registered",
        errors=[FieldError(field, message, "already_registered")],
    )


def no_pending_registration() -> Problem:
    message = "No pending registration has this id; register again."
    return Problem(
        status=404,
        title="Registration not found",
        detail=message,
        type="registration-not-found",
        errors=[FieldError("body.registration_id", message, "not_found")],
    )


def tries_exhausted(max_tries: int) -> Problem:
    message = f"{max_tries} wrong codes were entered; start the registration again."
    return Problem(
        status=409,
        title="Too many wrong codes",
        detail=message,
        type="otp-tries-exhausted",
        errors=[FieldError("body.code", message, "otp_tries_exhausted")],
    )


def registry_mismatch() -> Problem:
    """The one answer for every mismatch: unknown ID, another birth date, a mobile not
    registered to the ID."""
    message = (
        "The national ID, date of birth and mobile do not match a civil-registry record "
        "(the mobile must be registered to the ID holder)."
    )
    return Problem(
        status=422,
        title="Invalid request",
        detail=message,
        type="validation-error",
        errors=[
            FieldError(field, message, "registry_mismatch")
            for field in ("body.national_id", "body.date_of_birth", "body.mobile")
        ],
    )


def hashing_refused(exc: Busy | Overloaded) -> Problem:
    if isinstance(exc, Busy):
        return Problem(
            status=429,
            title="Too Many Requests",
            detail="Too many requests in progress from this address; try again shortly.",
            type="rate-limited",
            headers={"Retry-After": str(exc.retry_after)},
            extra={"retry_after": exc.retry_after},
        )
    return Problem(
        status=503,
        title="Service Unavailable",
        detail="The service is busy; try again shortly.",
        type="overloaded",
        headers={"Retry-After": str(exc.retry_after)},
        extra={"retry_after": exc.retry_after},
    )


def too_many(detail: str, retry_after: int, field: str | None = None) -> Problem:
    return Problem(
        status=429,
        title="Too Many Requests",
        detail=detail,
        type="rate-limited",
        errors=[FieldError(field, detail, "rate_limited")] if field else [],
        headers={"Retry-After": str(max(retry_after, 1))},
        extra={"retry_after": max(retry_after, 1)},
    )


async def _claim_ip(identity: Identity, client_ip: str) -> None:
    wait = await identity.otp_throttle.claim_ip(client_ip)
    if wait is not None:
        raise too_many("Too many verification codes requested from this address.", wait)


async def _claim_send(identity: Identity, mobile: str, field: str) -> None:
    """Claims a code for ``mobile``; 429 naming ``field`` when refused."""
    throttle = identity.otp_throttle
    refused: SendRefused | None = await throttle.claim_send(mobile)
    if refused is None:
        return
    if refused.reason == "cooldown":
        message = "Wait before asking for another code for this mobile."
    else:
        window = identity.settings.otp_resend_window_seconds
        message = (
            f"A code can be sent to a mobile at most {throttle.sends_per_window} times in "
            f"{window // 60} minutes (the first and {identity.settings.otp_resend_limit} resends)."
        )
    raise too_many(message, refused.retry_after, field=field)


async def _new_otp(
    identity: Identity, registration_id: uuid.UUID, mobile: str, language: str
) -> OtpRequested:
    """A new code, kept in Redis, and its event sealed for notifications (not yet queued)."""
    code = new_code()
    expires_at = await identity.otps.put(str(registration_id), code)
    return OtpRequested(
        registration_id=registration_id,
        mobile=mobile,
        language="en" if language == "en" else "ar",
        encrypted_code=seal(identity.settings.otp_public_key, code.encode()),
        expires_at=expires_at,
    )


async def _open_registration(identity: Identity, registration_id: uuid.UUID) -> RowMapping:
    """The pending registration; 409 when it failed (out of code tries), else 404."""
    async with identity.sessions() as session:
        row = await repository.registration(session, registration_id)
    if row is not None and row["status"] == "failed":
        raise tries_exhausted(identity.settings.otp_max_tries)
    if row is None or row["status"] != "pending":
        raise no_pending_registration()
    return row


async def _fail_registration(identity: Identity, registration_id: uuid.UUID) -> None:
    """Out of code tries: the registration ends for good (in Postgres, which outlives the
    tries counter in Redis); registering again is the way out."""
    async with identity.sessions() as session, session.begin():
        await repository.fail_registration(session, registration_id)
    await identity.otps.discard(str(registration_id))
    log.info("registration_failed", registration_id=str(registration_id))


async def register(
    identity: Identity,
    *,
    national_id: str,
    date_of_birth: date,
    mobile: str,
    password: str,
    email: str | None,
    language: str,
    client_ip: str,
) -> OtpSent:
    checked = check_registration(
        national_id=national_id,
        date_of_birth=date_of_birth,
        mobile=mobile,
        password=password,
        email=email,
        language=language,
        today=identity.clock.now().date(),
    )
    if isinstance(checked, list):
        raise Problem(
            status=422,
            title="Invalid request",
            detail="; ".join(f"{e.field}: {e.message}" for e in checked),
            type="validation-error",
            errors=checked,
        )
    throttle = identity.otp_throttle
    national_id, mobile = checked.national_id, checked.mobile
    ref = subject_ref(national_id)
    try:
        await _claim_ip(identity, client_ip)
    except Problem:
        security_event("registration_refused", reason="ip_limit", client_ip=client_ip)
        raise
    await _match_registry(identity, checked.national_id, checked.date_of_birth, mobile)

    wait = await throttle.claim_registration(national_id)
    if wait is not None:
        settings = identity.settings
        security_event("registration_refused", reason="id_limit", subject_ref=ref)
        raise too_many(
            f"At most {settings.registration_id_limit} registrations can be started for a "
            f"national ID in {settings.registration_id_window_seconds // 60} minutes; "
            "try again later.",
            wait,
            field="body.national_id",
        )
    try:
        await _claim_send(identity, mobile, "body.mobile")
    except BaseException:
        await throttle.release_registration(national_id)
        security_event("registration_refused", reason="mobile_limit", subject_ref=ref)
        raise
    registration_id = uuid.uuid4()
    try:
        async with identity.sessions() as session:
            existing = await repository.account_by_national_id(session, national_id)
        # Hashed whether or not an account exists, so the answer takes as long either way.
        # Only requests whose details match the registry get here (and they are limited per
        # address, ID and mobile), so no per-address place is needed; a full queue is 503.
        try:
            password_hash = await identity.hashing.hash(checked.password)
        except Overloaded as exc:
            raise hashing_refused(exc) from None
        code_event = await _new_otp(identity, registration_id, mobile, checked.language)
        async with identity.sessions() as session, session.begin():
            await repository.insert_registration(
                session,
                id=registration_id,
                national_id=national_id,
                mobile=mobile,
                email=checked.email,
                language=checked.language,
                password_hash=password_hash,
                otp_expires_at=code_event.expires_at,
                existing_account_id=existing["id"] if existing is not None else None,
            )
            if existing is None:
                await outbox.publish(session, code_event)
            else:
                await _tell_holder(identity, session, existing)
    except BaseException:
        await identity.otps.forget(str(registration_id))
        await throttle.release_send(mobile)
        await throttle.release_registration(national_id)
        raise
    if existing is None:
        log.info("registration_started", registration_id=str(registration_id))
    else:
        security_event(
            "registration_refused",
            reason="account_exists",
            subject_ref=ref,
            account_id=str(existing["id"]),
            registration_id=str(registration_id),
        )
    return OtpSent(registration_id, code_event.expires_at, identity.settings.otp_ttl_seconds)


def _wire_member(member: FamilyMember, pseudonyms: Pseudonyms) -> RelativeRef:
    """What profile checks a claimed dependent against; the number only as its pseudonym."""
    relative = member.record
    return RelativeRef(
        national_id_ref=pseudonyms.of(relative.national_id),
        relationship=member.relationship,
        birth_date=relative.birth_date,
    )


async def _match_registry(
    identity: Identity, national_id: str, date_of_birth: date, mobile: str
) -> CivilRecord:
    """The registry's record when ID, birth date and mobile all match it, else the one
    mismatch answer. Mismatches are limited per ID and per mobile; each is claimed before the
    registry is looked at (given back on a match), so parallel guesses cannot exceed it."""
    throttle = identity.otp_throttle
    ref = subject_ref(national_id)
    wait = await throttle.claim_registry_check(national_id)
    if wait is not None:
        security_event("registration_refused", reason="id_mismatch_limit", subject_ref=ref)
        raise too_many(
            "Too many registrations whose details do not match the civil registry were "
            "tried for this national ID; try again later.",
            wait,
            field="body.national_id",
        )
    wait = await throttle.claim_mobile_registry_check(mobile)
    if wait is not None:
        await throttle.release_registry_check(national_id)
        security_event("registration_refused", reason="mobile_mismatch_limit", subject_ref=ref)
        raise too_many(
            "Too many registrations whose details do not match the civil registry were "
            "tried with this mobile; try again later.",
            wait,
            field="body.mobile",
        )
    try:
        async with identity.sessions() as session:
            record = await TableCivilRegistry(session).find(national_id)
    except BaseException:
        await throttle.release_registry_check(national_id)
        await throttle.release_mobile_registry_check(mobile)
        raise
    if record is None or record.birth_date != date_of_birth or mobile not in record.mobiles:
        reason = (
            "unknown_id"
            if record is None
            else "birth_date_mismatch"
            if record.birth_date != date_of_birth
            else "mobile_not_registered_to_id"
        )
        security_event("registration_refused", reason=reason, subject_ref=ref)
        raise registry_mismatch()
    await throttle.release_registry_check(national_id)
    await throttle.release_mobile_registry_check(mobile)
    return record


async def _tell_holder(identity: Identity, session: AsyncSession, account: RowMapping) -> None:
    """The ID has an account: its holder is told by SMS that someone tried to register."""
    if not account["mobile"]:
        return  # staff accounts have no mobile on record
    notice = RegistrationAttempted(
        citizen_id=account["id"],
        mobile=account["mobile"],
        language="en" if account["language"] == "en" else "ar",
        attempted_at=identity.clock.now(),
    )
    await outbox.publish(session, notice)


async def resend(identity: Identity, registration_id: uuid.UUID, *, client_ip: str) -> OtpSent:
    row = await _open_registration(identity, registration_id)
    otps, throttle = identity.otps, identity.otp_throttle
    if await otps.exhausted(str(registration_id)):
        await _fail_registration(identity, registration_id)
        raise tries_exhausted(otps.max_tries)
    await _claim_ip(identity, client_ip)
    await _claim_send(identity, row["mobile"], "body.registration_id")
    try:
        event = await _new_otp(identity, registration_id, row["mobile"], row["language"])
        async with identity.sessions() as session, session.begin():
            await repository.set_otp_expiry(session, registration_id, event.expires_at)
            existing_id = row["existing_account_id"]
            existing = existing_id and await repository.account_by_id(session, existing_id)
            if existing:
                await _tell_holder(identity, session, existing)
            else:
                await outbox.publish(session, event)
    except BaseException:
        await throttle.release_send(row["mobile"])
        raise
    log.info("otp_resent", registration_id=str(registration_id))
    return OtpSent(registration_id, event.expires_at, identity.settings.otp_ttl_seconds)


async def verify(identity: Identity, registration_id: uuid.UUID, code: str) -> uuid.UUID:
    """The new citizen's id, once the code matches."""
    if not is_well_formed(code):
        raise Problem.invalid("body.code", "The code must be exactly 6 digits.", "invalid_code")
    row = await _open_registration(identity, registration_id)
    otps = identity.otps
    outcome = await otps.check(str(registration_id), code)
    if outcome.check is not Check.MATCH:
        security_event(
            "otp_failed", reason=outcome.check.name.lower(), registration_id=str(registration_id)
        )
    if outcome.check is Check.EXHAUSTED:
        await _fail_registration(identity, registration_id)
        raise tries_exhausted(otps.max_tries)
    if outcome.check is Check.EXPIRED:
        raise Problem.invalid(
            "body.code", "The code has expired; ask for a new one.", "otp_expired"
        )
    if outcome.check is Check.WRONG:
        left = outcome.tries_left
        if not left:
            await _fail_registration(identity, registration_id)
        hint = f"{left} tries left." if left else "No tries left; start the registration again."
        raise Problem.invalid("body.code", f"The code is wrong. {hint}", "otp_wrong")

    citizen_id = uuid.uuid4()
    now = identity.clock.now()
    try:
        async with identity.sessions() as session, session.begin():
            record = await TableCivilRegistry(session).find(row["national_id"])
            if record is None:
                raise Problem.invalid(
                    "body.registration_id",
                    "The civil registry no longer holds this national ID.",
                    "registry_mismatch",
                )
            if not await repository.mark_verified(session, row["id"], now):
                raise no_pending_registration()
            pseudonyms = identity.settings.pseudonyms
            await repository.insert_account(
                session,
                id=citizen_id,
                national_id=row["national_id"],
                role=Role.CITIZEN.value,
                password_hash=row["password_hash"],
                full_name_ar=record.full_name_ar,
                full_name_en=record.full_name_en,
                mobile=row["mobile"],
                email=row["email"],
                language=row["language"],
                pseudonym_key_id=pseudonyms.key_id,
            )
            family = await TableCivilRegistry(session).family(record.national_id)
            event = CitizenRegisteredV4(
                key_id=pseudonyms.key_id,
                family=[_wire_member(member, pseudonyms) for member in family],
                citizen_id=citizen_id,
                national_id_ref=pseudonyms.of(record.national_id),
                full_name_ar=record.full_name_ar,
                full_name_en=record.full_name_en,
                nationality=record.nationality,
                sex=record.sex,
                birth_date=record.birth_date,
                marital_status=record.marital_status,
                mobile=row["mobile"],
                email=row["email"],
                language="en" if row["language"] == "en" else "ar",
                registered_at=now,
            )
            await outbox.publish(session, event)
    except IntegrityError:
        raise already_registered("body.registration_id") from None
    await otps.forget(str(registration_id))
    log.info("citizen_registered", citizen_id=str(citizen_id))
    return citizen_id
