"""Registration: civil-registry match, SMS OTP (through notifications), verification."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Literal

from fastapi import APIRouter, Request
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field
from sqlalchemy import RowMapping, select, update
from sqlalchemy.exc import IntegrityError

from sanad.identity import accounts
from sanad.identity.civil_registry import TableCivilRegistry
from sanad.identity.context import Identity, IdentityDep, client_ip
from sanad.identity.domain.otp import is_well_formed, new_code
from sanad.identity.domain.registration import check_registration
from sanad.identity.models import accounts as accounts_table
from sanad.identity.models import registrations
from sanad.identity.otp_store import Check
from sanad.identity.passwords import hash_password
from sanad.shared import outbox
from sanad.shared.auth import Role
from sanad.shared.crypto import seal
from sanad.shared.events import CitizenRegistered, Envelope, OtpRequested
from sanad.shared.logging import get_logger
from sanad.shared.problems import FieldError, Problem

router = APIRouter(prefix="/v1/auth/register", tags=["registration"])
log = get_logger(__name__)


class RegisterRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    national_id: str = Field(max_length=32, examples=["1000000008"])
    date_of_birth: date
    mobile: str = Field(max_length=32, examples=["0551234567"])
    password: str = Field(max_length=1024)
    email: str | None = Field(None, max_length=254)
    preferred_language: Literal["ar", "en"] = "ar"


class RegistrationPending(BaseModel):
    registration_id: uuid.UUID
    status: Literal["pending"] = "pending"
    otp_expires_at: AwareDatetime
    otp_ttl_seconds: int


class ResendRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    registration_id: uuid.UUID


class VerifyRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    registration_id: uuid.UUID
    code: str = Field(max_length=16)


class Registered(BaseModel):
    citizen_id: uuid.UUID
    status: Literal["active"] = "active"


def already_registered(field: str = "body.national_id") -> Problem:
    # Said before the registry match is looked at, so it reveals nothing about the birth date.
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


async def send_otp(
    identity: Identity, registration_id: uuid.UUID, mobile: str, language: str
) -> tuple[OtpRequested, str]:
    """A new code, kept in Redis, and its event sealed for notifications (not yet queued)."""
    code = new_code()
    expires_at = datetime.now(UTC) + timedelta(seconds=identity.settings.otp_ttl_seconds)
    await identity.otps.put(str(registration_id), code)
    event = OtpRequested(
        registration_id=registration_id,
        mobile=mobile,
        language="en" if language == "en" else "ar",
        encrypted_code=seal(identity.settings.otp_public_key, code.encode()),
        expires_at=expires_at,
    )
    return event, code


async def open_registration(identity: Identity, registration_id: uuid.UUID) -> RowMapping:
    """The pending registration; 409 when it failed (out of code tries), else 404."""
    async with identity.sessions() as session:
        row = (
            (
                await session.execute(
                    select(registrations).where(registrations.c.id == registration_id)
                )
            )
            .mappings()
            .first()
        )
    if row is not None and row["status"] == "failed":
        raise tries_exhausted(identity.settings.otp_max_tries)
    if row is None or row["status"] != "pending":
        raise no_pending_registration()
    return row


async def fail_registration(identity: Identity, registration_id: uuid.UUID) -> None:
    """Out of code tries: the registration ends for good (in Postgres, which outlives the
    tries counter in Redis); registering again is the way out."""
    async with identity.sessions() as session, session.begin():
        await session.execute(
            update(registrations)
            .where(registrations.c.id == registration_id, registrations.c.status == "pending")
            .values(status="failed")
        )
    await identity.otps.discard(str(registration_id))
    log.info("registration_failed", registration_id=str(registration_id))


@router.post("", status_code=202, response_model=RegistrationPending)
async def register(
    body: RegisterRequest, request: Request, identity: IdentityDep
) -> RegistrationPending:
    checked = check_registration(
        national_id=body.national_id,
        date_of_birth=body.date_of_birth,
        mobile=body.mobile,
        password=body.password,
        email=body.email,
        language=body.preferred_language,
        today=datetime.now(UTC).date(),
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
    national_id = checked.national_id
    await throttle.check_ip(client_ip(request, identity.settings.trusted_proxies))
    async with identity.sessions() as session:
        if await accounts.by_national_id(session, national_id) is not None:
            raise already_registered()
    # Claimed before the registry is looked at, whatever the birth date, and given back on a
    # match: only mismatches count, and parallel guesses cannot all pass.
    await throttle.claim_registry_check(national_id)
    try:
        async with identity.sessions() as session:
            record = await TableCivilRegistry(session).find(national_id)
    except BaseException:
        await throttle.release_registry_check(national_id)
        raise
    if record is None or record.birth_date != checked.date_of_birth:
        raise Problem.invalid(
            "body.date_of_birth",
            "The national ID and date of birth do not match a civil registry record.",
            "registry_mismatch",
        )
    await throttle.release_registry_check(national_id)

    await throttle.claim_registration(national_id)
    try:
        await throttle.claim_send(checked.mobile, "body.mobile")
    except BaseException:
        await throttle.release_registration(national_id)
        raise
    registration_id = uuid.uuid4()
    try:
        password_hash = await hash_password(checked.password)
        event, _ = await send_otp(identity, registration_id, checked.mobile, checked.language)
        async with identity.sessions() as session, session.begin():
            await session.execute(
                registrations.insert().values(
                    id=registration_id,
                    national_id=national_id,
                    mobile=checked.mobile,
                    email=checked.email,
                    language=checked.language,
                    password_hash=password_hash,
                    otp_expires_at=event.expires_at,
                )
            )
            await outbox.add(session, Envelope.wrap(event, producer="identity"))
    except BaseException:
        await identity.otps.forget(str(registration_id))
        await throttle.release_send(checked.mobile)
        await throttle.release_registration(national_id)
        raise
    log.info("registration_started", registration_id=str(registration_id))
    return RegistrationPending(
        registration_id=registration_id,
        otp_expires_at=event.expires_at,
        otp_ttl_seconds=identity.settings.otp_ttl_seconds,
    )


@router.post("/resend", status_code=202, response_model=RegistrationPending)
async def resend(
    body: ResendRequest, request: Request, identity: IdentityDep
) -> RegistrationPending:
    row = await open_registration(identity, body.registration_id)
    otps, throttle = identity.otps, identity.otp_throttle
    if await otps.exhausted(str(body.registration_id)):
        await fail_registration(identity, body.registration_id)
        raise tries_exhausted(otps.max_tries)
    await throttle.check_ip(client_ip(request, identity.settings.trusted_proxies))
    await throttle.claim_send(row["mobile"], "body.registration_id")
    try:
        event, _ = await send_otp(identity, body.registration_id, row["mobile"], row["language"])
        async with identity.sessions() as session, session.begin():
            await session.execute(
                update(registrations)
                .where(registrations.c.id == body.registration_id)
                .values(otp_expires_at=event.expires_at)
            )
            await outbox.add(session, Envelope.wrap(event, producer="identity"))
    except BaseException:
        await throttle.release_send(row["mobile"])
        raise
    log.info("otp_resent", registration_id=str(body.registration_id))
    return RegistrationPending(
        registration_id=body.registration_id,
        otp_expires_at=event.expires_at,
        otp_ttl_seconds=identity.settings.otp_ttl_seconds,
    )


@router.post("/verify", status_code=201, response_model=Registered)
async def verify(body: VerifyRequest, identity: IdentityDep) -> Registered:
    if not is_well_formed(body.code):
        raise Problem.invalid("body.code", "The code must be exactly 6 digits.", "invalid_code")
    row = await open_registration(identity, body.registration_id)
    otps = identity.otps
    outcome = await otps.check(str(body.registration_id), body.code)
    if outcome.check is Check.EXHAUSTED:
        await fail_registration(identity, body.registration_id)
        raise tries_exhausted(otps.max_tries)
    if outcome.check is Check.EXPIRED:
        raise Problem.invalid(
            "body.code", "The code has expired; ask for a new one.", "otp_expired"
        )
    if outcome.check is Check.WRONG:
        left = outcome.tries_left
        if not left:
            await fail_registration(identity, body.registration_id)
        hint = f"{left} tries left." if left else "No tries left; start the registration again."
        raise Problem.invalid("body.code", f"The code is wrong. {hint}", "otp_wrong")

    citizen_id = uuid.uuid4()
    now = datetime.now(UTC)
    try:
        async with identity.sessions() as session, session.begin():
            record = await TableCivilRegistry(session).find(row["national_id"])
            if record is None:
                raise Problem.invalid(
                    "body.registration_id",
                    "The civil registry no longer holds this national ID.",
                    "registry_mismatch",
                )
            claimed = await session.execute(
                update(registrations)
                .where(registrations.c.id == row["id"], registrations.c.status == "pending")
                .values(status="verified", verified_at=now)
            )
            if getattr(claimed, "rowcount", 0) != 1:
                raise no_pending_registration()
            await session.execute(
                accounts_table.insert().values(
                    id=citizen_id,
                    national_id=row["national_id"],
                    role=Role.CITIZEN.value,
                    password_hash=row["password_hash"],
                    full_name_ar=record.full_name_ar,
                    full_name_en=record.full_name_en,
                    mobile=row["mobile"],
                    email=row["email"],
                    language=row["language"],
                )
            )
            event = CitizenRegistered(
                citizen_id=citizen_id,
                national_id=record.national_id,
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
            await outbox.add(session, Envelope.wrap(event, producer="identity"))
    except IntegrityError:
        raise already_registered("body.registration_id") from None
    await otps.forget(str(body.registration_id))
    log.info("citizen_registered", citizen_id=str(citizen_id))
    return Registered(citizen_id=citizen_id)
