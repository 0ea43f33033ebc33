"""Changing a citizen's mobile: the new number must be registered to their ID in the civil
registry (the same check as registration, with the same limits), and a code goes to the old
number and another to the new one; both must be entered. Then the account's mobile changes
and ``MobileChanged`` is published (the profile service updates the contact, and with it
every consumer of ``ProfileUpdated``)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sanad.identity import repository
from sanad.identity.adapters.civil_registry import TableCivilRegistry
from sanad.identity.adapters.otp_store import Check
from sanad.identity.domain.mobile import normalize_mobile
from sanad.identity.domain.otp import is_well_formed, new_code
from sanad.identity.runtime import Identity
from sanad.identity.service.registration import _claim_ip, _claim_send, too_many
from sanad.shared import outbox
from sanad.shared.auth import Role, forbidden
from sanad.shared.crypto import seal
from sanad.shared.events import MobileChanged, OtpRequestedV2
from sanad.shared.logging import get_logger, security_event, subject_ref
from sanad.shared.problems import FieldError, Problem

log = get_logger(__name__)


@dataclass(frozen=True)
class ChangeStarted:
    change_id: uuid.UUID
    expires_at: datetime
    ttl_seconds: int


def not_registered_to_you() -> Problem:
    message = "The mobile is not registered to your national ID in the civil registry."
    return Problem.invalid("body.mobile", message, "registry_mismatch")


def no_pending_change() -> Problem:
    message = "You have no pending change of mobile with this id; start again."
    return Problem(
        status=404,
        title="Not Found",
        detail=message,
        type="mobile-change-not-found",
        errors=[FieldError("body.change_id", message, "not_found")],
    )


def _keys(change_id: uuid.UUID) -> tuple[str, str]:
    return f"mobile-change:{change_id}:old", f"mobile-change:{change_id}:new"


async def _citizen(identity: Identity, subject: str) -> dict[str, object]:
    try:
        account_id = uuid.UUID(subject)
    except ValueError:
        raise forbidden("Only citizens change their mobile here.") from None
    async with identity.sessions() as session:
        account = await repository.account_by_id(session, account_id)
    if account is None or account["role"] != Role.CITIZEN.value or not account["mobile"]:
        raise forbidden("Only citizens change their mobile here.")
    return dict(account)


async def start(identity: Identity, subject: str, mobile: str, *, client_ip: str) -> ChangeStarted:
    account = await _citizen(identity, subject)
    try:
        new_mobile = normalize_mobile(mobile)
    except ValueError as exc:
        raise Problem.invalid("body.mobile", f"The mobile {exc}.", "invalid_mobile") from None
    if new_mobile == account["mobile"]:
        raise Problem.invalid("body.mobile", "is already your mobile", "same_mobile")
    national_id = str(account["national_id"])
    ref = subject_ref(national_id)
    throttle = identity.otp_throttle
    # The registration's check and its limits: mismatches per ID and per mobile, claimed
    # before the registry is looked at.
    if (wait := await throttle.claim_registry_check(national_id)) is not None:
        raise too_many("Too many mobiles not registered to you were tried.", wait, "body.mobile")
    if (wait := await throttle.claim_mobile_registry_check(new_mobile)) is not None:
        await throttle.release_registry_check(national_id)
        raise too_many("Too many attempts with this mobile.", wait, "body.mobile")
    async with identity.sessions() as session:
        record = await TableCivilRegistry(session).find(national_id)
    if record is None or new_mobile not in record.mobiles:
        security_event("mobile_change_refused", reason="not_registered_to_id", subject_ref=ref)
        raise not_registered_to_you()
    await throttle.release_registry_check(national_id)
    await throttle.release_mobile_registry_check(new_mobile)

    old_mobile = str(account["mobile"])
    await _claim_ip(identity, client_ip)
    await _claim_send(identity, new_mobile, "body.mobile")
    try:
        await _claim_send(identity, old_mobile, "body.mobile")
    except BaseException:
        await throttle.release_send(new_mobile)
        raise
    change_id = uuid.uuid4()
    old_key, new_key = _keys(change_id)
    language = "en" if account["language"] == "en" else "ar"
    try:
        events = []
        for key, number in ((old_key, old_mobile), (new_key, new_mobile)):
            code = new_code()
            expires_at = await identity.otps.put(key, code)
            events.append(
                OtpRequestedV2(
                    request_id=change_id,
                    purpose="mobile_change",
                    mobile=number,
                    language=language,
                    encrypted_code=seal(identity.settings.otp_public_key, code.encode()),
                    expires_at=expires_at,
                )
            )
        async with identity.sessions() as session, session.begin():
            await repository.insert_mobile_change(
                session,
                id=change_id,
                account_id=account["id"],
                old_mobile=old_mobile,
                new_mobile=new_mobile,
            )
            for event in events:
                await outbox.publish(session, event)
    except BaseException:
        for key in (old_key, new_key):
            await identity.otps.forget(key)
        await throttle.release_send(new_mobile)
        await throttle.release_send(old_mobile)
        raise
    log.info("mobile_change_started", change_id=str(change_id))
    return ChangeStarted(change_id, events[0].expires_at, identity.settings.otp_ttl_seconds)


async def confirm(
    identity: Identity, subject: str, change_id: uuid.UUID, old_code: str, new_code: str
) -> str:
    """The new mobile, once both codes match."""
    for field, code in (("body.old_code", old_code), ("body.new_code", new_code)):
        if not is_well_formed(code):
            raise Problem.invalid(field, "The code must be exactly 6 digits.", "invalid_code")
    account = await _citizen(identity, subject)
    async with identity.sessions() as session:
        change = await repository.mobile_change(session, change_id)
    if change is None or change["account_id"] != account["id"] or change["status"] != "pending":
        raise no_pending_change()
    otps = identity.otps
    errors: list[FieldError] = []
    exhausted = False
    for field, key, code in zip(
        ("body.old_code", "body.new_code"), _keys(change_id), (old_code, new_code), strict=True
    ):
        outcome = await otps.check(key, code)
        if outcome.check is Check.MATCH:
            continue
        security_event("otp_failed", reason=outcome.check.name.lower(), change_id=str(change_id))
        if outcome.check is Check.EXHAUSTED or (
            outcome.check is Check.WRONG and not outcome.tries_left
        ):
            exhausted = True
        elif outcome.check is Check.EXPIRED:
            errors.append(FieldError(field, "The code has expired; start again.", "otp_expired"))
        else:
            errors.append(
                FieldError(
                    field, f"The code is wrong. {outcome.tries_left} tries left.", "otp_wrong"
                )
            )
    now = identity.clock.now()
    if exhausted:
        async with identity.sessions() as session, session.begin():
            await repository.end_mobile_change(session, change_id, "failed", now)
        message = "Too many wrong codes were entered; start the change again."
        raise Problem(
            status=409,
            title="Too many wrong codes",
            detail=message,
            type="otp-tries-exhausted",
            errors=[FieldError("body.change_id", message, "otp_tries_exhausted")],
        )
    if errors:
        raise Problem(
            status=422,
            title="Invalid request",
            detail="; ".join(f"{e.field}: {e.message}" for e in errors),
            type="validation-error",
            errors=errors,
        )
    new_mobile = str(change["new_mobile"])
    async with identity.sessions() as session, session.begin():
        if not await repository.end_mobile_change(session, change_id, "done", now):
            raise no_pending_change()
        await repository.set_mobile(session, change["account_id"], new_mobile)
        event = MobileChanged(citizen_id=change["account_id"], mobile=new_mobile, changed_at=now)
        await outbox.publish(session, event)
    for key in _keys(change_id):
        await otps.forget(key)
    log.info("mobile_changed", account_id=str(change["account_id"]))
    return new_mobile
