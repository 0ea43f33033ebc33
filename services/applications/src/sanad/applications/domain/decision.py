"""What an eligibility evaluation does to an application (the rules live in eligibility;
this maps its outcome to a state) and the dates a decision sets."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from uuid import UUID

from sanad.applications.domain.states import Status
from sanad.shared.events import EligibilityEvaluated, EligibilityEvaluatedV2
from sanad.shared.events.applications import Reason
from sanad.shared.events.eligibility import Criterion, MissingItem, Outcome


@dataclass(frozen=True)
class Evaluation:
    """An EligibilityEvaluated of either version, as this service reads it."""

    evaluation_id: UUID
    application_id: UUID
    submission_id: UUID | None  # None: a v1 evaluation, which names no submission
    appeal_id: UUID | None
    rule_set_version: str
    outcome: Outcome
    criteria: tuple[Criterion, ...]
    missing: tuple[MissingItem, ...] = ()
    monthly_benefit: Decimal | None = None

    @classmethod
    def of(cls, event: EligibilityEvaluated | EligibilityEvaluatedV2) -> Evaluation:
        # v3 extends v2 (trigger, rule-set id, criterion status, facts hash): read as v2.
        if isinstance(event, EligibilityEvaluatedV2):
            return cls(
                evaluation_id=event.evaluation_id,
                application_id=event.application_id,
                submission_id=event.submission_id,
                appeal_id=event.appeal_id,
                rule_set_version=event.rule_set_version,
                outcome=event.outcome,
                criteria=tuple(event.criteria),
                missing=tuple(event.missing),
                monthly_benefit=event.monthly_benefit,
            )
        outcome: Outcome = (
            "review" if event.flagged_for_review else "eligible" if event.eligible else "ineligible"
        )
        return cls(
            evaluation_id=event.evaluation_id,
            application_id=event.application_id,
            submission_id=None,
            appeal_id=None,
            rule_set_version=event.rule_set_version,
            outcome=outcome,
            criteria=tuple(event.criteria),
            monthly_benefit=event.monthly_benefit,
        )


@dataclass(frozen=True)
class Target:
    """Where the application is, as far as an evaluation is concerned."""

    status: Status
    submission_id: UUID | None
    open_appeal_id: UUID | None  # the appeal being decided, while APPEALED
    appeal_evaluated: bool  # that appeal already has its re-evaluation


@dataclass(frozen=True)
class Decide:
    to: Status
    reasons: tuple[Reason, ...]
    missing: tuple[MissingItem, ...] = ()
    monthly_benefit: Decimal | None = None


@dataclass(frozen=True)
class AttachToAppeal:
    appeal_id: UUID


@dataclass(frozen=True)
class Ignore:
    why: str


Effect = Decide | AttachToAppeal | Ignore

AWAITING_EVALUATION = frozenset({Status.SUBMITTED, Status.UNDER_EVALUATION})


def reasons_of(criteria: tuple[Criterion, ...], *, failed_only: bool) -> tuple[Reason, ...]:
    return tuple(
        Reason(code=c.code, reason_ar=c.reason_ar, reason_en=c.reason_en)
        for c in criteria
        if not (failed_only and c.passed)
    )


def missing_reasons(missing: tuple[MissingItem, ...]) -> tuple[Reason, ...]:
    return tuple(
        Reason(code=f"missing.{m.code}", reason_ar=m.reason_ar, reason_en=m.reason_en)
        for m in missing
    )


def effect_of(evaluation: Evaluation, target: Target) -> Effect:
    """What ``evaluation`` does to an application at ``target``.

    An appeal's evaluation is attached to that appeal and decides nothing (a caseworker
    does). A submission's evaluation decides only an application still awaiting the
    evaluation of that very submission; anything else is stale or a duplicate.
    """
    if evaluation.appeal_id is not None:
        if (
            target.status is Status.APPEALED
            and target.open_appeal_id == evaluation.appeal_id
            and not target.appeal_evaluated
        ):
            return AttachToAppeal(evaluation.appeal_id)
        return Ignore("not the open appeal, or it was evaluated already")
    if evaluation.submission_id is None and target.status is Status.APPEALED:
        # A v1 evaluation names neither: while appealed it can only be the re-evaluation.
        if target.open_appeal_id is not None and not target.appeal_evaluated:
            return AttachToAppeal(target.open_appeal_id)
        return Ignore("the appeal was evaluated already")
    if target.status not in AWAITING_EVALUATION:
        return Ignore(f"the application is {target.status.value}, not awaiting an evaluation")
    if evaluation.submission_id is not None and evaluation.submission_id != target.submission_id:
        return Ignore("it evaluates an earlier submission")
    match evaluation.outcome:
        case "eligible":
            return Decide(
                Status.APPROVED,
                reasons_of(evaluation.criteria, failed_only=False),
                monthly_benefit=evaluation.monthly_benefit,
            )
        case "ineligible":
            return Decide(Status.REJECTED, reasons_of(evaluation.criteria, failed_only=True))
        case "incomplete":
            return Decide(
                Status.NEEDS_COMPLETION,
                missing_reasons(evaluation.missing),
                missing=evaluation.missing,
            )
        case "review":
            return Decide(Status.UNDER_REVIEW, reasons_of(evaluation.criteria, failed_only=True))


@dataclass(frozen=True)
class Deadlines:
    appeal_until: datetime | None = None
    complete_by: datetime | None = None


def deadlines_for(
    to: Status,
    now: datetime,
    *,
    appeal_window_days: int,
    completion_window_days: int,
    appealable: bool = True,
) -> Deadlines:
    """A rejection opens the appeal window (once: an appeal's rejection is final); a
    request for completion sets the completion deadline."""
    if to is Status.REJECTED and appealable:
        return Deadlines(appeal_until=now + timedelta(days=appeal_window_days))
    if to is Status.NEEDS_COMPLETION:
        return Deadlines(complete_by=now + timedelta(days=completion_window_days))
    return Deadlines()
