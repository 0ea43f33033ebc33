"""Replay gives the identical result: for many random households, re-running a stored
evaluation (its inputs and the rule set as stored, through JSON, freshly compiled) gives
exactly the recorded trace; and the benefit matches a Decimal oracle."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sanad.eligibility.domain.evaluation import evaluate
from sanad.eligibility.domain.facts import facts_of
from sanad.eligibility.domain.rules import compile_rule_set

from .conftest import CITIZEN_CHILD_ID, RESIDENT_CHILD_ID, SSP_DOCUMENTS, household, rule_set

PROGRAMS = ("SSP-DEV", "FOOD-SUPPORT", "ELECTRICITY-SUPPORT", "IQ-SPN")
COMPILED = {program: rule_set(program) for program in PROGRAMS}
STORED = {
    program: orjson.dumps(compiled.document.model_dump(mode="json"))
    for program, compiled in COMPILED.items()
}

money = st.decimals(
    min_value=Decimal(0), max_value=Decimal(20000), places=2, allow_nan=False, allow_infinity=False
)


@st.composite
def dependents(draw: st.DrawFn) -> dict[str, Any]:
    return {
        "dependent_id": "00000000-0000-0000-0000-000000000001",
        "full_name": "x",
        "national_id": draw(st.sampled_from([CITIZEN_CHILD_ID, RESIDENT_CHILD_ID])),
        "relationship": draw(st.sampled_from(["son", "daughter", "spouse", "mother"])),
        "birth_date": draw(st.dates(date(1940, 1, 1), date(2025, 1, 1))).isoformat(),
        "has_disability": draw(st.booleans()),
        "monthly_income": str(draw(money) if draw(st.booleans()) else Decimal(0)),
    }


@st.composite
def cases(draw: st.DrawFn) -> tuple[str, dict[str, Any], date]:
    deps = draw(st.lists(dependents(), max_size=8))
    dependents_income = sum((Decimal(d["monthly_income"]) for d in deps), Decimal(0))
    income = draw(st.none() | money)
    profile = household(
        nationality=draw(st.sampled_from(["SA", "SA", "YE", "EG"])),
        marital_status=draw(st.sampled_from([None, "single", "married", "widowed", "divorced"])),
        income=None if income is None else str(income + dependents_income),
        dependents=deps,
        property_value=draw(st.none() | money.map(lambda m: str(m * 100))),
        housing=draw(st.booleans()),
        birth_date=draw(st.dates(date(1930, 1, 1), date(2015, 1, 1))).isoformat(),
        employment=draw(st.sampled_from([None, "employed", "unemployed", "retired"])),
        is_orphan=draw(st.none() | st.booleans()),
        has_disability=draw(st.none() | st.booleans()),
        housing_type=draw(st.sampled_from(["owned", "rented", "provided"])),
    )
    documents = draw(
        st.lists(
            st.sampled_from([*SSP_DOCUMENTS, "electricity_bill", "category_proof"]), unique=True
        )
    )
    form: dict[str, Any] = {"monthly_income": str(draw(money)), "family_size": 1 + len(deps)}
    if draw(st.booleans()):
        form["category"] = draw(
            st.sampled_from(["poor_families", "orphans", "widows_divorcees", "unemployed", "x"])
        )
    inputs = {
        "profile": profile,
        "form": form,
        "documents": documents,
        "active_programs": draw(st.lists(st.sampled_from(PROGRAMS), unique=True, max_size=2)),
    }
    on = date(2025, 1, 1) + timedelta(days=draw(st.integers(0, 900)))
    return draw(st.sampled_from(PROGRAMS)), inputs, on


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases())
def test_replaying_a_stored_evaluation_gives_the_identical_result(
    case: tuple[str, dict[str, Any], date],
) -> None:
    program, inputs, on = case
    recorded = evaluate(COMPILED[program], facts_of(inputs, on), on).to_json()
    stored_trace = orjson.loads(orjson.dumps(recorded))
    stored_inputs = orjson.loads(orjson.dumps(inputs))
    again = compile_rule_set(orjson.loads(STORED[program]))
    replayed = evaluate(again, facts_of(stored_inputs, on), on).to_json()
    assert orjson.loads(orjson.dumps(replayed)) == stored_trace


@settings(max_examples=300, deadline=None)
@given(
    income=money,
    children=st.integers(0, 10),
)
def test_the_ssp_dev_benefit_matches_a_decimal_oracle(income: Decimal, children: int) -> None:
    deps = [
        {
            "dependent_id": "00000000-0000-0000-0000-000000000001",
            "full_name": "x",
            "national_id": CITIZEN_CHILD_ID,
            "relationship": "son",
            "birth_date": "2015-01-01",
            "has_disability": False,
            "monthly_income": "0",
        }
    ] * children
    profile = household(income=str(income), dependents=deps)
    inputs = {"profile": profile, "form": None, "documents": None, "active_programs": []}
    on = date(2026, 1, 1)
    result = evaluate(COMPILED["SSP-DEV"], facts_of(inputs, on), on)
    threshold = Decimal(1100) + Decimal(550) * children
    if income <= threshold:
        assert result.outcome == "eligible"
        expected = (threshold - income).quantize(Decimal(1), rounding=ROUND_HALF_UP)
        assert result.monthly_benefit == expected
    else:
        assert (result.outcome, result.monthly_benefit) == ("ineligible", Decimal("0.00"))
