"""Events the eligibility service publishes."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Literal
from uuid import UUID

from sanad.shared import topics
from sanad.shared.events.base import Part
from sanad.shared.events.envelope import Event


class Criterion(Part):
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


Outcome = Literal["eligible", "ineligible", "incomplete", "review"]


class MissingItem(Part):
    """A fact or a mandatory document the evaluation needed and did not have."""

    kind: Literal["fact", "document"]
    code: str  # a document kind (family_register) or a fact (household.monthly_income)
    reason_ar: str
    reason_en: str


class EligibilityEvaluatedV2(Event):
    """The outcome of evaluating one submission (``submission_id`` of its
    ``ApplicationSubmitted`` v2) or one appeal (``appeal_id`` of its ``AppealFiled``).

    ``outcome``: ``eligible`` (``monthly_benefit`` set), ``ineligible`` (the failed
    ``criteria`` say why), ``incomplete`` (``missing`` lists what), ``review`` (a caseworker
    must decide).
    """

    EVENT_TYPE = "EligibilityEvaluated"
    SCHEMA_VERSION = 2
    TOPIC = topics.ELIGIBILITY_EVALUATED

    evaluation_id: UUID
    application_id: UUID
    submission_id: UUID | None = None
    appeal_id: UUID | None = None
    citizen_id: UUID
    program_code: str
    rule_set_version: str
    outcome: Outcome
    criteria: list[Criterion]
    missing: list[MissingItem] = []
    monthly_benefit: Decimal | None = None
    evaluated_at: datetime

    def aggregate_key(self) -> str:
        return str(self.application_id)
