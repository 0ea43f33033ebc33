"""SQL of the notifications schema: contacts, preferences and the deliveries queue.

Functions take the caller's session or connection and never commit: each use case commits
once (the Kafka handler in the inbox transaction; the worker once per claimed batch, once per
batch of starting sends and once per batch of recorded outcomes).
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import orjson
from sqlalchemy import CTE, Row, Select, and_, bindparam, func, select, text, tuple_, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.types import Float, Text

from sanad.notifications.domain.planning import Contact, PlannedDelivery, priority_of
from sanad.notifications.models import contacts, deliveries, delivery_attempts, preferences
from sanad.shared import outbox
from sanad.shared.events import (
    CitizenRegisteredV1,
    CitizenRegisteredV3,
    ContactChanged,
    Envelope,
    NotificationDispatched,
    ProfileUpdated,
)

Db = AsyncSession | AsyncConnection
NO_CONTACT = "no contact on record for this citizen"


# --- contacts ------------------------------------------------------------------------------


async def register_contact(db: Db, event: CitizenRegisteredV1 | CitizenRegisteredV3) -> None:
    """The first contact record. A ContactChanged or ProfileUpdated v1 that arrived first
    (other topic, no order between topics) keeps its newer contact details; only the names
    are filled in."""
    stmt = insert(contacts).values(
        citizen_id=event.citizen_id,
        mobile=event.mobile,
        email=event.email,
        language=event.language,
        full_name_ar=event.full_name_ar,
        full_name_en=event.full_name_en,
    )
    await db.execute(
        stmt.on_conflict_do_update(
            index_elements=[contacts.c.citizen_id],
            set_={
                "full_name_ar": stmt.excluded.full_name_ar,
                "full_name_en": stmt.excluded.full_name_en,
            },
        )
    )


async def apply_contact(db: Db, event: ContactChanged | ProfileUpdated) -> None:
    """Take the contact as of a profile version (ContactChanged, or a ProfileUpdated v1 of
    the history) unless a newer profile version is already applied."""
    contact = event if isinstance(event, ContactChanged) else event.contact
    stmt = insert(contacts).values(
        citizen_id=event.citizen_id,
        mobile=contact.mobile,
        email=contact.email,
        language=contact.language,
        profile_version=event.version,
    )
    await db.execute(
        stmt.on_conflict_do_update(
            index_elements=[contacts.c.citizen_id],
            set_={
                "mobile": stmt.excluded.mobile,
                "email": stmt.excluded.email,
                "language": stmt.excluded.language,
                "profile_version": stmt.excluded.profile_version,
                "updated_at": func.now(),
            },
            where=contacts.c.profile_version < stmt.excluded.profile_version,
        )
    )


# The contacts of many citizens in one round trip (a batch of decisions or cards), with the
# citizens' own preferences. Written as SQL once: no statement is built per batch.
_CONTACTS = text(
    """
    SELECT c.citizen_id, c.mobile, c.email, c.language, c.full_name_ar, c.full_name_en,
        p.email_enabled AS pref_email_enabled, p.language AS pref_language
    FROM contacts AS c LEFT JOIN notification_preferences AS p USING (citizen_id)
    WHERE c.citizen_id = ANY(CAST(:ids AS uuid[]))
    """
)


async def contacts_for(db: Db, citizen_ids: Collection[UUID]) -> dict[UUID, Contact]:
    """What is known of each citizen (those with no contact on record are missing)."""
    if not citizen_ids:
        return {}
    rows = (await db.execute(_CONTACTS, {"ids": list(citizen_ids)})).all()
    return {
        row.citizen_id: Contact(
            citizen_id=row.citizen_id,
            mobile=row.mobile,
            email=row.email,
            language=row.pref_language or row.language,
            email_enabled=True if row.pref_email_enabled is None else row.pref_email_enabled,
            full_name_ar=row.full_name_ar,
            full_name_en=row.full_name_en,
        )
        for row in rows
    }


async def contact_for(db: Db, citizen_id: UUID) -> Contact | None:
    return (await contacts_for(db, [citizen_id])).get(citizen_id)


# --- preferences ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Preferences:
    email_enabled: bool
    language: str


async def preferences_of(db: Db, citizen_id: UUID) -> Preferences | None:
    """The citizen's own choices, else what the profile says; None if we know neither."""
    chosen = (
        await db.execute(select(preferences).where(preferences.c.citizen_id == citizen_id))
    ).first()
    if chosen is not None:
        return Preferences(chosen.email_enabled, chosen.language)
    language = (
        await db.execute(select(contacts.c.language).where(contacts.c.citizen_id == citizen_id))
    ).scalar_one_or_none()
    return None if language is None else Preferences(True, language)


