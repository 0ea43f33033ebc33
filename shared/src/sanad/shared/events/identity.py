"""Events the identity service publishes.

National IDs leave identity only as keyed pseudonyms (``sanad.shared.pseudonym``): profile,
the one consumer that looks at them, compares a dependent the citizen types in with the
citizen's own ID (not their own dependent), the accounts (a citizen with an account cannot be
claimed), the family register (a dependent must be in it) and the staff (nobody's
dependents) — and a pseudonym compares as well as the number. ``CitizenRegistered`` v3 and
``StaffAccountCreated`` v2 carry pseudonyms; their earlier versions, still replayed, carried
the numbers. ``CitizenRegistered`` v4 and ``StaffAccountCreated`` v3 add the id of the key the
pseudonyms were made with (v3 / v2 are under ``sanad.shared.pseudonym.ORIGINAL_KEY_ID``), and
``PseudonymsRekeyed`` re-announces an account's pseudonyms under a new key after a rotation.
``RegistrationAttempted``, ``OtpRequested`` and ``MobileChanged`` carry none."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal
from uuid import UUID

from pydantic import ConfigDict

from sanad.shared import topics
from sanad.shared.events.base import Language, Part
from sanad.shared.events.envelope import Event

FamilyRelationship = Literal["spouse", "son", "daughter", "father", "mother"]


# Version 1: the citizen without their family (still handled by consumers). No docstring: it
# would change the published schema.
class CitizenRegisteredV1(Event):
    model_config = ConfigDict(frozen=True, extra="forbid", title="CitizenRegistered")

    EVENT_TYPE = "CitizenRegistered"
    TOPIC = topics.CITIZEN_REGISTERED

    citizen_id: UUID
    national_id: str
    full_name_ar: str
    full_name_en: str
    nationality: str
    sex: Literal["M", "F"]
    birth_date: date
    marital_status: str
    mobile: str
    email: str | None = None
    language: Language = "ar"
    registered_at: datetime

    def aggregate_key(self) -> str:
        return str(self.citizen_id)


class FamilyMember(Part):
    """A relative of the citizen as the civil registry's family register holds them:
    ``relationship`` is what they are to the citizen (their son, their mother, ...)."""

    national_id: str
    relationship: FamilyRelationship
    full_name_ar: str
    full_name_en: str
    sex: Literal["M", "F"]
    birth_date: date


class CitizenRegistered(CitizenRegisteredV1):
    """Version 2: version 1 plus the citizen's family from the family register, so the
    profile service can check dependents without calling identity."""

    SCHEMA_VERSION = 2

    family: list[FamilyMember] = []


class RelativeRef(Part):
    """A relative in the family register, by pseudonym: what profile checks a claimed
    dependent against (the relationship and the birth date; the names are the citizen's to
    type)."""

    national_id_ref: str  # the relative's national ID's pseudonym
    relationship: FamilyRelationship
    birth_date: date


class CitizenRegisteredV3(Event):
    """Version 3: the citizen's national ID and their family's only as pseudonyms
    (``sanad.shared.pseudonym``), and of each relative only what profile checks. The
    registry's details of the citizen and the contact stay: profile shows them, notifications
    writes to them."""

    model_config = ConfigDict(frozen=True, extra="forbid", title="CitizenRegistered")

    EVENT_TYPE = "CitizenRegistered"
    SCHEMA_VERSION = 3
    TOPIC = topics.CITIZEN_REGISTERED

    citizen_id: UUID
    national_id_ref: str  # the citizen's national ID's pseudonym
    full_name_ar: str
    full_name_en: str
    nationality: str
    sex: Literal["M", "F"]
    birth_date: date
    marital_status: str
    mobile: str
    email: str | None = None
    language: Language = "ar"
    registered_at: datetime
    family: list[RelativeRef] = []

    def aggregate_key(self) -> str:
        return str(self.citizen_id)


class CitizenRegisteredV4(CitizenRegisteredV3):
    """Version 4: version 3 plus ``key_id``, the id of the pseudonym key its pseudonyms were
    made with, so they can be matched and replayed after the key is rotated."""

    SCHEMA_VERSION = 4

    key_id: str


class StaffAccountCreated(Event):
    """A caseworker, auditor or admin account: staff are nobody's dependents."""

    EVENT_TYPE = "StaffAccountCreated"
    TOPIC = topics.STAFF_ACCOUNT_CREATED

    account_id: UUID
    national_id: str
    role: Literal["caseworker", "auditor", "admin"]
    created_at: datetime

    def aggregate_key(self) -> str:
        return str(self.account_id)


