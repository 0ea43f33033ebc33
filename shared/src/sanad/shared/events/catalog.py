"""Every event payload, by type and schema version.

A published (type, version) never changes shape: its JSON Schema is checked in under
``shared/schemas`` and a test compares. A new shape is a new version, added beside the old.
Money is a decimal string; dates are ISO 8601; national IDs appear only where a consumer
needs them (profile checks dependents against the citizen's own ID).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict

from sanad.shared import topics
from sanad.shared.events.envelope import Event

Language = Literal["ar", "en"]
Decision = Literal["APPROVED", "REJECTED", "NEEDS_COMPLETION", "UNDER_REVIEW"]


class _Part(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


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


class Contact(_Part):
    mobile: str
    email: str | None = None
    language: Language = "ar"


class Household(_Part):
    household_size: int
    total_monthly_income: Decimal
    total_property_value: Decimal


class ProfileUpdated(Event):
    """Event-carried state: the whole profile, versioned per citizen so stale copies lose."""

    EVENT_TYPE = "ProfileUpdated"
    TOPIC = topics.PROFILE_UPDATED

    citizen_id: UUID
    version: int
    contact: Contact
    household: Household
    sections: dict[str, Any]
    dependents: list[dict[str, Any]]

    def aggregate_key(self) -> str:
        return str(self.citizen_id)


class SubmittedDocument(_Part):
    document_type: str
    content_type: str
    size_bytes: int


class ApplicationSubmitted(Event):
    EVENT_TYPE = "ApplicationSubmitted"
    TOPIC = topics.APPLICATION_SUBMITTED

    application_id: UUID
    citizen_id: UUID
    program_code: str
    submitted_at: datetime
    form: dict[str, Any]
    household_snapshot: dict[str, Any]
    documents: list[SubmittedDocument]

    def aggregate_key(self) -> str:
        return str(self.application_id)


class Criterion(_Part):
    code: str
    passed: bool
    observed: str | None
    required: str | None
    reason_ar: str
    reason_en: str


class EligibilityEvaluated(Event):
    EVENT_TYPE = "EligibilityEvaluated"
    TOPIC = topics.ELIGIBILITY_EVALUATED

    evaluation_id: UUID
    application_id: UUID
    citizen_id: UUID
    program_code: str
    rule_set_version: str
    eligible: bool
    flagged_for_review: bool = False
    criteria: list[Criterion]
    monthly_benefit: Decimal

    def aggregate_key(self) -> str:
        return str(self.application_id)


class Reason(_Part):
    code: str
    reason_ar: str
    reason_en: str


class DecisionIssued(Event):
    EVENT_TYPE = "DecisionIssued"
    TOPIC = topics.DECISION_ISSUED

    decision_id: UUID
    application_id: UUID
    citizen_id: UUID
    program_code: str
    decision: Decision
    reasons: list[Reason]
    missing_documents: list[str] = []
    monthly_benefit: Decimal | None = None
    respond_by: date | None = None
    decided_by: str
    decided_at: datetime

    def aggregate_key(self) -> str:
        return str(self.application_id)


class AppealFiled(Event):
    EVENT_TYPE = "AppealFiled"
    TOPIC = topics.APPEAL_FILED

    appeal_id: UUID
    application_id: UUID
    citizen_id: UUID
    program_code: str
    reason: str
    filed_at: datetime

    def aggregate_key(self) -> str:
        return str(self.application_id)


class CardIssued(Event):
    EVENT_TYPE = "CardIssued"
    TOPIC = topics.CARD_ISSUED

    card_id: UUID
    card_number: str
    citizen_id: UUID
    application_id: UUID
    program_code: str
    issued_at: datetime
    expires_at: date

    def aggregate_key(self) -> str:
        return str(self.citizen_id)


class NotificationDispatched(Event):
    """One delivery's outcome: never the message body, never a code."""

    EVENT_TYPE = "NotificationDispatched"
    TOPIC = topics.NOTIFICATION_DISPATCHED

    delivery_id: UUID
    source_event_id: UUID
    citizen_id: UUID | None = None
    channel: Literal["sms", "email"]
    template: str
    language: Language
    status: Literal["sent", "failed"]
    attempts: int

    def aggregate_key(self) -> str:
        return str(self.delivery_id)


EVENT_MODELS: dict[tuple[str, int], type[Event]] = {
    (model.EVENT_TYPE, model.SCHEMA_VERSION): model
    for model in (
        CitizenRegistered,
        OtpRequested,
        ProfileUpdated,
        ApplicationSubmitted,
        EligibilityEvaluated,
        DecisionIssued,
        AppealFiled,
        CardIssued,
        NotificationDispatched,
    )
}


class UnknownEventType(LookupError):
    pass


def model_for(event_type: str, schema_version: int) -> type[Event]:
    try:
        return EVENT_MODELS[(event_type, schema_version)]
    except KeyError:
        raise UnknownEventType(f"{event_type} v{schema_version}") from None
