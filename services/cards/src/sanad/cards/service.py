"""The cards use cases. Each is one transaction: the state change and its events (through
the outbox), or nothing. Issuance for a citizen and program serialises on that program's
decision row (``SELECT … FOR UPDATE``), so a duplicated event and a concurrent request
cannot both issue.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from uuid import UUID

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from sanad.cards import repository
from sanad.cards.domain.card import Card, DecisionRecord, IllegalChange, Status, expiry
from sanad.cards.domain.number import new_card_number
from sanad.cards.domain.token import CardClaims, SigningKey, Verification, public_jwk, sign, verify
from sanad.shared import outbox
from sanad.shared.auth import Principal, Role, forbidden
from sanad.shared.clock import Clock
from sanad.shared.db import SessionFactory
from sanad.shared.events import CardIssued
from sanad.shared.events.cards import CardStatusChanged
from sanad.shared.logging import get_logger
from sanad.shared.problems import FieldError, Problem

log = get_logger(__name__)
AUTO = "auto"  # who changed a card when a decision did
CARD_READERS = (Role.CASEWORKER, Role.AUDITOR)
_KEYS_LOCK = text("SELECT pg_advisory_xact_lock(hashtext('cards.signing_keys'))")


# -- errors ------------------------------------------------------------------------------------


def card_not_found() -> Problem:
    return Problem(404, "Not Found", "There is no such card.", "card-not-found")


def _refused(type_: str, detail: str, code: str, **extra: object) -> Problem:
    return Problem(
        409,
        "Card not issued",
        detail,
        type_,
        errors=[FieldError("body.program_code", detail, code)],
        extra=dict(extra),
    )


# -- signing keys ------------------------------------------------------------------------------


class KeyRing:
    """Seals and opens the private halves stored in ``signing_keys`` (Fernet). Seals with the
    current key-encryption key; opens with it or with a previous one, kept only while a
    rotation is under way (``reseal`` moves a sealed key to the current one)."""

    def __init__(self, key_encryption_key: str, previous: Sequence[str] = ()) -> None:
        self._current = Fernet(key_encryption_key.encode())
        self._fernet = MultiFernet([self._current, *(Fernet(k.encode()) for k in previous)])

    def seal(self, key: SigningKey) -> bytes:
        return self._current.encrypt(key.seed)

    def open(self, kid: str, public: bytes, sealed: bytes) -> SigningKey:
        try:
            return SigningKey(kid, self._fernet.decrypt(sealed), public)
        except InvalidToken:
            raise RuntimeError(
                f"signing key {kid} does not open with the key-encryption key (nor a previous "
                "one in SANAD_CARDS_PREVIOUS_KEY_ENCRYPTION_KEYS)"
            ) from None

    def sealed_with_current(self, sealed: bytes) -> bool:
        try:
            self._current.decrypt(sealed)
        except InvalidToken:
            return False
        return True

    def reseal(self, kid: str, sealed: bytes) -> bytes:
        """The same private half sealed with the current key (it must open with one)."""
        try:
            return self._fernet.rotate(sealed)
        except InvalidToken:
            raise RuntimeError(
                f"signing key {kid} does not open with the key-encryption key (nor a previous "
                "one in SANAD_CARDS_PREVIOUS_KEY_ENCRYPTION_KEYS)"
            ) from None

    def __repr__(self) -> str:
        return "KeyRing(…)"


def new_kid(now: datetime) -> str:
    """Short (the QR carries it) and sortable by eye: ``c2611-9f3a1b``."""
    return f"c{now:%y%m}-{secrets.token_hex(3)}"


async def _add_key(session: AsyncSession, ring: KeyRing, now: datetime) -> str:
    key = SigningKey.generate(new_kid(now))
    await repository.retire_active(session, now)
    await repository.insert_key(session, key.kid, key.public, ring.seal(key), now)
    return key.kid


async def ensure_signing_key(sessions: SessionFactory, ring: KeyRing, clock: Clock) -> None:
    """At start-up: create the first key unless one is active (instances race safely), and
    re-seal with the current key-encryption key every stored key sealed with a previous one
    (the second half of a rotation: see the README's Security section)."""
    async with sessions() as session, session.begin():
        await session.execute(_KEYS_LOCK)
        resealed = 0
        for row in await repository.all_keys(session):
            if not ring.sealed_with_current(row.private_key_encrypted):
                sealed = ring.reseal(row.kid, row.private_key_encrypted)  # fails fast on a bad KEK
                await repository.update_sealed(session, row.kid, sealed)
                resealed += 1
        if resealed:
            log.warning("signing_keys_resealed", count=resealed)
        if await repository.active_key(session) is None:
            kid = await _add_key(session, ring, clock.now())
            log.info("signing_key_created", kid=kid)


async def rotate_key(
    sessions: SessionFactory, ring: KeyRing, clock: Clock, principal: Principal
) -> dict[str, object]:
    if principal.role is not Role.ADMIN:
        raise forbidden("Only admins rotate the card signing key.")
    async with sessions() as session, session.begin():
        await session.execute(_KEYS_LOCK)
        kid = await _add_key(session, ring, clock.now())
    log.info("signing_key_rotated", kid=kid, by=principal.subject)
    return await key_set(sessions) | {"active_kid": kid}


async def key_set(sessions: SessionFactory) -> dict[str, object]:
    """The public keys (JWK, RFC 8037 OKP), newest first: the active one signs, retired ones
    still verify the codes they signed."""
    async with sessions() as session:
        rows = await repository.all_keys(session)
    return {
        "keys": [
            public_jwk(row.kid, row.public_key)
            | {
                "status": "active" if row.active else "retired",
                "created_at": row.created_at.isoformat(),
                **({"retired_at": row.retired_at.isoformat()} if row.retired_at else {}),
            }
            for row in rows
        ]
    }


async def public_keys(session: AsyncSession) -> dict[str, bytes]:
    return {row.kid: row.public_key for row in await repository.all_keys(session)}


# -- issuing, from events and on request ----------------------------------------------------


async def _issue(
    session: AsyncSession, record: DecisionRecord, names: tuple[str, str], now: datetime
) -> Card:
    card = Card(
        card_id=uuid.uuid4(),
        card_number=new_card_number(),
        citizen_id=record.citizen_id,
        program_code=record.program_code,
        program_name_ar=record.program_name_ar,
        program_name_en=record.program_name_en,
        application_id=record.application_id,
        decision_id=record.decision_id,
        holder_name_ar=names[0],
        holder_name_en=names[1],
        monthly_benefit=record.monthly_benefit,
        issued_at=now,
        expires_on=expiry(now, record.card_validity_days),
        status=Status.ACTIVE,
        status_reason=None,
        status_changed_at=now,
    )
    while not await repository.insert_card(session, card):  # the number is taken: redraw
        card = replace(card, card_number=new_card_number())
    await outbox.publish(
        session,
        CardIssued(
            card_id=card.card_id,
            card_number=card.card_number,
            citizen_id=card.citizen_id,
            application_id=card.application_id,
            program_code=card.program_code,
            issued_at=card.issued_at,
            expires_at=card.expires_on,
        ),
    )
    log.info("card_issued", card_id=str(card.card_id), program_code=card.program_code)
    return card


async def _change(
    session: AsyncSession,
    card: Card,
    to: Status,
    *,
    reason: str,
    by: str,
    now: datetime,
    decision_id: UUID | None = None,
) -> Card:
    changed = card.changed(to, reason=reason, now=now)
    await repository.save_status(session, changed)
    await outbox.publish(
        session,
        CardStatusChanged(
            card_id=card.card_id,
            citizen_id=card.citizen_id,
            program_code=card.program_code,
            from_status=card.status.value,
            status=to.value,
            reason=reason,
            changed_by=by,
            changed_at=now,
            decision_id=decision_id,
        ),
    )
    log.info("card_status_changed", card_id=str(card.card_id), status=to.value)
    return changed


async def apply_decision(session: AsyncSession, record: DecisionRecord, now: datetime) -> None:
    """Inside the inbox's transaction. Records the decision if it is the newest for the
    citizen's program; then an approval reactivates a suspended card or, when the program
    issues cards on approval, issues one; a rejection suspends the active card."""
    await repository.lock_citizen(session, record.citizen_id)
    if not await repository.record_decision(session, record):
        log.info("decision_not_newer_than_recorded", program_code=record.program_code)
        return
    # record_decision holds the (now current) decision row's lock: issuance for this program
    # serialises on it.
    card, names = await repository.current_card_and_holder(
        session, record.citizen_id, record.program_code
    )
    if record.approved:
        if card is not None and card.status is Status.SUSPENDED:
            await _change(
                session,
                card,
                Status.ACTIVE,
                reason="approved again",
                by=AUTO,
                now=now,
                decision_id=record.decision_id,
            )
        elif card is None and record.card_on_approval:
            if names is None:
                # Issued when the holder's profile arrives (apply_holder).
                log.warning("card_waits_for_holder_names", program_code=record.program_code)
                return
            await _issue(session, record, names, now)
    elif card is not None and card.status is Status.ACTIVE:
        await _change(
            session,
            card,
            Status.SUSPENDED,
            reason="a later decision rejected the application",
            by=AUTO,
            now=now,
            decision_id=record.decision_id,
        )


async def apply_holder(
    session: AsyncSession, citizen_id: UUID, version: int, names: tuple[str, str], now: datetime
) -> None:
    """Inside the inbox's transaction: keep the newest names; issue the automatic cards that
    waited for them. Cards already issued keep the names they were issued with."""
    await repository.lock_citizen(session, citizen_id)
    if not await repository.upsert_holder(session, citizen_id, version, *names):
        return
    for record in await repository.approvals_without_card(session, citizen_id):
        await _issue(session, record, names, now)


@dataclass(frozen=True)
class Requested:
    card: Card
    created: bool


async def request_card(
    sessions: SessionFactory, clock: Clock, principal: Principal, program_code: str
) -> Requested:
    """``POST /v1/cards``: a card for the caller's approved program. The same request again
    answers the current card and issues nothing new."""
    citizen_id = own_citizen_id(principal)
    async with sessions() as session, session.begin():
        record = await repository.load_decision(session, citizen_id, program_code, for_update=True)
        if record is None:
            raise _refused(
                "no-approval",
                f"You have no approval for {program_code}: a card is issued only to an approved "
                "beneficiary of the program.",
                "no_approval",
            )
        if not record.approved:
            raise _refused(
                "approval-not-active",
                f"Your latest decision for {program_code} ({record.decided_at.date()}) is "
                f"{record.decision}: a card is issued only while an approval stands.",
                "not_approved",
                decision=record.decision,
            )
        now = clock.now()
        card = await repository.current_card(session, citizen_id, program_code)
        if card is not None and card.expired(now):
            await _change(
                session,
                card,
                Status.REVOKED,
                reason="expired; replaced by a new card",
                by=principal.subject,
                now=now,
            )
            card = None
        if card is not None:
            if card.status is Status.SUSPENDED:
                raise _refused(
                    "card-suspended",
                    f"Your card for {program_code} is suspended: {card.status_reason}",
                    "suspended",
                    card_id=str(card.card_id),
                )
            return Requested(card, created=False)
        names = await repository.holder_names(session, citizen_id)
        if names is None:
            raise _refused(
                "holder-unknown",
                "Your profile has not reached the cards service yet; try again in a moment.",
                "holder_unknown",
            )
        return Requested(await _issue(session, record, names, now), created=True)


# -- reading, rendering, status ---------------------------------------------------------------


def own_citizen_id(principal: Principal) -> UUID:
    if principal.role is not Role.CITIZEN:
        raise forbidden("Only citizens hold cards.")
    try:
        return UUID(principal.subject)
    except ValueError:
        raise forbidden("Only citizens hold cards.") from None


async def my_cards(sessions: SessionFactory, principal: Principal) -> list[Card]:
    citizen_id = own_citizen_id(principal)
    async with sessions() as session:
        return await repository.cards_of(session, citizen_id)


async def read_card(sessions: SessionFactory, principal: Principal, card_id: UUID) -> Card:
    """The owner, caseworkers and auditors read a card; another citizen learns nothing of it
    (404, as for a card that does not exist)."""
    if principal.role is not Role.CITIZEN and principal.role not in CARD_READERS:
        raise forbidden("Only the holder, caseworkers and auditors read cards.")
    async with sessions() as session:
        card = await repository.load_card(session, card_id)
    if card is None or (
        principal.role is Role.CITIZEN and str(card.citizen_id) != principal.subject
    ):
        raise card_not_found()
    return card


async def token_of(sessions: SessionFactory, ring: KeyRing, card: Card, issuer: str) -> str:
    """The card's QR text, signed now with the active key. Deterministic for a given state of
    the card and key (Ed25519 signatures are), so every rendering of one state is alike."""
    async with sessions() as session:
        row = await repository.active_key(session)
    if row is None:
        raise Problem(503, "Service Unavailable", "No signing key yet.", "no-signing-key")
    key = ring.open(row.kid, row.public_key, row.private_key_encrypted)
    claims = CardClaims(
        card_id=card.card_id,
        last4=card.card_number[-4:],
        holder_name_ar=card.holder_name_ar,
        holder_name_en=card.holder_name_en,
        program_code=card.program_code,
        status=card.status.value,
        expires_on=card.expires_on,
        signed_at=card.status_changed_at,
        issuer=issuer,
    )
    return sign(claims, key)


async def change_status(
    sessions: SessionFactory,
    clock: Clock,
    principal: Principal,
    card_id: UUID,
    to: Status,
    reason: str,
) -> Card:
    if principal.role is not Role.CASEWORKER:
        raise forbidden("Only caseworkers suspend, reinstate or revoke cards.")
    async with sessions() as session, session.begin():
        card = await repository.load_card(session, card_id, for_update=True)
        if card is None:
            raise card_not_found()
        if to is Status.ACTIVE:
            record = await repository.load_decision(session, card.citizen_id, card.program_code)
            if record is None or not record.approved:
                raise Problem(
                    409,
                    "Conflict",
                    f"The holder has no standing approval for {card.program_code}: the card "
                    "stays suspended.",
                    "approval-not-active",
                    extra={"current_status": card.status.value},
                )
        try:
            return await _change(
                session, card, to, reason=reason, by=principal.subject, now=clock.now()
            )
        except IllegalChange as exc:
            raise Problem(
                409,
                "Conflict",
                str(exc),
                "illegal-card-change",
                extra={"current_status": card.status.value},
            ) from None


async def check_token(
    sessions: SessionFactory, clock: Clock, token: str, issuer: str
) -> tuple[Verification, Card | None]:
    """``POST /v1/cards/verify``: the offline checks, then what this service knows now (a card
    suspended or revoked after its code was made)."""
    now = clock.now()
    async with sessions() as session:
        verification = verify(token, await public_keys(session), now=now, issuer=issuer)
        if verification.claims is None:
            return verification, None
        card = await repository.load_card(session, verification.claims.card_id)
    if card is None:
        return Verification(
            "invalid", "no card of this id was issued", None, verification.kid
        ), None
    if verification.result == "expired":
        return verification, card
    if card.status is Status.REVOKED:
        reason = f"the card was revoked on {card.status_changed_at.date()}: {card.status_reason}"
        return Verification("revoked", reason, verification.claims, verification.kid), card
    if card.status is Status.SUSPENDED:
        reason = (
            f"the card is suspended since {card.status_changed_at.date()}: {card.status_reason}"
        )
        return Verification("suspended", reason, verification.claims, verification.kid), card
    if card.expired(now):
        return Verification(
            "expired",
            f"the card expired on {card.expires_on}",
            verification.claims,
            verification.kid,
        ), card
    return Verification(
        "valid",
        "signature, issuer, expiry and status check out",
        verification.claims,
        verification.kid,
    ), card
