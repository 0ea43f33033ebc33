"""The SQL of the cards schema (SQLAlchemy Core, inside the caller's transaction)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from sanad.cards.domain.card import Card, DecisionRecord, Status
from sanad.cards.models import cards, decisions, holders, signing_keys

# -- one citizen's events, one at a time --------------------------------------------------

# Held to the end of the transaction. The key space is this service's ('CARD'): advisory
# locks are database-wide, and a hash collision only makes two citizens wait on each other.
_LOCK_CITIZEN = text("SELECT pg_advisory_xact_lock(1128354372, hashtext(:citizen_id))")


async def lock_citizen(session: AsyncSession, citizen_id: UUID) -> None:
    """Serialise this transaction with any other handling the same citizen's decision or
    names. Without it, a first approval and the holder's first names handled at the same
    moment (two topics, two transactions) each miss the other's uncommitted row and neither
    issues the card. It works because the inbox's transactions are READ COMMITTED: each
    statement after the lock sees what the other committed (not so under REPEATABLE READ)."""
    await session.execute(_LOCK_CITIZEN, {"citizen_id": str(citizen_id)})


# -- holders (from ProfileUpdated) ---------------------------------------------------------


async def upsert_holder(
    session: AsyncSession, citizen_id: UUID, version: int, name_ar: str, name_en: str
) -> bool:
    """Keep the names of the newest profile version; False when ``version`` is not newer."""
    statement = insert(holders).values(
        citizen_id=citizen_id, profile_version=version, full_name_ar=name_ar, full_name_en=name_en
    )
    result = await session.execute(
        statement.on_conflict_do_update(
            index_elements=[holders.c.citizen_id],
            set_={
                "profile_version": statement.excluded.profile_version,
                "full_name_ar": statement.excluded.full_name_ar,
                "full_name_en": statement.excluded.full_name_en,
                "updated_at": statement.excluded.updated_at,
            },
            where=holders.c.profile_version < statement.excluded.profile_version,
        ).returning(holders.c.citizen_id)
    )
    return result.first() is not None


async def holder_names(session: AsyncSession, citizen_id: UUID) -> tuple[str, str] | None:
    row = (
        await session.execute(
            select(holders.c.full_name_ar, holders.c.full_name_en).where(
                holders.c.citizen_id == citizen_id
            )
        )
    ).first()
    return None if row is None else (row.full_name_ar, row.full_name_en)


# -- decisions (from DecisionIssued) -------------------------------------------------------


def _decision(row: Any) -> DecisionRecord:
    return DecisionRecord(
        citizen_id=row.citizen_id,
        program_code=row.program_code,
        decision_id=row.decision_id,
        application_id=row.application_id,
        decision=row.decision,
        decided_at=row.decided_at,
        monthly_benefit=row.monthly_benefit,
        program_name_ar=row.program_name_ar,
        program_name_en=row.program_name_en,
        card_on_approval=row.card_on_approval,
        card_validity_days=row.card_validity_days,
    )


# Written as SQL once: SQLAlchemy compiles a PostgreSQL ``INSERT … ON CONFLICT`` again on
# every call (milliseconds of CPU per decision).
_RECORD_DECISION = text(
    """
    INSERT INTO decisions (citizen_id, program_code, decision_id, application_id, decision,
        decided_at, monthly_benefit, program_name_ar, program_name_en, card_on_approval,
        card_validity_days)
    VALUES (:citizen_id, :program_code, :decision_id, :application_id, :decision, :decided_at,
        :monthly_benefit, :program_name_ar, :program_name_en, :card_on_approval,
        :card_validity_days)
    ON CONFLICT (citizen_id, program_code) DO UPDATE SET
        decision_id = EXCLUDED.decision_id, application_id = EXCLUDED.application_id,
        decision = EXCLUDED.decision, decided_at = EXCLUDED.decided_at,
        monthly_benefit = EXCLUDED.monthly_benefit, program_name_ar = EXCLUDED.program_name_ar,
        program_name_en = EXCLUDED.program_name_en,
        card_on_approval = EXCLUDED.card_on_approval,
        card_validity_days = EXCLUDED.card_validity_days
    WHERE decisions.decided_at < EXCLUDED.decided_at
    RETURNING decision_id
    """
)


async def record_decision(session: AsyncSession, record: DecisionRecord) -> bool:
    """Keep the newest decision per citizen and program; False (nothing written) when a
    newer one is recorded already (decisions of two applications may arrive out of order).

    When it returns True this transaction holds the decision row's lock (inserted, or
    updated), as ``load_decision(for_update=True)`` would take it."""
    values = {
        "citizen_id": record.citizen_id,
        "program_code": record.program_code,
        "decision_id": record.decision_id,
        "application_id": record.application_id,
        "decision": record.decision,
        "decided_at": record.decided_at,
        "monthly_benefit": record.monthly_benefit,
        "program_name_ar": record.program_name_ar,
        "program_name_en": record.program_name_en,
        "card_on_approval": record.card_on_approval,
        "card_validity_days": record.card_validity_days,
    }
    return (await session.execute(_RECORD_DECISION, values)).first() is not None


async def load_decision(
    session: AsyncSession, citizen_id: UUID, program_code: str, *, for_update: bool = False
) -> DecisionRecord | None:
    """``for_update`` serialises every issuance for this citizen and program on the row."""
    query = select(decisions).where(
        decisions.c.citizen_id == citizen_id, decisions.c.program_code == program_code
    )
    if for_update:
        query = query.with_for_update()
    row = (await session.execute(query)).first()
    return None if row is None else _decision(row)


async def approvals_without_card(session: AsyncSession, citizen_id: UUID) -> list[DecisionRecord]:
    """Automatic-card approvals of a citizen that have no current card (their holder's names
    had not arrived when they were recorded)."""
    current = select(cards.c.card_id).where(
        cards.c.citizen_id == decisions.c.citizen_id,
        cards.c.program_code == decisions.c.program_code,
        cards.c.status != Status.REVOKED.value,
    )
    rows = await session.execute(
        select(decisions)
        .where(
            decisions.c.citizen_id == citizen_id,
            decisions.c.decision == "APPROVED",
            decisions.c.card_on_approval.is_(True),
            ~current.exists(),
        )
        .order_by(decisions.c.program_code)
        .with_for_update(of=decisions)
    )
    return [_decision(row) for row in rows]


# -- cards -----------------------------------------------------------------------------------


def _card(row: Any) -> Card:
    return Card(
        card_id=row.card_id,
        card_number=row.card_number,
        citizen_id=row.citizen_id,
        program_code=row.program_code,
        program_name_ar=row.program_name_ar,
        program_name_en=row.program_name_en,
        application_id=row.application_id,
        decision_id=row.decision_id,
        holder_name_ar=row.holder_name_ar,
        holder_name_en=row.holder_name_en,
        monthly_benefit=row.monthly_benefit,
        issued_at=row.issued_at,
        expires_on=row.expires_on,
        status=Status(row.status),
        status_reason=row.status_reason,
        status_changed_at=row.status_changed_at,
    )


async def current_card(session: AsyncSession, citizen_id: UUID, program_code: str) -> Card | None:
    """The citizen's active or suspended card of the program."""
    row = (
        await session.execute(
            select(cards).where(
                cards.c.citizen_id == citizen_id,
                cards.c.program_code == program_code,
                cards.c.status != Status.REVOKED.value,
            )
        )
    ).first()
    return None if row is None else _card(row)


