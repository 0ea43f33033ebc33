"""Kafka handlers: keep contacts current and queue the deliveries an event asks for.

They run in the inbox transaction (``sanad.shared.inbox``), so the decision to send
(delivery rows, unique per event and channel) commits with the event's processed mark.
Nothing is sent here: the delivery worker does that.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from sanad.notifications import repository
from sanad.notifications.domain.planning import plan_card, plan_decision, plan_otp
from sanad.notifications.settings import NotificationsSettings
from sanad.shared.app import Runtime
from sanad.shared.events import (
    CardIssued,
    CitizenRegistered,
    DecisionIssued,
    Envelope,
    OtpRequested,
    ProfileUpdated,
)
from sanad.shared.inbox import Handler, subscribe
from sanad.shared.logging import get_logger

log = get_logger(__name__)


def make_handler(settings: NotificationsSettings) -> Handler:
    async def handle(session: AsyncSession, envelope: Envelope) -> None:
        event = envelope.open()
        match event:
            case CitizenRegistered():
                await repository.register_contact(session, event)
                return
            case ProfileUpdated():
                await repository.apply_profile(session, event)
                return
            case OtpRequested():
                planned = plan_otp(event, envelope.occurred_at)
            case DecisionIssued():
                contact = await repository.contact_for(session, event.citizen_id)
                planned = plan_decision(
                    event, contact, appeal_window_days=settings.appeal_window_days
                )
            case CardIssued():
                contact = await repository.contact_for(session, event.citizen_id)
                planned = plan_card(event, contact)
            case _:
                log.info("event_ignored")
                return
        queued = await repository.queue(session, envelope, planned)
        log.info("deliveries_queued", count=queued)

    return handle


def register_consumers(runtime: Runtime) -> None:
    settings = runtime.settings
    assert isinstance(settings, NotificationsSettings)
    subscribe(
        runtime.broker,
        group_id=settings.consumer_group,
        topics=settings.topics,
        handler=make_handler(settings),
        sessions=runtime.require_sessions(),
    )
