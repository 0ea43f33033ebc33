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


class DecisionIssuedV2(DecisionIssued):
    """v1 plus what the decision rests on: the rule-set version and evaluation it followed
    (none for a caseworker's or the deadline's decision), and the appeal it closes."""

    SCHEMA_VERSION = 2

    rule_set_version: str | None = None
    evaluation_id: UUID | None = None
    appeal_id: UUID | None = None


class ProgramTerms(Part):
    """What the program promised at the moment of the decision, from its catalog entry."""

    name_ar: str
    name_en: str
    card_on_approval: bool  # a card is issued on approval without the citizen asking
    card_validity_days: int  # how long a card issued for this decision is valid


class DecisionIssuedV3(DecisionIssuedV2):
    """v2 plus the program's terms as the catalog held them when deciding: its names and its
    card settings, so the cards service issues (or not) exactly as the catalog said then,
    without reading the catalog and the same way again on a replay."""

    SCHEMA_VERSION = 3

    program: ProgramTerms


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


class SubmittedDocumentV2(Part):
    kind: str  # a document kind of the program's catalog entry (national_id, ...)
    content_type: Literal["application/pdf", "image/jpeg", "image/png"]
    size_bytes: int
    sha256: str  # hex; the stored content's address


class ApplicationSubmittedV2(Event):
    """One submission of an application (the first, or again after NEEDS_COMPLETION).

    ``submission_id`` names this submission: an ``EligibilityEvaluated`` answers it by id, so
    an evaluation of an earlier submission is recognised as stale. The form carries the
    payment destination's method and last four characters only; the full IBAN or card
    number stays in the applications schema. ``household_snapshot`` is the citizen's latest
    ``ProfileUpdated`` known to applications (without contact details), of
    ``profile_version``.
    """

    EVENT_TYPE = "ApplicationSubmitted"
    SCHEMA_VERSION = 2
    TOPIC = topics.APPLICATION_SUBMITTED

    application_id: UUID
    submission_id: UUID
    submission_number: int  # 1 for the first submission, 2 after a first completion, ...
    citizen_id: UUID
    program_code: str
    submitted_at: datetime
    form: dict[str, Any]
    documents: list[SubmittedDocumentV2]
    profile_version: int
    household_snapshot: dict[str, Any]

    def aggregate_key(self) -> str:
        return str(self.application_id)
