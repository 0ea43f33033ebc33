"""What an evaluation does: its outcome decides an application awaiting it; an appeal's
evaluation is attached to the appeal; a stale or repeated one changes nothing."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from sanad.applications.domain.decision import (
    AttachToAppeal,
    Decide,
    Evaluation,
    Ignore,
    Target,
    deadlines_for,
    effect_of,
)
from sanad.applications.domain.states import Status
from sanad.shared.events import EligibilityEvaluated, EligibilityEvaluatedV2, EligibilityEvaluatedV3
from sanad.shared.events.eligibility import Criterion, CriterionResult, MissingItem, Outcome

SUBMISSION = uuid.uuid4()
APPEAL = uuid.uuid4()
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
INCOME_OK = Criterion(
    code="income",
    passed=True,
    observed="900",
    required="<= 2750",
    reason_ar="الدخل ضمن الحد",
    reason_en="Income within the threshold",
)
PROPERTY_BAD = Criterion(
    code="property",
    passed=False,
    observed="900000",
    required="<= 500000",
    reason_ar="قيمة العقار أعلى من الحد",
    reason_en="Property value above the ceiling",
)
MISSING = MissingItem(
    kind="document",
    code="family_register",
    reason_ar="سجل الأسرة غير مرفق",
    reason_en="Family register not attached",
)


def evaluation(outcome: Outcome, **changes: object) -> Evaluation:
    fields: dict[str, object] = {
        "evaluation_id": uuid.uuid4(),
        "application_id": uuid.uuid4(),
        "submission_id": SUBMISSION,
        "appeal_id": None,
        "rule_set_version": "SSP-DEV@2026-01-01",
        "outcome": outcome,
        "criteria": (INCOME_OK, PROPERTY_BAD),
        "missing": (MISSING,) if outcome == "incomplete" else (),
        "monthly_benefit": Decimal("1850.00") if outcome == "eligible" else None,
    } | changes
    return Evaluation(**fields)  # type: ignore[arg-type]


def awaiting(status: Status = Status.SUBMITTED, **changes: object) -> Target:
    fields: dict[str, object] = {
        "status": status,
        "submission_id": SUBMISSION,
        "open_appeal_id": None,
        "appeal_evaluated": False,
    } | changes
    return Target(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize("status", [Status.SUBMITTED, Status.UNDER_EVALUATION])
def test_eligible_approves_with_the_benefit(status: Status) -> None:
    effect = effect_of(evaluation("eligible"), awaiting(status))
    assert isinstance(effect, Decide)
    assert effect.to is Status.APPROVED
    assert effect.monthly_benefit == Decimal("1850.00")


def test_ineligible_rejects_with_every_failed_criterion_only() -> None:
    effect = effect_of(evaluation("ineligible"), awaiting())
    assert isinstance(effect, Decide)
    assert effect.to is Status.REJECTED
    assert [(r.code, r.reason_en) for r in effect.reasons] == [
        ("property", "Property value above the ceiling")
    ]
    assert effect.monthly_benefit is None


def test_incomplete_asks_for_completion_with_what_is_missing() -> None:
    effect = effect_of(evaluation("incomplete"), awaiting())
    assert isinstance(effect, Decide)
    assert effect.to is Status.NEEDS_COMPLETION
    assert effect.missing == (MISSING,)
    assert [r.code for r in effect.reasons] == ["missing.family_register"]


def test_review_goes_to_a_caseworker() -> None:
    effect = effect_of(evaluation("review"), awaiting())
    assert isinstance(effect, Decide)
    assert effect.to is Status.UNDER_REVIEW


@pytest.mark.parametrize(
    "status",
    [
        Status.DRAFT,
        Status.APPROVED,
        Status.REJECTED,
        Status.NEEDS_COMPLETION,
        Status.UNDER_REVIEW,
    ],
)
def test_an_application_not_awaiting_an_evaluation_ignores_it(status: Status) -> None:
    assert isinstance(effect_of(evaluation("eligible"), awaiting(status)), Ignore)


def test_an_evaluation_of_an_earlier_submission_is_stale() -> None:
    stale = evaluation("ineligible", submission_id=uuid.uuid4())
    effect = effect_of(stale, awaiting())
    assert effect == Ignore("it evaluates an earlier submission")


def test_an_appeals_evaluation_is_attached_and_decides_nothing() -> None:
    appealed = awaiting(Status.APPEALED, open_appeal_id=APPEAL)
    assert effect_of(evaluation("eligible", appeal_id=APPEAL), appealed) == AttachToAppeal(APPEAL)
    # A second one for the same appeal, or one for another appeal, changes nothing.
    done = awaiting(Status.APPEALED, open_appeal_id=APPEAL, appeal_evaluated=True)
    assert isinstance(effect_of(evaluation("eligible", appeal_id=APPEAL), done), Ignore)
    other = evaluation("eligible", appeal_id=uuid.uuid4())
    assert isinstance(effect_of(other, appealed), Ignore)
    # Nor does an appeal's evaluation ever decide a submitted application.
    assert isinstance(effect_of(evaluation("eligible", appeal_id=APPEAL), awaiting()), Ignore)


def test_a_submission_evaluation_arriving_while_appealed_is_stale() -> None:
    appealed = awaiting(Status.APPEALED, open_appeal_id=APPEAL)
    assert isinstance(effect_of(evaluation("eligible"), appealed), Ignore)


def v1(eligible: bool, flagged: bool = False) -> EligibilityEvaluated:
    return EligibilityEvaluated(
        evaluation_id=uuid.uuid4(),
        application_id=uuid.uuid4(),
        citizen_id=uuid.uuid4(),
        program_code="SSP-DEV",
        rule_set_version="r1",
        eligible=eligible,
        flagged_for_review=flagged,
        criteria=[INCOME_OK],
        monthly_benefit=Decimal("100"),
    )


def test_version_1_evaluations_are_read_too() -> None:
    assert Evaluation.of(v1(True)).outcome == "eligible"
    assert Evaluation.of(v1(False)).outcome == "ineligible"
    assert Evaluation.of(v1(True, flagged=True)).outcome == "review"
    older = Evaluation.of(v1(True))
    assert older.submission_id is None
    assert isinstance(effect_of(older, awaiting()), Decide)
    # While appealed, a v1 evaluation can only be the appeal's re-evaluation.
    appealed = awaiting(Status.APPEALED, open_appeal_id=APPEAL)
    assert effect_of(older, appealed) == AttachToAppeal(APPEAL)


def test_version_2_is_read_field_for_field() -> None:
    event = EligibilityEvaluatedV2(
        evaluation_id=uuid.uuid4(),
        application_id=uuid.uuid4(),
        submission_id=SUBMISSION,
        citizen_id=uuid.uuid4(),
        program_code="SSP-DEV",
        rule_set_version="r2",
        outcome="incomplete",
        criteria=[INCOME_OK],
        missing=[MISSING],
        evaluated_at=NOW,
    )
    read = Evaluation.of(event)
    assert (read.submission_id, read.outcome, read.missing) == (
        SUBMISSION,
        "incomplete",
        (MISSING,),
    )


def test_version_3_is_read_as_version_2() -> None:
    appeal = uuid.uuid4()
    event = EligibilityEvaluatedV3(
        evaluation_id=uuid.uuid4(),
        application_id=uuid.uuid4(),
        appeal_id=appeal,
        citizen_id=uuid.uuid4(),
        program_code="SSP-DEV",
        rule_set_version="SSP-DEV@2026.1",
        outcome="ineligible",
        criteria=[
            CriterionResult(
                **INCOME_OK.model_dump(),
                status="passed",
                effect="ineligible",
                policy_reference="SSP §3",
                facts_read=["household_income"],
            )
        ],
        monthly_benefit=Decimal("0"),
        evaluated_at=NOW,
        trigger="appeal",
        rule_set_id="SSP-DEV",
        effective_on=NOW.date(),
        currency="SAR",
        facts_hash="0" * 64,
    )
    read = Evaluation.of(event)
    assert (read.appeal_id, read.outcome, read.monthly_benefit) == (appeal, "ineligible", 0)
    assert read.criteria[0].reason_en == INCOME_OK.reason_en
    appealed = awaiting(Status.APPEALED, open_appeal_id=appeal)
    assert effect_of(read, appealed) == AttachToAppeal(appeal)


def test_deadlines() -> None:
    rejected = deadlines_for(Status.REJECTED, NOW, appeal_window_days=30, completion_window_days=14)
    assert rejected.appeal_until == NOW + timedelta(days=30)
    assert rejected.complete_by is None
    final = deadlines_for(
        Status.REJECTED, NOW, appeal_window_days=30, completion_window_days=14, appealable=False
    )
    assert final.appeal_until is None
    completion = deadlines_for(
        Status.NEEDS_COMPLETION, NOW, appeal_window_days=30, completion_window_days=14
    )
    assert completion.complete_by == NOW + timedelta(days=14)
    assert deadlines_for(
        Status.APPROVED, NOW, appeal_window_days=30, completion_window_days=14
    ) == deadlines_for(Status.UNDER_REVIEW, NOW, appeal_window_days=30, completion_window_days=14)
