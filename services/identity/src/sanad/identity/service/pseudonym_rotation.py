"""Re-announcing every account's pseudonyms after the pseudonym key was rotated.

Profile keeps identity's national IDs only as pseudonyms and never has the numbers, so it
cannot re-key its tables itself: identity, which has them, publishes a ``PseudonymsRekeyed``
per account still announced under a previous key — the holder's pseudonym under the new key,
and for a citizen each family register relative's under the previous key and the new one.
Each batch is one transaction: the events go to the outbox and the accounts are marked with
the new key's id together, so a crash loses nothing and a second run finds nothing left.
Accounts under a key this identity does not hold are counted, not touched: without that key
their previous pseudonyms cannot be made (add it to the previous keys and run again).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import func, select, update

from sanad.identity.adapters.civil_registry import TableCivilRegistry
from sanad.identity.models import accounts
from sanad.shared import outbox
from sanad.shared.auth import Role
from sanad.shared.clock import Clock, SystemClock
from sanad.shared.db import SessionFactory
from sanad.shared.events import PseudonymsRekeyed, RekeyedRelative
from sanad.shared.logging import get_logger
from sanad.shared.pseudonym import Pseudonyms

log = get_logger(__name__)
BATCH_SIZE = 200


@dataclass(frozen=True)
class RotationReport:
    """What one run did and what it left."""

    rekeyed: int  # accounts re-announced under the current key by this run
    # Accounts under keys this identity does not hold, by key id: re-announced by no run
    # until the key is given as a previous key.
    unheld: dict[str, int] = field(default_factory=dict)


async def accounts_by_key(sessions: SessionFactory, pseudonyms: Pseudonyms) -> dict[str, int]:
    """How many accounts were last announced under each key but the current one."""
    async with sessions() as session:
        rows = await session.execute(
            select(accounts.c.pseudonym_key_id, func.count())
            .where(accounts.c.pseudonym_key_id != pseudonyms.key_id)
            .group_by(accounts.c.pseudonym_key_id)
        )
        return {key_id: int(count) for key_id, count in rows.all()}


async def rekey_batch(
    sessions: SessionFactory,
    pseudonyms: Pseudonyms,
    *,
    batch_size: int = BATCH_SIZE,
    clock: Clock | None = None,
) -> int:
    """Re-announce up to ``batch_size`` accounts under a previous key held, in one
    transaction; how many. Rows another run holds are skipped (SKIP LOCKED), so two runs
    share the work instead of announcing an account twice."""
    if not pseudonyms.previous_ids:
        return 0
    now = (clock or SystemClock()).now()
    async with sessions() as session, session.begin():
        rows = (
            await session.execute(
                select(
                    accounts.c.id,
                    accounts.c.national_id,
                    accounts.c.role,
                    accounts.c.pseudonym_key_id,
                )
                .where(accounts.c.pseudonym_key_id.in_(pseudonyms.previous_ids))
                .order_by(accounts.c.pseudonym_key_id, accounts.c.id)
                .limit(batch_size)
                .with_for_update(skip_locked=True)
            )
        ).all()
        if not rows:
            return 0
        registry = TableCivilRegistry(session)
        for row in rows:
            previous = row.pseudonym_key_id
            relatives = (
                await registry.family(row.national_id) if row.role == Role.CITIZEN.value else []
            )
            event = PseudonymsRekeyed(
                account_id=row.id,
                role=row.role,
                key_id=pseudonyms.key_id,
                national_id_ref=pseudonyms.of(row.national_id),
                previous_key_id=previous,
                family=[
                    RekeyedRelative(
                        previous_ref=pseudonyms.under(previous, m.record.national_id),
                        national_id_ref=pseudonyms.of(m.record.national_id),
                    )
                    for m in relatives
                ],
                rekeyed_at=now,
            )
            await outbox.publish(session, event)
        await session.execute(
            update(accounts)
            .where(accounts.c.id.in_([row.id for row in rows]))
            .values(pseudonym_key_id=pseudonyms.key_id)
        )
    log.info("pseudonyms_rekeyed", accounts=len(rows), key_id=pseudonyms.key_id)
    return len(rows)


async def rekey_all(
    sessions: SessionFactory,
    pseudonyms: Pseudonyms,
    *,
    batch_size: int = BATCH_SIZE,
    progress: Callable[[int, int], None] | None = None,
    clock: Clock | None = None,
) -> RotationReport:
    """Re-announce every account still under a previous key held, batch by batch, calling
    ``progress(done, total)`` after each; resumable (a run after a crash takes up what is
    left) and idempotent (a second run re-announces nothing)."""
    pending = await accounts_by_key(sessions, pseudonyms)
    total = sum(count for key_id, count in pending.items() if pseudonyms.holds(key_id))
    unheld = {key_id: n for key_id, n in pending.items() if not pseudonyms.holds(key_id)}
    done = 0
    if progress is not None:
        progress(done, total)
    while count := await rekey_batch(sessions, pseudonyms, batch_size=batch_size, clock=clock):
        done += count
        if progress is not None:
            progress(done, max(total, done))  # accounts may have arrived under an old key
    if unheld:
        log.warning("pseudonym_keys_not_held", accounts=unheld)
    return RotationReport(rekeyed=done, unheld=unheld)
