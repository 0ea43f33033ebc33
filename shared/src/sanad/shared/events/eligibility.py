"""Events the eligibility service publishes."""

from __future__ import annotations

from decimal import Decimal
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
