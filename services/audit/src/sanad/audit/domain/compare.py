"""``compare``: the replayed projections against what the live services hold."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sanad.audit.domain.projections import (
    APPLICATION_COLUMNS,
    CARD_COLUMNS,
    EVALUATION_COLUMNS,
    Projections,
)
from sanad.audit.domain.report import Check


def _named(columns: tuple[str, ...], rows: list[tuple[Any, ...]]) -> list[dict[str, Any]]:
    return [dict(zip(columns, row, strict=True)) for row in rows]


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, Decimal | int) or isinstance(b, Decimal | int):
        return (None if a is None else Decimal(str(a))) == (None if b is None else Decimal(str(b)))
    return (None if a is None else str(a)) == (None if b is None else str(b))


def _diff(ours: dict[str, Any], theirs: dict[str, Any], fields: tuple[str, ...]) -> dict[str, Any]:
    return {
        f: {"replayed": ours.get(f), "live": theirs.get(f)}
        for f in fields
        if not _same(ours.get(f), theirs.get(f))
    }


def compare_applications(
    projections: Projections,
    live: dict[str, dict[str, Any]],
    live_in_scope: set[str],
) -> Check:
    check = Check("applications", "applications: replayed status and decision = applications'")
    ours = {
        row["application_id"]: row for row in _named(APPLICATION_COLUMNS, projections.applications)
    }
    for application_id, row in sorted(ours.items()):
        theirs = live.get(application_id)
        if theirs is None:
            check.fail(application_id=application_id, error="not in the applications service")
            continue
        differs = _diff(
            row, theirs, ("citizen_id", "program_code", "status", "submission_id", "decision_id")
        )
        if differs:
            check.fail(application_id=application_id, differences=differs)
        else:
            check.passed()
    for application_id in sorted(live_in_scope - set(ours)):
        check.fail(application_id=application_id, error="in the applications service, no event")
    return check


def compare_evaluations(projections: Projections, live: dict[str, dict[str, Any]]) -> Check:
    check = Check("evaluations", "evaluations: replayed outcome and benefit = eligibility's")
    for row in _named(EVALUATION_COLUMNS, projections.evaluations):
        theirs = live.get(row["evaluation_id"])
        if theirs is None:
            check.fail(evaluation_id=row["evaluation_id"], error="not in the eligibility service")
            continue
        differs = _diff(row, theirs, ("application_id", "outcome", "monthly_benefit", "facts_hash"))
        if differs:
            check.fail(evaluation_id=row["evaluation_id"], differences=differs)
        else:
            check.passed()
    return check


def compare_cards(projections: Projections, live: dict[str, dict[str, Any]]) -> Check:
    check = Check("cards", "cards: replayed holder, program and status = cards'")
    for row in _named(CARD_COLUMNS, projections.cards):
        theirs = live.get(row["card_id"])
        if theirs is None:
            check.fail(card_id=row["card_id"], error="not in the cards service")
            continue
        differs = _diff(
            row, theirs, ("citizen_id", "application_id", "program_code", "status", "number_last4")
        )
        if differs:
            check.fail(card_id=row["card_id"], differences=differs)
        else:
            check.passed()
    return check
