"""Which messages an event yields: one per channel, each with its template and language.

The planned context holds what the template needs and nothing secret in clear: an OTP keeps
its sealed token, opened only when the message is rendered for sending.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any
from uuid import UUID

from sanad.shared.events import (
    CardIssued,
    DecisionIssued,
    DecisionIssuedV3,
    OtpRequested,
    OtpRequestedV2,
    RegistrationAttempted,
)
from sanad.shared.events.base import Language


class Channel(StrEnum):
    SMS = "sms"
    EMAIL = "email"


class Template(StrEnum):
    OTP = "otp"
    REGISTRATION_ATTEMPTED = "registration_attempted"
    DECISION_APPROVED = "decision_approved"
    DECISION_REJECTED = "decision_rejected"
    DECISION_NEEDS_COMPLETION = "decision_needs_completion"
    DECISION_UNDER_REVIEW = "decision_under_review"
    CARD_ISSUED = "card_issued"


# Due deliveries are claimed by priority first: a code lives minutes, so no backlog of other
# messages may hold one up.
URGENT, NORMAL = 0, 1


def priority_of(template: Template) -> int:
    return URGENT if template is Template.OTP else NORMAL


DECISION_TEMPLATES: dict[str, Template] = {
    "APPROVED": Template.DECISION_APPROVED,
    "REJECTED": Template.DECISION_REJECTED,
    "NEEDS_COMPLETION": Template.DECISION_NEEDS_COMPLETION,
    "UNDER_REVIEW": Template.DECISION_UNDER_REVIEW,
}


@dataclass(frozen=True)
class Contact:
    """What this service knows of a citizen, from CitizenRegistered, ProfileUpdated and the
    citizen's own preferences."""

    citizen_id: UUID
    mobile: str
    email: str | None
    language: Language
    email_enabled: bool = True
    full_name_ar: str | None = None
    full_name_en: str | None = None

    def name(self, language: Language) -> str | None:
        return self.full_name_ar if language == "ar" else self.full_name_en


@dataclass(frozen=True)
class PlannedDelivery:
    channel: Channel
    template: Template
    language: Language
    citizen_id: UUID | None
    # None when no contact is on record: the delivery is recorded as failed, never dropped.
    recipient: str | None
    context: dict[str, Any] = field(default_factory=dict)


def plan_otp(event: OtpRequested | OtpRequestedV2, occurred_at: datetime) -> list[PlannedDelivery]:
    """An OTP goes by SMS only, to the number being registered (there is no citizen yet) or,
    for a change of mobile (v2), to the old and to the new number (one event each)."""
    minutes = max(1, math.ceil((event.expires_at - occurred_at).total_seconds() / 60))
    context = {"encrypted_code": event.encrypted_code, "valid_minutes": minutes}
    return [PlannedDelivery(Channel.SMS, Template.OTP, event.language, None, event.mobile, context)]


def plan_registration_attempted(event: RegistrationAttempted) -> list[PlannedDelivery]:
    """The holder of an existing account is told by SMS that someone tried to register with
    their ID (registration answered the stranger as for a new account)."""
    return [
        PlannedDelivery(
            Channel.SMS,
            Template.REGISTRATION_ATTEMPTED,
            event.language,
            event.citizen_id,
            event.mobile,
            {},
        )
    ]


def _to_citizen(
    template: Template, citizen_id: UUID, contact: Contact | None, context: dict[str, Any]
) -> list[PlannedDelivery]:
    if contact is None:
        return [PlannedDelivery(Channel.SMS, template, "ar", citizen_id, None, context)]
    language = contact.language
    context = {**context, "name": contact.name(language)}
    planned = [
        PlannedDelivery(Channel.SMS, template, language, citizen_id, contact.mobile, context)
    ]
    if contact.email and contact.email_enabled:
        planned.append(
            PlannedDelivery(Channel.EMAIL, template, language, citizen_id, contact.email, context)
        )
    return planned


def plan_decision(
    event: DecisionIssued, contact: Contact | None, *, appeal_window_days: int
) -> list[PlannedDelivery]:
    template = DECISION_TEMPLATES[event.decision]
    respond_by = event.respond_by
    if respond_by is None and event.decision == "REJECTED":
        respond_by = (event.decided_at + timedelta(days=appeal_window_days)).date()
    context: dict[str, Any] = {
        "application_id": str(event.application_id),
        "program_code": event.program_code,
        "reasons": [reason.model_dump() for reason in event.reasons],
        "missing_documents": list(event.missing_documents),
        "monthly_benefit": None if event.monthly_benefit is None else str(event.monthly_benefit),
        "respond_by": None if respond_by is None else respond_by.isoformat(),
    }
    if isinstance(event, DecisionIssuedV3):  # the catalog's names when it decided
        context["program_names"] = {"ar": event.program.name_ar, "en": event.program.name_en}
    return _to_citizen(template, event.citizen_id, contact, context)


def plan_card(event: CardIssued, contact: Contact | None) -> list[PlannedDelivery]:
    context = {
        "card_id": str(event.card_id),
        "card_number_last4": event.card_number[-4:],
        "program_code": event.program_code,
        "expires_at": event.expires_at.isoformat(),
    }
    return _to_citizen(Template.CARD_ISSUED, event.citizen_id, contact, context)