async def put_preferences(db: Db, citizen_id: UUID, email_enabled: bool, language: str) -> None:
    stmt = insert(preferences).values(
        citizen_id=citizen_id, email_enabled=email_enabled, language=language
    )
    await db.execute(
        stmt.on_conflict_do_update(
            index_elements=[preferences.c.citizen_id],
            set_={
                "email_enabled": stmt.excluded.email_enabled,
                "language": stmt.excluded.language,
                "updated_at": func.now(),
            },
        )
    )


# --- deliveries ----------------------------------------------------------------------------


# Every planned delivery of a batch of events in one statement (the rows travel as one JSON
# array), once per (event, channel): a redelivered event inserts nothing. Returned: what
# NotificationDispatched needs of the rows recorded as failed at once (no recipient).
_QUEUE = text(
    """
    INSERT INTO deliveries (id, source_event_id, source_event_type, channel, template,
        priority, language, citizen_id, recipient, context, correlation_id, status,
        last_error, finished_at)
    SELECT v.id, v.source_event_id, v.source_event_type, v.channel, v.template, v.priority,
        v.language, v.citizen_id, v.recipient, v.context, v.correlation_id,
        CASE WHEN v.recipient IS NULL THEN 'failed' ELSE 'pending' END,
        CASE WHEN v.recipient IS NULL THEN CAST(:no_contact AS text) END,
        CASE WHEN v.recipient IS NULL THEN now() END
    FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS v(
        id uuid, source_event_id uuid, source_event_type text, channel text, template text,
        priority smallint, language text, citizen_id uuid, recipient text, context jsonb,
        correlation_id text
    )
    ON CONFLICT ON CONSTRAINT deliveries_event_channel_key DO NOTHING
    RETURNING id, source_event_id, citizen_id, channel, template, language, status, attempts,
        correlation_id
    """
).bindparams(bindparam("rows", type_=Text()), bindparam("no_contact", type_=Text()))


async def queue(db: AsyncSession, source: Envelope, planned: Sequence[PlannedDelivery]) -> int:
    """Insert the planned deliveries once per (event, channel); how many were new.

    A delivery with no recipient is recorded as failed at once and reported.
    """
    return await queue_many(db, [(source, planned)])


async def queue_many(
    db: AsyncSession, batch: Sequence[tuple[Envelope, Sequence[PlannedDelivery]]]
) -> int:
    """``queue`` for the deliveries of many events: one INSERT, and for those failed at once
    (no recipient) one outbox insert."""
    rows = [
        {
            "id": uuid.uuid4(),
            "source_event_id": source.event_id,
            "source_event_type": source.event_type,
            "channel": plan.channel.value,
            "template": plan.template.value,
            "priority": priority_of(plan.template),
            "language": plan.language,
            "citizen_id": plan.citizen_id,
            "recipient": plan.recipient,
            "context": plan.context,
            "correlation_id": source.correlation_id,
        }
        for source, planned in batch
        for plan in planned
    ]
    if not rows:
        return 0
    created = (
        await db.execute(_QUEUE, {"rows": orjson.dumps(rows).decode(), "no_contact": NO_CONTACT})
    ).all()
    failed = [row for row in created if row.status == "failed"]
    if failed:
        await report_many(db, failed)
    return len(created)


def _dispatched(db: AsyncSession, row: Row[Any]) -> Envelope:
    """NotificationDispatched for a delivery that reached its end: no body, no code. Its
    cause is the event that asked for the delivery (the worker runs outside any handler)."""
    event = NotificationDispatched(
        delivery_id=row.id,
        source_event_id=row.source_event_id,
        citizen_id=row.citizen_id,
        channel=row.channel,
        template=row.template,
        language=row.language,
        status=row.status,
        attempts=row.attempts,
    )
    return outbox.envelope(
        db, event, causation_id=row.source_event_id, correlation_id=row.correlation_id
    )


