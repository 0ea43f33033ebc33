"""Households and rule sets for the unit tests (no I/O)."""

from __future__ import annotations

import copy
from datetime import date
from decimal import Decimal
from typing import Any

from sanad.eligibility.domain.facts import Facts, facts_of
from sanad.eligibility.domain.rules import CompiledRuleSet, compile_rule_set
from sanad.eligibility.rulesets import shipped

ON = date(2026, 6, 1)
SSP_DOCUMENTS = ["national_id", "family_register", "proof_of_income", "bank_account"]
CITIZEN_CHILD_ID = "1000000008"  # citizens' IDs start with 1
RESIDENT_CHILD_ID = "2000000006"  # residence permits with 2


def shipped_document(program: str) -> dict[str, Any]:
    return copy.deepcopy(next(d for d in shipped() if d["program"] == program))


def rule_set(program: str = "SSP-DEV") -> CompiledRuleSet:
    return compile_rule_set(shipped_document(program))


def child(
    national_id: str = CITIZEN_CHILD_ID, income: str = "0", born: str = "2015-01-01"
) -> dict[str, Any]:
    return {
        "dependent_id": "00000000-0000-0000-0000-000000000001",
        "full_name": "child",
        "national_id": national_id,
        "relationship": "son",
        "birth_date": born,
        "has_disability": False,
        "monthly_income": income,
    }


def household(
    *,
    nationality: str = "SA",
    marital_status: str | None = "married",
    income: str | None = "1000.00",
    dependents: list[dict[str, Any]] | None = None,
    property_value: str | None = "0",
    housing: bool = True,
    birth_date: str = "1980-05-01",
    employment: str | None = "unemployed",
    is_orphan: bool | None = None,
    has_disability: bool | None = False,
    housing_type: str = "rented",
) -> dict[str, Any]:
    """A household snapshot shaped as ApplicationSubmitted v2 carries it. The applicant's
    own income is ``income`` less the dependents' incomes."""
    dependents = dependents if dependents is not None else []
    dependents_income = sum((Decimal(d["monthly_income"]) for d in dependents), Decimal(0))
    own = None if income is None else Decimal(income) - dependents_income
    return {
        "registry": {"sex": "F", "birth_date": birth_date},
        "sections": {
            "personal": {
                "nationality": nationality,
                "marital_status": marital_status,
                "has_disability": has_disability,
                "is_orphan": is_orphan,
            },
            "housing": (
                {
                    "region": "riyadh",
                    "city": "Riyadh",
                    "district": "Olaya",
                    "national_address": "RRRD2929",
                    "housing_type": housing_type,
                    "monthly_rent": "1500",
                }
                if housing
                else None
            ),
            "income": (
                None
                if own is None
                else {"sources": [{"type": "other", "monthly_amount": str(own), "payer": "x"}]}
            ),
            "employment": None if employment is None else {"status": employment},
            "property": (
                None
                if property_value is None
                else {
                    "assets": [
                        {
                            "kind": "real_estate",
                            "description": "home",
                            "estimated_value": property_value,
                        }
                    ]
                }
            ),
        },
        "dependents": dependents,
        "household": {
            "household_size": 1 + len(dependents),
            "total_monthly_income": income or "0",
            "total_property_value": property_value or "0",
        },
        "completeness": {
            "personal": True,
            "housing": housing,
            "income": income is not None,
            "education": False,
            "employment": employment is not None,
            "licenses": False,
            "property": property_value is not None,
            "dependents": True,
            "complete": False,
        },
    }


def inputs(
    profile: dict[str, Any],
    *,
    form_income: str | None = None,
    documents: list[str] | None = None,
    active: list[str] | None = None,
    category: str | None = None,
    form: bool = True,
) -> dict[str, Any]:
    income = profile["household"]["total_monthly_income"] if form_income is None else form_income
    return {
        "profile": profile,
        "form": (
            {"monthly_income": income, "family_size": profile["household"]["household_size"]}
            | ({"category": category} if category else {})
            if form
            else None
        ),
        "documents": (SSP_DOCUMENTS if documents is None else documents) if form else None,
        "active_programs": active or [],
    }


def facts(profile: dict[str, Any], on: date = ON, **kw: Any) -> Facts:
    return facts_of(inputs(profile, **kw), on)