class StaffAccountCreatedV2(Event):
    """Version 2: the staff member's national ID only as its pseudonym."""

    model_config = ConfigDict(frozen=True, extra="forbid", title="StaffAccountCreated")

    EVENT_TYPE = "StaffAccountCreated"
    SCHEMA_VERSION = 2
    TOPIC = topics.STAFF_ACCOUNT_CREATED

    account_id: UUID
    national_id_ref: str
    role: Literal["caseworker", "auditor", "admin"]
    created_at: datetime

    def aggregate_key(self) -> str:
        return str(self.account_id)


class StaffAccountCreatedV3(StaffAccountCreatedV2):
    """Version 3: version 2 plus ``key_id``, the id of the pseudonym key ``national_id_ref``
    was made with."""

    SCHEMA_VERSION = 3

    key_id: str


class RekeyedRelative(Part):
    """A relative of the family register under the previous key and under the new one."""

    previous_ref: str  # the relative's national ID's pseudonym under previous_key_id
    national_id_ref: str  # ... and under key_id


class PseudonymsRekeyed(Event):
    """After the pseudonym key was rotated, an account's pseudonyms under the new key, so
    profile can re-key what it holds (it never has the numbers): the holder's own national
    ID and, for a citizen, each family register relative's, with their pseudonym under the
    key the account was last announced with. Published by ``python -m sanad.identity
    rekey-pseudonyms``, once per account and key."""

    EVENT_TYPE = "PseudonymsRekeyed"
    TOPIC = topics.PSEUDONYMS_REKEYED

    account_id: UUID
    role: Literal["citizen", "caseworker", "auditor", "admin"]
    key_id: str  # the new (current) key's id
    national_id_ref: str  # the holder's national ID's pseudonym under key_id
    previous_key_id: str  # the key the account's pseudonyms were announced with before
    family: list[RekeyedRelative] = []
    rekeyed_at: datetime

    def aggregate_key(self) -> str:
        return str(self.account_id)


class RegistrationAttempted(Event):
    """Someone registered with the ID of an existing account (with matching details): the
    holder is told by SMS. Registration answers the same as for a new account."""

    EVENT_TYPE = "RegistrationAttempted"
    TOPIC = topics.REGISTRATION_ATTEMPTED

    citizen_id: UUID
    mobile: str  # the account's
    language: Language = "ar"
    attempted_at: datetime

    def aggregate_key(self) -> str:
        return str(self.citizen_id)


class OtpRequested(Event):
    """The code travels only as a token encrypted for the notifications service."""

    EVENT_TYPE = "OtpRequested"
    TOPIC = topics.OTP_REQUESTED

    registration_id: UUID
    purpose: Literal["registration"] = "registration"
    mobile: str
    language: Language = "ar"
    encrypted_code: str
    expires_at: datetime

    def aggregate_key(self) -> str:
        return str(self.registration_id)


class OtpRequestedV2(Event):
    """Version 2: a code for a registration or for a change of mobile (one to the old number,
    one to the new). ``request_id`` is the registration's or the mobile change's id."""

    model_config = ConfigDict(frozen=True, extra="forbid", title="OtpRequested")

    EVENT_TYPE = "OtpRequested"
    SCHEMA_VERSION = 2
    TOPIC = topics.OTP_REQUESTED

    request_id: UUID
    purpose: Literal["registration", "mobile_change"]
    mobile: str
    language: Language = "ar"
    encrypted_code: str
    expires_at: datetime

    def aggregate_key(self) -> str:
        return str(self.request_id)


class MobileChanged(Event):
    """A citizen's mobile changed, after the registry check and codes to both numbers."""

    EVENT_TYPE = "MobileChanged"
    TOPIC = topics.MOBILE_CHANGED

    citizen_id: UUID
    mobile: str
    changed_at: datetime

    def aggregate_key(self) -> str:
        return str(self.citizen_id)
