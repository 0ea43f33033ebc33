"""Kafka handlers: a citizen's profile starts when their registration completes (with, from
CitizenRegistered v2, their family as the civil registry's family register holds it); staff
IDs are kept so that staff are nobody's dependents; a change of mobile updates the contact.

Identity's national IDs are kept only as pseudonyms: versions 3 (CitizenRegistered) and 2
(StaffAccountCreated) carry nothing else; for the earlier versions, still replayed, the
pseudonym is made here and the number dropped."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from sanad.profile import repository
from sanad.profile.domain.profile import Profile
from sanad.profile.settings import ProfileSettings
from sanad.shared import outbox
from sanad.shared.app import Runtime
from sanad.shared.events import (
    CitizenRegistered,
    CitizenRegisteredV1,
    CitizenRegisteredV3,
    Envelope,
    MobileChanged,
    RelativeRef,
    StaffAccountCreated,
    StaffAccountCreatedV2,
)
from sanad.shared.inbox import Handler, Handlers
from sanad.shared.logging import get_logger
from sanad.shared.pseudonym import Pseudonyms
from sanad.shared.topics import SUBSCRIPTIONS

log = get_logger(__name__)
GROUP = "profile"


def on_citizen_registered(pseudonyms: Pseudonyms) -> Handler:
    async def handle(
        session: AsyncSession,
        event: CitizenRegisteredV1 | CitizenRegisteredV3,
        envelope: Envelope,
    ) -> None:
        """Create the profile pre-filled from the registry and publish its version 1.
        Version 1 of the event carries no family: such a profile can claim no dependents."""
        if isinstance(event, CitizenRegisteredV3):
            national_id_ref, family = event.national_id_ref, event.family
        else:
            national_id_ref = pseudonyms.of(event.national_id)
            family = [
                RelativeRef(
                    national_id_ref=pseudonyms.of(member.national_id),
                    relationship=member.relationship,
                    birth_date=member.birth_date,
                )
                for member in (event.family if isinstance(event, CitizenRegistered) else [])
            ]
        profile = Profile.from_registration(event, national_id_ref)
        if not await repository.insert_new(session, profile):
            # The same citizen registered under another event id: the profile already exists.
            log.info("profile_already_exists")
            return
        await repository.save_family(session, event.citizen_id, family)
        await outbox.publish(session, profile.to_event())
        log.debug("profile_created")

    return handle


def on_staff_account_created(pseudonyms: Pseudonyms) -> Handler:
    async def handle(
        session: AsyncSession,
        event: StaffAccountCreated | StaffAccountCreatedV2,
        envelope: Envelope,
    ) -> None:
        national_id_ref = (
            event.national_id_ref
            if isinstance(event, StaffAccountCreatedV2)
            else pseudonyms.of(event.national_id)
        )
        await repository.add_staff(session, national_id_ref, event.account_id)

    return handle


class ProfileNotYetCreated(LookupError):
    """Retried by the inbox: the citizen's CitizenRegistered (another topic) comes first."""


async def on_mobile_changed(
    session: AsyncSession, event: MobileChanged, envelope: Envelope
) -> None:
    """The contact follows identity's change of mobile: ContactChanged tells notifications,
    ProfileUpdated (no contact) the version's other readers."""
    current = await repository.load(session, event.citizen_id, for_update=True)
    if current is None:
        raise ProfileNotYetCreated(str(event.citizen_id))
    if current.contact.mobile == event.mobile:
        return
    updated = current.with_mobile(event.mobile)
    await repository.save(session, current, updated)
    await outbox.publish(session, updated.to_event())
    await outbox.publish(session, updated.contact_event())


def handlers(pseudonyms: Pseudonyms) -> Handlers:
    registered = on_citizen_registered(pseudonyms)
    staff = on_staff_account_created(pseudonyms)
    return {
        CitizenRegisteredV1: registered,
        CitizenRegistered: registered,
        CitizenRegisteredV3: registered,
        StaffAccountCreated: staff,
        StaffAccountCreatedV2: staff,
        MobileChanged: on_mobile_changed,
    }


def register_consumers(runtime: Runtime) -> None:
    settings = runtime.settings
    assert isinstance(settings, ProfileSettings)
    runtime.require_inbox().subscribe(
        group_id=GROUP, topics=SUBSCRIPTIONS[GROUP], handlers=handlers(settings.pseudonyms)
    )