async def report(db: AsyncSession, row: Row[Any]) -> None:
    await outbox.add(db, _dispatched(db, row))


async def report_many(db: AsyncSession, rows: Sequence[Row[Any]]) -> None:
    """``report`` for a batch of ended deliveries: one multi-row INSERT, one NOTIFY."""
    await outbox.add_all(db, [_dispatched(db, row) for row in rows])


def _once(query: Select[Any], name: str) -> CTE:
    """``query`` as a CTE Postgres must evaluate exactly once.

    ``UPDATE … WHERE id IN (SELECT … LIMIT n FOR UPDATE SKIP LOCKED)`` may run the subquery
    again while updating (a semi-join rescan); rows it already moved no longer match, so the
    rescan picks others and the UPDATE takes more than ``n`` rows. A materialized CTE is run
    once: at most ``n``."""
    return query.cte(name).prefix_with("MATERIALIZED", dialect="postgresql")


def _seconds(value: Any) -> Any:
    return func.make_interval(0, 0, 0, 0, 0, 0, value)


# The worker's statements are built once, with parameters: building them per call (and
# their cache keys) cost more CPU than their round trips.
_DUE = _once(
    select(deliveries.c.id)
    .where(deliveries.c.status == "pending", deliveries.c.next_attempt_at <= func.now())
    .order_by(deliveries.c.priority, deliveries.c.next_attempt_at)
    .limit(bindparam("limit"))
    .with_for_update(skip_locked=True),
    "due",
)
_CLAIM = (
    update(deliveries)
    .where(deliveries.c.id == _DUE.c.id)
    .values(
        status="sending",
        claim_token=func.gen_random_uuid(),
        send_started_at=None,
        lease_until=func.now() + _seconds(bindparam("lease", type_=Float())),
    )
    .returning(*deliveries.c)
)


async def claim_due(db: Db, *, limit: int, lease_seconds: float) -> Sequence[Row[Any]]:
    """Take due deliveries for this worker: several instances never claim the same row.

    Urgent rows (OTP codes) first, then the longest due. Each row gets a new
    ``claim_token``; the attempt is counted only when its send starts.
    """
    return (await db.execute(_CLAIM, {"limit": limit, "lease": lease_seconds})).all()


def _held(delivery_id: UUID, claim_token: UUID) -> Any:
    return and_(
        deliveries.c.id == delivery_id,
        deliveries.c.status == "sending",
        deliveries.c.claim_token == claim_token,
    )


async def start_send(db: Db, delivery_id: UUID, claim_token: UUID, *, lease_seconds: float) -> bool:
    """Just before the provider call: the send starts, counts as an attempt and gets a
    fresh lease. False if the claim is no longer held (taken over): do not send."""
    started = await start_sends(db, [(delivery_id, claim_token)], lease_seconds=lease_seconds)
    return delivery_id in started


async def start_sends(
    db: Db, claims: Collection[tuple[UUID, UUID]], *, lease_seconds: float
) -> set[UUID]:
    """``start_send`` for many ``(delivery id, claim token)`` in one statement: the ids whose
    claim still holds the row (only those may be sent)."""
    if not claims:
        return set()
    started = await db.execute(_START, {"claims": list(claims), "lease": lease_seconds})
    return set(started.scalars())


_START = (
    update(deliveries)
    .where(
        tuple_(deliveries.c.id, deliveries.c.claim_token).in_(bindparam("claims", expanding=True)),
        deliveries.c.status == "sending",
        deliveries.c.send_started_at.is_(None),
    )
    .values(
        send_started_at=func.now(),
        attempts=deliveries.c.attempts + 1,
        lease_until=func.now() + _seconds(bindparam("lease", type_=Float())),
    )
    .returning(deliveries.c.id)
)


