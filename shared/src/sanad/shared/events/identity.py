"""Events the identity service publishes."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal
from uuid import UUID

from sanad.shared import topics
from sanad.shared.events.base import Language
from sanad.shared.events.envelope import Event


class CitizenRegistered(Event):
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