# The holder's names with the current card of one program (if any), in one round trip.
_CURRENT_WITH_HOLDER = text(
    """
    SELECT h.full_name_ar AS holder_ar, h.full_name_en AS holder_en, c.*
    FROM (SELECT CAST(:citizen_id AS uuid) AS citizen_id) AS who
    LEFT JOIN holders AS h ON h.citizen_id = who.citizen_id
    LEFT JOIN cards AS c ON c.citizen_id = who.citizen_id
        AND c.program_code = :program_code AND c.status <> 'revoked'
    """
)


async def current_card_and_holder(
    session: AsyncSession, citizen_id: UUID, program_code: str
) -> tuple[Card | None, tuple[str, str] | None]:
    """``current_card`` and ``holder_names`` together."""
    row = (
        await session.execute(
            _CURRENT_WITH_HOLDER, {"citizen_id": citizen_id, "program_code": program_code}
        )
    ).one()
    card = None if row.card_id is None else _card(row)
    names = None if row.holder_ar is None else (row.holder_ar, row.holder_en)
    return card, names


_INSERT_CARD = text(
    """
    INSERT INTO cards (card_id, card_number, citizen_id, program_code, program_name_ar,
        program_name_en, application_id, decision_id, holder_name_ar, holder_name_en,
        monthly_benefit, issued_at, expires_on, status, status_reason, status_changed_at)
    VALUES (:card_id, :card_number, :citizen_id, :program_code, :program_name_ar,
        :program_name_en, :application_id, :decision_id, :holder_name_ar, :holder_name_en,
        :monthly_benefit, :issued_at, :expires_on, :status, :status_reason, :status_changed_at)
    ON CONFLICT (card_number) DO NOTHING
    RETURNING card_id
    """
)