@dataclass(frozen=True)
class AttemptRecord:
    delivery_id: UUID
    attempt: int
    outcome: str
    started_at: datetime
    status_code: int | None = None
    error: str | None = None
    provider_message_id: str | None = None


async def record_attempt(db: Db, attempt: AttemptRecord) -> None:
    await db.execute(
        delivery_attempts.insert().values(
            delivery_id=attempt.delivery_id,
            attempt=attempt.attempt,
            outcome=attempt.outcome,
            status_code=attempt.status_code,
            error=attempt.error,
            provider_message_id=attempt.provider_message_id,
            started_at=attempt.started_at,
        )
    )


@dataclass(frozen=True)
class Outcome:
    """Where one claimed delivery goes after its attempt (``finish_many``)."""

    delivery_id: UUID
    claim_token: UUID
    status: str  # sent | pending (a retry at next_attempt_at) | failed
    attempts: int
    last_error: str | None = None
    next_attempt_at: datetime | None = None
    provider_message_id: str | None = None
    segments: int | None = None
    encoding: str | None = None


# One statement for a whole batch: the new values travel as one JSON array. As ``finish``,
# a row moves only if the claim still holds it; a retry forgets its send start, an end
# (sent, failed) gets its finish time.
_FINISH_MANY = text(
    """
    UPDATE deliveries AS d SET
        status = v.status,
        attempts = v.attempts,
        last_error = v.last_error,
        next_attempt_at = COALESCE(v.next_attempt_at, d.next_attempt_at),
        provider_message_id = COALESCE(v.provider_message_id, d.provider_message_id),
        segments = COALESCE(v.segments, d.segments),
        encoding = COALESCE(v.encoding, d.encoding),
        send_started_at = CASE WHEN v.status = 'pending' THEN NULL ELSE d.send_started_at END,
        finished_at = CASE WHEN v.status = 'pending' THEN d.finished_at ELSE now() END,
        lease_until = NULL,
        claim_token = NULL
    FROM jsonb_to_recordset(CAST(:outcomes AS jsonb)) AS v(
        delivery_id uuid, claim_token uuid, status text, attempts integer, last_error text,
        next_attempt_at timestamptz, provider_message_id text, segments integer, encoding text
    )
    WHERE d.id = v.delivery_id AND d.claim_token = v.claim_token AND d.status = 'sending'
    RETURNING d.*
    """
).bindparams(bindparam("outcomes", type_=Text()))


# ``_FINISH_MANY`` behind the insert of the attempts (what happened, always), in one round trip.
_RECORD_ATTEMPTS = """
    WITH recorded AS (
        INSERT INTO delivery_attempts (delivery_id, attempt, outcome, status_code, error,
            provider_message_id, started_at)
        SELECT a.delivery_id, a.attempt, a.outcome, a.status_code, a.error,
            a.provider_message_id, a.started_at
        FROM jsonb_to_recordset(CAST(:attempts AS jsonb)) AS a(
            delivery_id uuid, attempt integer, outcome text, status_code integer, error text,
            provider_message_id text, started_at timestamptz
        )
    )
    """
_RECORD_OUTCOMES = text(_RECORD_ATTEMPTS + str(_FINISH_MANY)).bindparams(
    bindparam("outcomes", type_=Text()), bindparam("attempts", type_=Text())
)


async def record_outcomes(
    db: Db, attempts: Sequence[AttemptRecord], outcomes: Sequence[Outcome]
) -> Sequence[Row[Any]]:
    """Every attempt of a batch inserted, and ``finish_many`` of their outcomes, in one
    statement: the rows that moved."""
    if not attempts and not outcomes:
        return []
    return (
        await db.execute(
            _RECORD_OUTCOMES,
            {
                "attempts": orjson.dumps(attempts, default=str).decode(),
                "outcomes": orjson.dumps(outcomes, default=str).decode(),
            },
        )
    ).all()


async def finish_many(db: Db, outcomes: Sequence[Outcome]) -> Sequence[Row[Any]]:
    """``finish`` for a batch, in one statement: the rows that moved (those whose claim
    still held them)."""
    if not outcomes:
        return []
    payload = orjson.dumps(outcomes, default=str).decode()  # asyncpg has its own UUID type
    return (await db.execute(_FINISH_MANY, {"outcomes": payload})).all()


