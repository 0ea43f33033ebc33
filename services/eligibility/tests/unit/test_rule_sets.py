"""Rule sets as data: parameters by date, and the refusal of broken versions with the
location of each fault."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from sanad.eligibility.domain.evaluation import evaluate, policy_date
from sanad.eligibility.domain.money import NotMoney, round_to_riyal, show, to_halalas
from sanad.eligibility.domain.rules import RuleSetRefused, compile_rule_set
from sanad.eligibility.rulesets import shipped

from .conftest import child, facts, household, shipped_document


def refusals(document: dict[str, Any]) -> dict[str, str]:
    """Each location at fault and its message (the messages of one location joined)."""
    with pytest.raises(RuleSetRefused) as caught:
        compile_rule_set(document)
    found: dict[str, str] = {}
    for refusal in caught.value.refusals:
        found[refusal.location] = "; ".join(
            filter(None, [found.get(refusal.location), refusal.message])
        )
    return found


def test_every_shipped_rule_set_compiles() -> None:
    labels = sorted(compile_rule_set(d).label for d in shipped())
    assert labels == [
        "ELECTRICITY-SUPPORT@2025.1",
        "FOOD-SUPPORT@2025.1",
        "IQ-SPN@2025.1",
        "SSP-DEV@2025.1",
    ]


def test_parameters_take_the_value_in_force_on_the_date() -> None:
    document = shipped_document("SSP-DEV")
    document["parameters"]["head_threshold"]["values"] = {
        date(2025, 1, 1): "1100",
        date(2026, 7, 1): "1200",
    }
    rule_set = compile_rule_set(document)
    profile = household(income="1650.00", dependents=[child()])
    before = evaluate(rule_set, facts(profile, on=date(2026, 6, 30)), date(2026, 6, 30))
    after = evaluate(rule_set, facts(profile, on=date(2026, 7, 1)), date(2026, 7, 1))
    assert (before.outcome, before.monthly_benefit) == ("eligible", Decimal("0.00"))
    assert (after.outcome, after.monthly_benefit) == ("eligible", Decimal("100.00"))
    over = household(income="1700.00", dependents=[child()])
    assert evaluate(rule_set, facts(over, on=date(2026, 6, 30)), date(2026, 6, 30)).outcome == (
        "ineligible"
    )


def test_the_policy_date_is_riyadh_midnight() -> None:
    assert policy_date(datetime(2026, 6, 30, 20, 59, tzinfo=UTC)) == date(2026, 6, 30)
    assert policy_date(datetime(2026, 6, 30, 21, 0, tzinfo=UTC)) == date(2026, 7, 1)


def test_a_syntax_error_is_refused_with_its_location() -> None:
    document = shipped_document("SSP-DEV")
    document["criteria"][3]["expression"] = "household_income <= "
    found = refusals(document)
    assert list(found) == ["criteria[3].expression"]
    assert found["criteria[3].expression"].startswith("syntax error: ERROR: <input>:1:21")


def test_an_unknown_fact_or_parameter_is_refused() -> None:
    document = shipped_document("SSP-DEV")
    document["criteria"][3]["expression"] = "houshold_income <= income_limit"
    document["computed"][0]["expression"] = "head_threshold + per_dependant * dependents"
    found = refusals(document)
    assert found == {
        "criteria[3].expression": "unknown fact or parameter 'houshold_income'",
        "computed[0].expression": "unknown fact or parameter 'per_dependant'",
    }


def test_an_unknown_name_in_a_reason_is_refused() -> None:
    document = shipped_document("SSP-DEV")
    document["criteria"][2]["reasons"]["failed"]["en"] = "Property {observed} over {ceiling}"
    found = refusals(document)
    assert found == {
        "criteria[2].reasons.failed.en": "unknown fact or parameter {ceiling} in the text"
    }


def test_a_reason_shows_plain_names_only() -> None:
    document = shipped_document("SSP-DEV")
    document["criteria"][2]["reasons"]["failed"]["en"] = "{observed:>99999999} {required.__class__}"
    found = refusals(document)
    assert list(found) == ["criteria[2].reasons.failed.en"]
    assert found["criteria[2].reasons.failed.en"].startswith("bad template: write {name} only")


def test_a_missing_translation_is_refused() -> None:
    document = shipped_document("SSP-DEV")
    document["criteria"][0]["reasons"]["failed"]["ar"] = ""
    del document["parameters"]["head_threshold"]["label_en"]
    document["labels"]["widowed"] = {"ar": "أرملة"}
    found = refusals(document)
    assert found["criteria[0].reasons.failed.ar"] == "missing translation"
    assert found["parameters.head_threshold.label_en"] == "missing translation"
    assert found["labels.widowed.en"] == "missing translation"


def test_a_type_error_is_refused() -> None:
    document = shipped_document("SSP-DEV")
    document["criteria"][3]["expression"] = "household_income + 1.5 <= income_limit"
    document["criteria"][1]["expression"] = "resides_in_country + 1"
    found = refusals(document)
    assert found["criteria[3].expression"].startswith("does not evaluate on sample facts")
    assert "criteria[1].expression" in found


def test_a_parameter_without_a_value_at_the_effective_date_is_refused() -> None:
    document = shipped_document("SSP-DEV")
    document["parameters"]["per_dependent"]["values"] = {date(2027, 1, 1): "600"}
    document["parameters"]["property_ceiling"]["values"] = {date(2025, 1, 1): 1000000.5}
    found = refusals(document)
    assert found["parameters.per_dependent.values"] == (
        "no value on or before the effective date 2025-01-01"
    )
    assert found["parameters.property_ceiling.values.2025-01-01"] == (
        "give an amount as a decimal string or an integer, never a float"
    )


def test_the_shape_is_checked_field_by_field() -> None:
    document = shipped_document("SSP-DEV")
    document["criteria"][1]["effect"] = "maybe"
    document["criteria"][2]["code"] = "Property!"
    del document["benefit"]
    found = refusals(document)
    assert set(found) == {"criteria[1].effect", "criteria[2].code", "benefit"}


def test_duplicate_codes_and_names_colliding_with_facts_are_refused() -> None:
    document = shipped_document("SSP-DEV")
    document["criteria"][1]["code"] = "nationality"
    document["parameters"]["dependents"] = document["parameters"]["per_dependent"]
    found = refusals(document)
    assert found["criteria[1].code"] == "'nationality' appears twice"
    assert found["parameters.dependents"] == "'dependents' is a fact's name; name it otherwise"


def test_an_incomplete_criterion_must_say_what_is_missing() -> None:
    document = shipped_document("SSP-DEV")
    del document["criteria"][6]["reasons"]["missing_item"]
    assert refusals(document) == {
        "criteria[6].reasons.missing_item": (
            "an incomplete criterion says what is missing, item by item"
        )
    }


def test_money_is_exact() -> None:
    assert to_halalas("4200.50") == 420050
    assert to_halalas(1100) == 110000
    assert to_halalas(Decimal("0.01")) == 1
    for bad in (0.1, "1.005", "abc", True, "NaN"):
        with pytest.raises(NotMoney):
            to_halalas(bad)
    assert round_to_riyal(96550) == 96600
    assert round_to_riyal(96549) == 96500
    assert show(385000, "SAR", "en") == "3,850 SAR"
    assert show(385050, "SAR", "ar") == "3,850.50 ريال"
