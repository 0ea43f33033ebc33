"""Kafka handlers: the holder's names from ProfileUpdated; decisions from DecisionIssued.

They run in the inbox's transaction (``sanad.shared.inbox``): a card issued or suspended, and
its event in the outbox, commit with the event's processed mark or not at all.

DecisionIssued v3 carries the program's card terms as the catalog held them when deciding
(``program.card_on_approval``, ``program.card_validity_days``, its names). v1 and v2 do not:
their approvals are recorded (so the citizen can ask for a card) but issue nothing by
themselves, and their cards are valid for ``DEFAULT_VALIDITY_DAYS``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from sanad.cards import service
from sanad.cards.domain.card import DecisionRecord
from sanad.shared.app import ConsumerRegistrar, Runtime
from sanad.shared.clock import Clock
from sanad.shared.events import (
    DecisionIssued,
    DecisionIssuedV2,
    DecisionIssuedV3,
    Envelope,
    ProfileUpdated,
    ProfileUpdatedV2,
)
from sanad.shared.inbox import Handler, Handlers
from sanad.shared.topics import SUBSCRIPTIONS

GROUP = "cards"
DEFAULT_VALIDITY_DAYS = 365
# Only these decide whether an approval stands; NEEDS_COMPLETION and UNDER_REVIEW of a new
# application change nothing about a card.
FINAL = ("APPROVED", "REJECTED")


def record_of(event: DecisionIssued) -> DecisionRecord:
    terms = event.program if isinstance(event, DecisionIssuedV3) else None
    return DecisionRecord(
        citizen_id=event.citizen_id,
        program_code=event.program_code,
        decision_id=event.decision_id,
        application_id=event.application_id,
        decision=event.decision,
        decided_at=event.decided_at,
        monthly_benefit=event.monthly_benefit,
        program_name_ar=terms.name_ar if terms else event.program_code,
        program_name_en=terms.name_en if terms else event.program_code,
        card_on_approval=terms.card_on_approval if terms else None,
        card_validity_days=terms.card_validity_days if terms else DEFAULT_VALIDITY_DAYS,
    )


def on_decision_issued(clock: Clock) -> Handler:
    async def handle(session: AsyncSession, event: DecisionIssued, envelope: Envelope) -> None:
        if event.decision in FINAL:
            await service.apply_decision(session, record_of(event), clock.now())

    return handle


def on_profile_updated(clock: Clock) -> Handler:
    async def handle(
        session: AsyncSession, event: ProfileUpdated | ProfileUpdatedV2, envelope: Envelope
    ) -> None:
        """Only the holder's names (the same in both versions)."""
        names = (event.registry.full_name_ar, event.registry.full_name_en)
        await service.apply_holder(session, event.citizen_id, event.version, names, clock.now())

    return handle


def handlers(clock: Clock) -> Handlers:
    decided = on_decision_issued(clock)
    return {
        DecisionIssued: decided,
        DecisionIssuedV2: decided,
        DecisionIssuedV3: decided,
        ProfileUpdated: on_profile_updated(clock),
        ProfileUpdatedV2: on_profile_updated(clock),
    }


def routes(clock: Clock) -> dict[str, Any]:
    """What the inbox runs for each event type (``Inbox.subscribe``'s handler arguments):
    the service registers these, and ``bench/consumers_cpu.py`` measures the same."""
    return {"handlers": handlers(clock)}


def consumers(clock: Clock) -> ConsumerRegistrar:
    def register(runtime: Runtime) -> None:
        runtime.require_inbox().subscribe(
            group_id=GROUP, topics=SUBSCRIPTIONS[GROUP], **routes(clock)
        )

    return register
