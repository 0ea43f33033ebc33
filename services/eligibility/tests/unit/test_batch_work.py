"""What evaluating a batch decides in memory: the rule-set version in force from the
versions read in one round trip, the registry row each application keeps from a batch of
decisions, and the stored trace (what a replay compares) unchanged in shape."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from sanad.eligibility.domain.evaluation import Result, evaluate
from sanad.eligibility.repository import (
    Decided,
    ForEvaluation,
    KeptProfile,
    RuleSetVersion,
    latest_decisions,
    newest_profiles,
)

from .conftest import ON, SSP_DOCUMENTS, child, facts, household, rule_set


def version(label: str, effective: date, seq: int) -> RuleSetVersion:
    return RuleSetVersion("P", label, effective, seq, "digest-" + label)


KNOWN = ForEvaluation(
    versions={
        "P": [
            version("1", date(2025, 1, 1), 1),
            version("2", date(2026, 1, 1), 2),
            version("2b", date(2026, 1, 1), 5),  # the same day, published later
            version("3", date(2027, 1, 1), 3),
        ]
    },
    benefits=[],
)


@pytest.mark.parametrize(
    ("on", "expected"),
    [
        (date(2024, 12, 31), None),  # before the first version
        (date(2025, 1, 1), "1"),
        (date(2025, 12, 31), "1"),
        (date(2026, 1, 1), "2b"),  # of two effective the same day, the later published
        (date(2026, 12, 31), "2b"),
        (date(2027, 6, 1), "3"),
    ],
)
def test_the_version_in_force_is_the_latest_effective_on_or_before(
    on: date, expected: str | None
) -> None:
    found = KNOWN.in_force("P", on)
    assert (found.version if found else None) == expected


def test_a_program_without_versions_has_none_in_force() -> None:
    assert KNOWN.in_force("OTHER", ON) is None


def decided(application: uuid.UUID, at: datetime, *, active: bool) -> Decided:
    return Decided(application, uuid.uuid4(), "SSP-DEV", active, uuid.uuid4(), at)


def test_each_application_keeps_its_latest_decision_whatever_the_order() -> None:
    one, two = uuid.uuid4(), uuid.uuid4()
    now = datetime(2026, 6, 1, tzinfo=UTC)
    approved = decided(one, now + timedelta(seconds=5), active=True)
    rejected_earlier = decided(one, now, active=False)  # delivered after, decided before
    other = decided(two, now, active=True)
    assert latest_decisions([approved, other, rejected_earlier]) == [approved, other]


def test_of_two_decisions_at_the_same_moment_the_later_in_the_batch_wins() -> None:
    one = uuid.uuid4()
    now = datetime(2026, 6, 1, tzinfo=UTC)
    first, second = decided(one, now, active=True), decided(one, now, active=False)
    assert latest_decisions([first, second]) == [second]


def test_each_citizen_keeps_the_newest_profile_of_a_batch() -> None:
    one, two = uuid.uuid4(), uuid.uuid4()
    v3 = KeptProfile(one, 3, {"n": 3})
    v2 = KeptProfile(one, 2, {"n": 2})  # delivered after, older
    v3_again = KeptProfile(one, 3, {"n": "again"})  # not newer: changes nothing
    other = KeptProfile(two, 1, {})
    assert newest_profiles([v3, other, v2, v3_again]) == [v3, other]


def as_before(result: Result) -> dict[str, Any]:
    """The stored trace as it was written before (``dataclasses.asdict``): evaluations
    stored then must replay identically."""
    data = dataclasses.asdict(result)
    data["effective_on"] = result.effective_on.isoformat()
    data["monthly_benefit"] = (
        None if result.monthly_benefit is None else str(result.monthly_benefit)
    )
    for criterion in data["criteria"]:
        criterion["passed"] = criterion["status"] in ("passed", "not_applicable")
    return data


@pytest.mark.parametrize(
    "inputs",
    [
        {"income": "900.00", "documents": SSP_DOCUMENTS},
        {"income": "4200.00", "dependents": [child(), child()], "documents": SSP_DOCUMENTS},
        {"income": "900.00", "documents": SSP_DOCUMENTS[:1]},  # incomplete: missing listed
        {"income": None, "documents": SSP_DOCUMENTS},  # an unknown fact
    ],
)
def test_the_stored_trace_keeps_its_shape(inputs: dict[str, Any]) -> None:
    found = facts(
        household(income=inputs["income"], dependents=inputs.get("dependents", [])),
        documents=inputs["documents"],
    )
    result = evaluate(rule_set(), found, ON)
    assert result.to_json() == as_before(result)
    assert list(result.to_json()) == list(as_before(result))
