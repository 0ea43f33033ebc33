"""Food support, electricity support and the IQ-SPN categories."""

from __future__ import annotations

from decimal import Decimal

from sanad.eligibility.domain.evaluation import evaluate

from .conftest import ON, child, facts, household, rule_set

FOOD = rule_set("FOOD-SUPPORT")
ELECTRICITY = rule_set("ELECTRICITY-SUPPORT")
SPN = rule_set("IQ-SPN")


def status(result, code: str) -> str:  # type: ignore[no-untyped-def]
    return str(next(c.status for c in result.criteria if c.code == code))


def test_food_support_basket_per_member_capped() -> None:
    three = evaluate(
        FOOD,
        facts(
            household(income="2000", dependents=[child(), child()]),
            documents=["national_id", "family_register"],
        ),
        ON,
    )
    assert three.outcome == "eligible"
    assert three.monthly_benefit == Decimal("450.00")  # 3 × 150
    eight = evaluate(
        FOOD,
        facts(
            household(income="2000", dependents=[child()] * 7),
            documents=["national_id", "family_register"],
        ),
        ON,
    )
    assert eight.monthly_benefit == Decimal("900.00")  # the cap
    # income limit: 1500 + 700 × 2 = 2900; one riyal over
    over = evaluate(
        FOOD,
        facts(
            household(income="2901", dependents=[child(), child()]),
            documents=["national_id", "family_register"],
        ),
        ON,
    )
    assert over.outcome == "ineligible"


def test_electricity_support_needs_a_home_with_its_own_meter() -> None:
    documents = ["national_id", "electricity_bill", "proof_of_income"]
    rented = evaluate(ELECTRICITY, facts(household(housing_type="rented"), documents=documents), ON)
    assert rented.outcome == "eligible"
    assert rented.monthly_benefit == Decimal("125.00")  # 100 + 25 × 1
    provided = evaluate(
        ELECTRICITY, facts(household(housing_type="provided"), documents=documents), ON
    )
    assert status(provided, "own_meter") == "failed"
    assert provided.outcome == "ineligible"


def test_iq_spn_applies_only_the_chosen_categorys_criterion() -> None:
    documents = ["national_id", "family_register", "category_proof"]
    orphan = household(birth_date="2012-01-01", is_orphan=True, income="100", employment="student")
    result = evaluate(SPN, facts(orphan, category="orphans", documents=documents), ON)
    assert status(result, "orphan") == "passed"
    assert status(result, "widow_divorcee") == "not_applicable"
    assert status(result, "unemployed") == "not_applicable"
    assert result.outcome == "eligible"
    assert result.monthly_benefit == Decimal("800.00")

    adult = household(birth_date="1990-01-01", is_orphan=True, income="100")
    too_old = evaluate(SPN, facts(adult, category="orphans", documents=documents), ON)
    assert status(too_old, "orphan") == "failed"
    assert too_old.outcome == "ineligible"


def test_iq_spn_categories_widow_elderly_disability_unemployed() -> None:
    documents = ["national_id", "family_register", "category_proof"]
    widow = household(marital_status="widowed", income="500", dependents=[child()])
    assert (
        evaluate(SPN, facts(widow, category="widows_divorcees", documents=documents), ON).outcome
        == "eligible"
    )
    married = household(marital_status="married", income="500", dependents=[child()])
    assert (
        evaluate(SPN, facts(married, category="widows_divorcees", documents=documents), ON).outcome
        == "ineligible"
    )
    elderly = household(birth_date="1950-01-01", income="300", employment="retired")
    assert (
        evaluate(
            SPN, facts(elderly, category="elderly_without_provider", documents=documents), ON
        ).outcome
        == "eligible"
    )
    provided_for = household(
        birth_date="1950-01-01",
        income="900",
        employment="retired",
        dependents=[child(income="600", born="1985-01-01")],
    )
    assert (
        status(
            evaluate(
                SPN,
                facts(provided_for, category="elderly_without_provider", documents=documents),
                ON,
            ),
            "elderly_without_provider",
        )
        == "failed"
    )
    disabled = household(has_disability=True, income="300")
    assert (
        evaluate(
            SPN, facts(disabled, category="people_with_disabilities", documents=documents), ON
        ).outcome
        == "eligible"
    )
    employed = household(employment="employed", income="500")
    assert (
        status(
            evaluate(SPN, facts(employed, category="unemployed", documents=documents), ON),
            "unemployed",
        )
        == "failed"
    )
    uncovered = evaluate(
        SPN, facts(household(income="300"), category="students", documents=documents), ON
    )
    assert status(uncovered, "category_covered") == "failed"


def test_iq_spn_poverty_line_per_person() -> None:
    documents = ["national_id", "family_register", "category_proof"]
    at = evaluate(
        SPN,
        facts(
            household(income="1200", dependents=[child()]),
            category="poor_families",
            documents=documents,
        ),
        ON,
    )
    assert at.outcome == "eligible"  # 600 × 2
    over = evaluate(
        SPN,
        facts(
            household(income="1201", dependents=[child()]),
            category="poor_families",
            documents=documents,
        ),
        ON,
    )
    assert over.outcome == "ineligible"
