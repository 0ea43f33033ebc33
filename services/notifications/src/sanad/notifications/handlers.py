"""Kafka handlers: keep contacts current and queue the deliveries an event asks for.

They run in the inbox transaction (``sanad.shared.inbox``), so the decision to send
(delivery rows, unique per event and channel) commits with the event's processed mark.
Nothing is sent here: the delivery worker does that.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from sanad.notifications import repository
from sanad.notifications.domain.planning import (
    PlannedDelivery,
    plan_card,
    plan_decision,
    plan_otp,
    plan_registration_attempted,
)
from sanad.notifications.settings import NotificationsSettings
from sanad.shared.app import Runtime
from sanad.shared.events import (
    CardIssued,
    CitizenRegistered,
    CitizenRegisteredV1,
    CitizenRegisteredV3,
    CitizenRegisteredV4,
    ContactChanged,
    DecisionIssued,
    DecisionIssuedV2,
    DecisionIssuedV3,
    Envelope,
    OtpRequested,
    OtpRequestedV2,
    ProfileUpdated,
    ProfileUpdatedV2,
    RegistrationAttempted,
)
from sanad.shared.inbox import BatchHandler, BatchHandlers, Handlers
from sanad.shared.logging import get_logger

log = get_logger(__name__)


async def on_citizen_registered(
    session: AsyncSession, event: CitizenRegisteredV1 | CitizenRegisteredV3, envelope: Envelope
) -> None:
    """Every version alike: the contact and the names (the family, and from version 3 the
    pseudonyms, are profile's)."""
    await repository.register_contact(session, event)


async def on_contact_changed(
    session: AsyncSession, event: ContactChanged | ProfileUpdated, envelope: Envelope
) -> None:
    """ContactChanged, and ProfileUpdated version 1 (the history: it carried the contact)."""
    await repository.apply_contact(session, event)


async def on_profile_updated_v2(
    session: AsyncSession, event: ProfileUpdatedV2, envelope: Envelope
) -> None:
    """Nothing this service uses: version 2 carries no contact (ContactChanged does)."""


async def on_otp_requested(
    session: AsyncSession, event: OtpRequested | OtpRequestedV2, envelope: Envelope
) -> None:
    await _queue(session, [(envelope, plan_otp(event, envelope.occurred_at))])


async def on_registration_attempted(
    session: AsyncSession, event: RegistrationAttempted, envelope: Envelope
) -> None:
    await _queue(session, [(envelope, plan_registration_attempted(event))])


def on_cards_issued() -> BatchHandler:
    """Every CardIssued of a partition's batch at once: one read of the holders' contacts,
    one INSERT of their deliveries."""

    async def handle(session: AsyncSession, items: list[tuple[CardIssued, Envelope]]) -> None:
        contacts = await repository.contacts_for(session, {e.citizen_id for e, _ in items})
        await _queue(session, [(env, plan_card(e, contacts.get(e.citizen_id))) for e, env in items])

    return handle


def on_decisions_issued(settings: NotificationsSettings) -> BatchHandler:
    """Every DecisionIssued of a partition's batch at once (one version at a time: the inbox
    passes runs of one type and version), as for cards."""

    async def handle(session: AsyncSession, items: list[tuple[DecisionIssued, Envelope]]) -> None:
        contacts = await repository.contacts_for(session, {e.citizen_id for e, _ in items})
        days = settings.appeal_window_days
        planned = [
            (env, plan_decision(e, contacts.get(e.citizen_id), appeal_window_days=days))
            for e, env in items
        ]
        await _queue(session, planned)

    return handle


async def _queue(
    session: AsyncSession, planned: list[tuple[Envelope, list[PlannedDelivery]]]
) -> None:
    queued = await repository.queue_many(session, planned)
    log.debug("deliveries_queued", count=queued)


def handlers(settings: NotificationsSettings) -> Handlers:
    """The events handled one at a time (rare: codes, contacts)."""
    return {
        CitizenRegisteredV1: on_citizen_registered,
        CitizenRegistered: on_citizen_registered,
        CitizenRegisteredV3: on_citizen_registered,
        CitizenRegisteredV4: on_citizen_registered,  # v3 plus the pseudonym key id
        RegistrationAttempted: on_registration_attempted,
        ProfileUpdated: on_contact_changed,
        ProfileUpdatedV2: on_profile_updated_v2,
        ContactChanged: on_contact_changed,
        OtpRequested: on_otp_requested,
        OtpRequestedV2: on_otp_requested,
    }


def batch_handlers(settings: NotificationsSettings) -> BatchHandlers:
    """The events of every application (a decision, a card), a partition's batch at once."""
    decided = on_decisions_issued(settings)
    return {
        DecisionIssued: decided,
        # v2 adds the rule-set version, evaluation and appeal: the messages are the same.
        DecisionIssuedV2: decided,
        # v3 adds the program's names and card terms (for the cards service): the same too.
        DecisionIssuedV3: decided,
        CardIssued: on_cards_issued(),
    }


def routes(settings: NotificationsSettings) -> dict[str, Any]:
    """What the inbox runs for each event type (``Inbox.subscribe``'s handler arguments):
    the service registers these, and ``bench/consumers_cpu.py`` measures the same."""
    return {"handlers": handlers(settings), "batch_handlers": batch_handlers(settings)}


def register_consumers(runtime: Runtime) -> None:
    settings = runtime.settings
    assert isinstance(settings, NotificationsSettings)
    runtime.require_inbox().subscribe(
        group_id=settings.consumer_group, topics=settings.topics, **routes(settings)
    )
