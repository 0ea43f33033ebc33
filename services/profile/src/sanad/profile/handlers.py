"""Kafka handlers: a citizen's profile starts when their registration completes."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from sanad.profile import repository
from sanad.profile.domain.profile import Profile
from sanad.shared import outbox
from sanad.shared.app import Runtime
from sanad.shared.events import CitizenRegistered, Envelope
from sanad.shared.logging import get_logger
from sanad.shared.topics import SUBSCRIPTIONS

log = get_logger(__name__)
GROUP = "profile"


async def on_citizen_registered(
    session: AsyncSession, event: CitizenRegistered, envelope: Envelope
) -> None:
    """Create the profile pre-filled from the registry and publish its version 1."""
    profile = Profile.from_registration(event)
    if not await repository.insert_new(session, profile):
        # The same citizen registered under another event id: the profile already exists.
        log.info("profile_already_exists")
        return
    await outbox.publish(session, profile.to_event())
    log.debug("profile_created")


def register_consumers(runtime: Runtime) -> None:
    runtime.require_inbox().subscribe(
        group_id=GROUP,
        topics=SUBSCRIPTIONS[GROUP],
        handlers={CitizenRegistered: on_citizen_registered},
    )
