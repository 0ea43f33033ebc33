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
from sanad.shared.inbox import Handler, Handlers
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
    await _queue(session, envelope, plan_otp(event, envelope.occurred_at))


async def on_registration_attempted(
    session: AsyncSession, event: RegistrationAttempted, envelope: Envelope
) -> None:
    await _queue(session, envelope, plan_registration_attempted(event))


async def on_card_issued(session: AsyncSession, event: CardIssued, envelope: Envelope) -> None:
    contact = await repository.contact_for(session, event.citizen_id)
    await _queue(session, envelope, plan_card(event, contact))


def on_decision_issued(settings: NotificationsSettings) -> Handler:
    async def handle(session: AsyncSession, event: DecisionIssued, envelope: Envelope) -> None:
        contact = await repository.contact_for(session, event.citizen_id)
        planned = plan_decision(event, contact, appeal_window_days=settings.appeal_window_days)
        await _queue(session, envelope, planned)

    return handle


async def _queue(session: AsyncSession, envelope: Envelope, planned: list[PlannedDelivery]) -> None:
    queued = await repository.queue(session, envelope, planned)
    log.debug("deliveries_queued", count=queued)


def handlers(settings: NotificationsSettings) -> Handlers:
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
        DecisionIssued: on_decision_issued(settings),
        # v2 adds the rule-set version, evaluation and appeal: the messages are the same.
        DecisionIssuedV2: on_decision_issued(settings),
        # v3 adds the program's names and card terms (for the cards service): the same too.
        DecisionIssuedV3: on_decision_issued(settings),
        CardIssued: on_card_issued,
    }


def routes(settings: NotificationsSettings) -> dict[str, Any]:
    """What the inbox runs for each event type (``Inbox.subscribe``'s handler arguments):
    the service registers these, and ``bench/consumers_cpu.py`` measures the same."""
    return {"handlers": handlers(settings)}


def register_consumers(runtime: Runtime) -> None:
    settings = runtime.settings
    assert isinstance(settings, NotificationsSettings)
    runtime.require_inbox().subscribe(
        group_id=settings.consumer_group, topics=settings.topics, **routes(settings)
    )
