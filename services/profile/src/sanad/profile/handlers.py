"""Kafka handlers: a citizen's profile starts when their registration completes (with, from
CitizenRegistered v2, their family as the civil registry's family register holds it); staff
IDs are kept so that staff are nobody's dependents; a change of mobile updates the contact.

Identity's national IDs are kept only as pseudonyms, each with the id of the key it was made
under: versions 4 (CitizenRegistered) and 3 (StaffAccountCreated) carry it; versions 3 and 2
carry pseudonyms under the original key (``ORIGINAL_KEY_ID``); for the earlier versions,
still replayed, the pseudonym is made here under the current key and the number dropped.
After a rotation of the key, identity's PseudonymsRekeyed re-keys an account's rows."""

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
    CitizenRegisteredV4,
    Envelope,
    MobileChanged,
    PseudonymsRekeyed,
    RelativeRef,
    StaffAccountCreated,
    StaffAccountCreatedV2,
    StaffAccountCreatedV3,
)
from sanad.shared.inbox import Handler, Handlers
from sanad.shared.logging import get_logger
from sanad.shared.pseudonym import ORIGINAL_KEY_ID, Pseudonyms
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
            key_id = _key_of(event, pseudonyms)
        else:
            national_id_ref, key_id = pseudonyms.of(event.national_id), pseudonyms.key_id
            family = [
                RelativeRef(
                    national_id_ref=pseudonyms.of(member.national_id),
                    relationship=member.relationship,
                    birth_date=member.birth_date,
                )
                for member in (event.family if isinstance(event, CitizenRegistered) else [])
            ]
        profile = Profile.from_registration(event, national_id_ref)
        if not await repository.insert_new(session, profile, key_id):
            # The same citizen registered under another event id: the profile already exists.
            log.info("profile_already_exists")
            return
        await repository.save_family(session, event.citizen_id, family, key_id)
        await outbox.publish(session, profile.to_event())
        log.debug("profile_created")

    return handle


def on_staff_account_created(pseudonyms: Pseudonyms) -> Handler:
    async def handle(
        session: AsyncSession,
        event: StaffAccountCreated | StaffAccountCreatedV2,
        envelope: Envelope,
    ) -> None:
        if isinstance(event, StaffAccountCreatedV2):
            national_id_ref, key_id = event.national_id_ref, _key_of(event, pseudonyms)
        else:
            national_id_ref, key_id = pseudonyms.of(event.national_id), pseudonyms.key_id
        await repository.add_staff(session, national_id_ref, event.account_id, key_id)

    return handle


def _key_of(
    event: CitizenRegisteredV3 | StaffAccountCreatedV2 | PseudonymsRekeyed,
    pseudonyms: Pseudonyms,
) -> str:
    """The id of the key the event's pseudonyms were made with: the one it carries, else the
    original key's. Stored beside the pseudonym whether or not this service holds the key
    (an instance not yet restarted with a new key must not lose the event), but a key not
    held cannot match a typed ID: said loudly, by id."""
    key_id = (
        event.key_id
        if isinstance(event, CitizenRegisteredV4 | StaffAccountCreatedV3 | PseudonymsRekeyed)
        else ORIGINAL_KEY_ID
    )
    if not pseudonyms.holds(key_id):
        log.warning("pseudonym_key_not_held", key_id=key_id, event_type=event.EVENT_TYPE)
    return key_id


class AccountNotYetKnown(LookupError):
    """Retried by the inbox: the account's CitizenRegistered or StaffAccountCreated (another
    topic) comes first."""


def on_pseudonyms_rekeyed(pseudonyms: Pseudonyms) -> Handler:
    async def handle(session: AsyncSession, event: PseudonymsRekeyed, envelope: Envelope) -> None:
        """Move the account's rows to the new key: the holder's pseudonym, and a citizen's
        family register rows still under the key the account was announced with. Again, or
        after a later rotation, it changes nothing."""
        if event.previous_key_id == event.key_id:
            return
        key_id = _key_of(event, pseudonyms)
        if event.role == "citizen":
            known = await repository.rekey_citizen(
                session,
                event.account_id,
                event.national_id_ref,
                key_id,
                previous_key_id=event.previous_key_id,
                family=[(m.previous_ref, m.national_id_ref) for m in event.family],
            )
        else:
            known = await repository.rekey_staff(
                session,
                event.account_id,
                event.national_id_ref,
                key_id,
                previous_key_id=event.previous_key_id,
            )
        if not known:
            raise AccountNotYetKnown(str(event.account_id))
        log.debug("pseudonyms_rekeyed", key_id=key_id)

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
        CitizenRegisteredV4: registered,
        StaffAccountCreated: staff,
        StaffAccountCreatedV2: staff,
        StaffAccountCreatedV3: staff,
        MobileChanged: on_mobile_changed,
        PseudonymsRekeyed: on_pseudonyms_rekeyed(pseudonyms),
    }


def register_consumers(runtime: Runtime) -> None:
    settings = runtime.settings
    assert isinstance(settings, ProfileSettings)
    runtime.require_inbox().subscribe(
        group_id=GROUP, topics=SUBSCRIPTIONS[GROUP], handlers=handlers(settings.pseudonyms)
    )
