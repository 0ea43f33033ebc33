"""SSP-DEV criterion by criterion, at each boundary, with the benefit and the explanation."""

from __future__ import annotations

from decimal import Decimal

import pytest

from sanad.eligibility.domain.evaluation import Result, evaluate

from .conftest import (
    CITIZEN_CHILD_ID,
    ON,
    RESIDENT_CHILD_ID,
    child,
    facts,
    household,
    rule_set,
)

SSP = rule_set("SSP-DEV")


def run(profile: dict[str, object], **kw: object) -> Result:
    return evaluate(SSP, facts(profile, **kw), ON)  # type: ignore[arg-type]


def criterion(result: Result, code: str):  # type: ignore[no-untyped-def]
    return next(c for c in result.criteria if c.code == code)


def five_children() -> list[dict[str, object]]:
    return [child() for _ in range(5)]


def test_income_exactly_at_the_limit_is_eligible_and_one_riyal_over_is_not() -> None:
    at_limit = run(household(income="3850.00", dependents=five_children()))
    assert at_limit.outcome == "eligible"
    assert criterion(at_limit, "household_income").status == "passed"
    assert at_limit.monthly_benefit == Decimal("0.00")

    over = run(household(income="3851.00", dependents=five_children()))
    assert over.outcome == "ineligible"
    failed = criterion(over, "household_income")
    assert (failed.status, failed.observed, failed.required) == ("failed", "3851.00", "<= 3850.00")
    assert over.monthly_benefit == Decimal("0.00")


def test_the_income_reason_names_observed_and_required_in_both_languages() -> None:
    over = run(household(income="4200.00", dependents=five_children()))
    reason = criterion(over, "household_income")
    assert reason.reason_en == (
        "Household income 4,200 SAR exceeds the limit of 3,850 SAR (1,100 SAR + 5 × 550 SAR)"
    )
    assert (
        reason.reason_ar
        == "دخل الأسرة 4,200 ريال يتجاوز الحد 3,850 ريال (1,100 ريال + 5 × 550 ريال)"
    )


@pytest.mark.parametrize(
    ("income", "benefit"),
    [
        ("0", "2200.00"),  # 1100 + 2 × 550
        ("1234.56", "965.00"),  # 965.44 → 965
        ("1234.50", "966.00"),  # 965.50 → 966: half up
        ("1234.40", "966.00"),  # 965.60 → 966
        ("2200.00", "0.00"),
    ],
)
def test_the_benefit_tops_income_up_to_the_threshold_rounded_to_the_riyal(
    income: str, benefit: str
) -> None:
    result = run(household(income=income, dependents=[child(), child()]))
    assert result.outcome == "eligible"
    assert result.monthly_benefit == Decimal(benefit)


def test_a_citizen_passes_nationality_whatever_the_marital_status() -> None:
    result = run(household(nationality="SA", marital_status=None))
    assert criterion(result, "nationality").status == "passed"
    assert result.outcome == "eligible"


@pytest.mark.parametrize("status", ["widowed", "divorced"])
def test_a_non_citizen_widow_or_divorcee_needs_a_citizen_child(status: str) -> None:
    with_citizen_child = run(
        household(nationality="YE", marital_status=status, dependents=[child(CITIZEN_CHILD_ID)])
    )
    assert criterion(with_citizen_child, "nationality").status == "passed"
    assert with_citizen_child.outcome == "eligible"

    with_resident_child = run(
        household(nationality="YE", marital_status=status, dependents=[child(RESIDENT_CHILD_ID)])
    )
    failed = criterion(with_resident_child, "nationality")
    assert failed.status == "failed"
    assert "citizen children: 0" in failed.reason_en
    assert with_resident_child.outcome == "ineligible"

    without_children = run(household(nationality="YE", marital_status=status, dependents=[]))
    assert criterion(without_children, "nationality").status == "failed"


def test_a_married_non_citizen_with_a_citizen_child_is_not_excepted() -> None:
    result = run(
        household(nationality="YE", marital_status="married", dependents=[child(CITIZEN_CHILD_ID)])
    )
    assert criterion(result, "nationality").status == "failed"