async def finish(db: Db, delivery_id: UUID, claim_token: UUID, **values: Any) -> Row[Any] | None:
    """Move a claimed delivery on; None if this claim no longer holds it (taken over)."""
    return (
        await db.execute(
            update(deliveries)
            .where(_held(delivery_id, claim_token))
            .values(lease_until=None, claim_token=None, **values)
            .returning(*deliveries.c)
        )
    ).first()


_BACK_TO_PENDING: dict[str, Any] = {"status": "pending", "lease_until": None, "claim_token": None}


async def release_unstarted(db: Db, claim_tokens: Collection[UUID]) -> Sequence[UUID]:
    """A stopping worker's claimed rows whose send never started: back to pending, due now."""
    if not claim_tokens:
        return []
    released = await db.execute(
        update(deliveries)
        .where(
            deliveries.c.claim_token.in_(list(claim_tokens)),
            deliveries.c.status == "sending",
            deliveries.c.send_started_at.is_(None),
        )
        .values(**_BACK_TO_PENDING)
        .returning(deliveries.c.id)
    )
    return list(released.scalars())


INTERRUPTED = "interrupted: the sending worker stopped; resent with the same idempotency key"


async def reclaim_abandoned(db: Db, *, limit: int = 100) -> tuple[Sequence[UUID], Sequence[UUID]]:
    """Deliveries whose worker died (lease expired): ``(never started, interrupted)``, both
    back to pending and due now.

    A row whose send never started was not handed to a provider: it is simply tried again
    (its attempt count unchanged). A row whose send started may be with the provider: it is
    sent again under the same keys — the SMS with the same ``Idempotency-Key``, the email
    with the same ``Message-ID`` (both the delivery id) — so a provider that took it the
    first time answers with the original instead of sending it twice, and one that did not
    sends it now. The interrupted attempt stays counted.
    """

    params = {"limit": limit}
    returned = await db.execute(_RETURN_UNSTARTED, params)
    resumed = await db.execute(_RESUME_INTERRUPTED, params)
    return list(returned.scalars()), list(resumed.scalars())


def _stale(started: bool) -> CTE:
    return _once(
        select(deliveries.c.id)
        .where(
            deliveries.c.status == "sending",
            deliveries.c.lease_until < func.now(),
            deliveries.c.send_started_at.is_not(None)
            if started
            else deliveries.c.send_started_at.is_(None),
        )
        .limit(bindparam("limit"))
        .with_for_update(skip_locked=True),
        "stale",
    )


# Built once: the worker looks for abandoned rows every second, busy or idle.
_UNSTARTED, _STARTED = _stale(started=False), _stale(started=True)
_RETURN_UNSTARTED = (
    update(deliveries)
    .where(deliveries.c.id == _UNSTARTED.c.id)
    .values(**_BACK_TO_PENDING)
    .returning(deliveries.c.id)
)
_RESUME_INTERRUPTED = (
    update(deliveries)
    .where(deliveries.c.id == _STARTED.c.id)
    .values(
        **_BACK_TO_PENDING,
        send_started_at=None,
        next_attempt_at=func.now(),
        last_error=INTERRUPTED,
    )
    .returning(deliveries.c.id)
)


async def list_for_citizen(
    db: Db, citizen_id: UUID, *, limit: int, offset: int
) -> tuple[int, Sequence[Row[Any]]]:
    total = (
        await db.execute(
            select(func.count())
            .select_from(deliveries)
            .where(deliveries.c.citizen_id == citizen_id)
        )
    ).scalar_one()
    rows = (
        await db.execute(
            select(
                deliveries.c.id,
                deliveries.c.channel,
                deliveries.c.template,
                deliveries.c.language,
                deliveries.c.status,
                deliveries.c.attempts,
                deliveries.c.segments,
                deliveries.c.created_at,
                deliveries.c.finished_at,
            )
            .where(deliveries.c.citizen_id == citizen_id)
            .order_by(deliveries.c.created_at.desc(), deliveries.c.id)
            .limit(limit)
            .offset(offset)
        )
    ).all()
    return int(total), rows
