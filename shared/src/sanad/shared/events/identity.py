"""Events the identity service publishes.

National IDs travel only where a consumer needs them: ``CitizenRegistered`` carries the
citizen's (profile refuses them as their own dependent and knows who has an account) and, from
version 2, their family as the civil registry's family register holds it (profile accepts a
dependent only when the register confirms the relation); ``StaffAccountCreated`` carries the
staff member's (profile refuses staff as anybody's dependent). ``RegistrationAttempted`` and
``OtpRequested`` and ``MobileChanged`` carry none."""

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
