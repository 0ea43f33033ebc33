"""Events the applications service publishes."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal
from uuid import UUID

from sanad.shared import topics
from sanad.shared.events.base import Part
from sanad.shared.events.envelope import Event

Decision = Literal["APPROVED", "REJECTED", "NEEDS_COMPLETION", "UNDER_REVIEW"]


class SubmittedDocument(Part):
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


class Reason(Part):
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