def test_a_non_citizen_of_unknown_marital_status_is_incomplete_not_ineligible() -> None:
    result = run(household(nationality="YE", marital_status=None, dependents=[child()]))
    nationality = criterion(result, "nationality")
    assert nationality.status == "missing"
    assert result.outcome == "incomplete"
    assert [(m.kind, m.code) for m in result.missing] == [("fact", "marital_status")]


def test_property_at_the_ceiling_passes_and_one_riyal_over_fails() -> None:
    at = run(household(property_value="1000000"))
    assert criterion(at, "property").status == "passed"
    over = run(household(property_value="1000001"))
    failed = criterion(over, "property")
    assert (failed.status, failed.observed, failed.required) == (
        "failed",
        "1000001.00",
        "<= 1000000.00",
    )
    assert (
        failed.reason_en
        == "Total property value 1,000,001 SAR exceeds the ceiling of 1,000,000 SAR"
    )
    assert over.outcome == "ineligible"


def test_residence_is_shown_by_the_housing_section() -> None:
    result = run(household(housing=False))
    assert criterion(result, "residence").status == "missing"
    assert result.outcome == "incomplete"
    assert ("fact", "resides_in_country") in [(m.kind, m.code) for m in result.missing]


def test_an_active_beneficiary_of_an_exclusive_program_is_excluded() -> None:
    excluded = run(household(), active=["IQ-SPN"])
    failed = criterion(excluded, "not_excluded")
    assert (failed.status, failed.observed) == ("failed", "IQ-SPN")
    assert (
        failed.reason_en
        == "Already an active beneficiary of Social protection network, an exclusive program"
    )
    assert excluded.outcome == "ineligible"
    # Food support does not exclude SSP-DEV.
    assert run(household(), active=["FOOD-SUPPORT"]).outcome == "eligible"


def test_missing_documents_make_it_incomplete_and_are_listed() -> None:
    result = run(household(), documents=["national_id", "bank_account"])
    assert result.outcome == "incomplete"
    assert [(m.kind, m.code) for m in result.missing] == [
        ("document", "family_register"),
        ("document", "proof_of_income"),
    ]
    assert result.missing[0].reason_en == "The mandatory document “family register” is not attached"
    assert result.missing[0].reason_ar == "المستند الإلزامي «سجل الأسرة» غير مرفق"
    assert result.monthly_benefit is None


def test_an_unfilled_income_section_is_a_missing_fact() -> None:
    result = run(household(income=None), form_income="900")
    assert result.outcome == "incomplete"
    assert criterion(result, "household_income").status == "missing"
    assert ("fact", "household_income") in [(m.kind, m.code) for m in result.missing]
    item = next(m for m in result.missing if m.code == "household_income")
    assert item.reason_en == (
        "The household monthly income is unknown: fill the income section of your profile"
    )


def test_ineligibility_outweighs_missing_documents() -> None:
    result = run(household(income="9000"), documents=[])
    assert result.outcome == "ineligible"


def test_a_form_income_beyond_the_tolerance_goes_to_review() -> None:
    within = run(household(income="1000.00"), form_income="500.00")  # 500 apart: allowed
    assert within.outcome == "eligible"
    beyond = run(household(income="1000.00"), form_income="499.99")  # 500.01 apart
    review = criterion(beyond, "income_consistent")
    assert (review.status, review.effect, review.observed) == ("failed", "review", "500.01")
    assert beyond.outcome == "review"
    assert beyond.monthly_benefit == Decimal("100.00")  # what it would be


def test_a_check_without_form_or_documents_skips_their_criteria() -> None:
    result = evaluate(SSP, facts(household(), form=False), ON)
    assert criterion(result, "documents").status == "not_applicable"
    assert criterion(result, "income_consistent").status == "not_applicable"
    assert result.outcome == "eligible"
    assert result.monthly_benefit == Decimal("100.00")


def test_every_criterion_records_the_facts_it_read() -> None:
    result = run(household())
    assert criterion(result, "household_income").facts_read == ["dependents", "household_income"]
    assert criterion(result, "nationality").facts_read == [
        "citizen_children",
        "marital_status",
        "nationality",
    ]
