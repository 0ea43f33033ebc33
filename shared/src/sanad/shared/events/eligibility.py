"""Events the eligibility service publishes."""

from __future__ import annotations

from datetime import date, datetime
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


CriterionStatus = Literal["passed", "failed", "missing", "not_applicable"]
Trigger = Literal["submission", "appeal"]


class CriterionResult(Criterion):
    """One criterion of a v3 evaluation: v2's fields plus how it ended and what it read.

    ``status``: ``passed``; ``failed``; ``missing`` (a fact it reads is unknown);
    ``not_applicable`` (its condition does not apply to this household). ``passed`` is true
    for ``passed`` and ``not_applicable``.
    """

    status: CriterionStatus
    effect: Literal["ineligible", "incomplete", "review"]  # what its failure means
    policy_reference: str
    facts_read: list[str]


class EligibilityEvaluatedV3(EligibilityEvaluatedV2):
    """v2 plus what makes the evaluation checkable and replayable: the trigger, the rule
    set's id and version and the date its parameters were read at, each criterion's status
    and the facts it read, the currency, and the SHA-256 of the canonical input facts.

    ``monthly_benefit``: the amount when ``eligible``, ``0`` when ``ineligible``, what it
    would be when ``review``, none when ``incomplete``.
    """

    SCHEMA_VERSION = 3

    trigger: Trigger
    rule_set_id: str  # the program's rule set: its code (SSP-DEV)
    effective_on: date  # the date the version and its parameters were chosen for
    criteria: list[CriterionResult]  # type: ignore[assignment]
    currency: str
    facts_hash: str