async def insert_card(session: AsyncSession, card: Card) -> bool:
    """Insert the card; False (nothing written) if its number is taken already — draw
    another. (A second current card of a program still fails on its unique index.)"""
    values = {
        "card_id": card.card_id,
        "card_number": card.card_number,
        "citizen_id": card.citizen_id,
        "program_code": card.program_code,
        "program_name_ar": card.program_name_ar,
        "program_name_en": card.program_name_en,
        "application_id": card.application_id,
        "decision_id": card.decision_id,
        "holder_name_ar": card.holder_name_ar,
        "holder_name_en": card.holder_name_en,
        "monthly_benefit": card.monthly_benefit,
        "issued_at": card.issued_at,
        "expires_on": card.expires_on,
        "status": card.status.value,
        "status_reason": card.status_reason,
        "status_changed_at": card.status_changed_at,
    }
    return (await session.execute(_INSERT_CARD, values)).first() is not None


async def save_status(session: AsyncSession, card: Card) -> None:
    await session.execute(
        update(cards)
        .where(cards.c.card_id == card.card_id)
        .values(
            status=card.status.value,
            status_reason=card.status_reason,
            status_changed_at=card.status_changed_at,
        )
    )


async def load_card(
    session: AsyncSession, card_id: UUID, *, for_update: bool = False
) -> Card | None:
    query = select(cards).where(cards.c.card_id == card_id)
    if for_update:
        query = query.with_for_update()
    row = (await session.execute(query)).first()
    return None if row is None else _card(row)


async def cards_of(session: AsyncSession, citizen_id: UUID) -> list[Card]:
    rows = await session.execute(
        select(cards)
        .where(cards.c.citizen_id == citizen_id)
        .order_by(cards.c.issued_at.desc(), cards.c.card_id)
    )
    return [_card(row) for row in rows]


# -- signing keys ----------------------------------------------------------------------------


async def active_key(session: AsyncSession) -> Any | None:
    query = select(signing_keys).where(signing_keys.c.active.is_(True))
    return (await session.execute(query)).first()


async def all_keys(session: AsyncSession) -> list[Any]:
    query = select(signing_keys).order_by(signing_keys.c.created_at.desc())
    return list(await session.execute(query))


async def retire_active(session: AsyncSession, now: datetime) -> None:
    await session.execute(
        update(signing_keys)
        .where(signing_keys.c.active.is_(True))
        .values(active=False, retired_at=now)
    )


async def insert_key(
    session: AsyncSession, kid: str, public: bytes, encrypted: bytes, now: datetime
) -> None:
    await session.execute(
        insert(signing_keys).values(
            kid=kid, public_key=public, private_key_encrypted=encrypted, active=True, created_at=now
        )
    )


async def update_sealed(session: AsyncSession, kid: str, encrypted: bytes) -> None:
    await session.execute(
        update(signing_keys)
        .where(signing_keys.c.kid == kid)
        .values(private_key_encrypted=encrypted)
    )
