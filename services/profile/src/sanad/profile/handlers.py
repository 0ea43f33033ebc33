"""Kafka handlers: a citizen's profile starts when their registration completes (with, from
CitizenRegistered v2, their family as the civil registry's family register holds it); staff
IDs are kept so that staff are nobody's dependents; a change of mobile updates the contact."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from sanad.profile import repository
from sanad.profile.domain.profile import Profile
from sanad.shared import outbox
from sanad.shared.app import Runtime
from sanad.shared.events import (
    CitizenRegistered,
    CitizenRegisteredV1,
    Envelope,
    MobileChanged,
    StaffAccountCreated,
)
from sanad.shared.logging import get_logger
from sanad.shared.topics import SUBSCRIPTIONS

log = get_logger(__name__)
GROUP = "profile"


async def on_citizen_registered(
    session: AsyncSession, event: CitizenRegisteredV1, envelope: Envelope
) -> None:
    """Create the profile pre-filled from the registry and publish its version 1. Version 1
    of the event carries no family: such a profile can claim no dependents."""
    profile = Profile.from_registration(event)
    if not await repository.insert_new(session, profile):
        # The same citizen registered under another event id: the profile already exists.
        log.info("profile_already_exists")
        return
    if isinstance(event, CitizenRegistered):
        await repository.save_family(session, event.citizen_id, event.family)
    await outbox.publish(session, profile.to_event())
    log.debug("profile_created")


async def on_staff_account_created(
    session: AsyncSession, event: StaffAccountCreated, envelope: Envelope
) -> None:
    await repository.add_staff(session, event.national_id, event.account_id)


class ProfileNotYetCreated(LookupError):
    """Retried by the inbox: the citizen's CitizenRegistered (another topic) comes first."""


async def on_mobile_changed(
    session: AsyncSession, event: MobileChanged, envelope: Envelope
) -> None:
    """The contact follows identity's change of mobile; ProfileUpdated carries it on."""
    current = await repository.load(session, event.citizen_id, for_update=True)
    if current is None:
        raise ProfileNotYetCreated(str(event.citizen_id))
    if current.contact.mobile == event.mobile:
        return
    updated = current.with_mobile(event.mobile)
    await repository.save(session, current, updated)
    await outbox.publish(session, updated.to_event())


def register_consumers(runtime: Runtime) -> None:
    runtime.require_inbox().subscribe(
        group_id=GROUP,
        topics=SUBSCRIPTIONS[GROUP],
        handlers={
            CitizenRegisteredV1: on_citizen_registered,
            CitizenRegistered: on_citizen_registered,
            StaffAccountCreated: on_staff_account_created,
            MobileChanged: on_mobile_changed,
        },
    )
