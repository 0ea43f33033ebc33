"""The state machine: every legal transition passes, every other one names the state."""

from __future__ import annotations

import itertools

import pytest

from sanad.applications.domain.states import (
    EDITABLE,
    OPEN,
    REVIEWABLE,
    IllegalTransition,
    Status,
    can_move,
    check_move,
)

S = Status
LEGAL = {
    (S.DRAFT, S.SUBMITTED),
    (S.SUBMITTED, S.UNDER_EVALUATION),
    (S.UNDER_EVALUATION, S.APPROVED),
    (S.UNDER_EVALUATION, S.REJECTED),
    (S.UNDER_EVALUATION, S.NEEDS_COMPLETION),
    (S.UNDER_EVALUATION, S.UNDER_REVIEW),
    (S.NEEDS_COMPLETION, S.SUBMITTED),
    (S.NEEDS_COMPLETION, S.REJECTED),
    (S.UNDER_REVIEW, S.APPROVED),
    (S.UNDER_REVIEW, S.REJECTED),
    (S.REJECTED, S.APPEALED),
    (S.APPEALED, S.APPROVED),
    (S.APPEALED, S.REJECTED),
}
ILLEGAL = [pair for pair in itertools.product(Status, Status) if pair not in LEGAL]


@pytest.mark.parametrize(("current", "target"), sorted(LEGAL))
def test_a_legal_transition_passes(current: Status, target: Status) -> None:
    assert can_move(current, target)
    check_move(current, target, "move")


@pytest.mark.parametrize(("current", "target"), ILLEGAL)
def test_an_illegal_transition_names_the_current_state(current: Status, target: Status) -> None:
    assert not can_move(current, target)
    with pytest.raises(IllegalTransition) as raised:
        check_move(current, target, "do it")
    assert raised.value.current is current
    assert str(raised.value) == f"cannot do it: the application is {current.value}"


def test_there_are_64_pairs_and_13_legal_ones() -> None:
    assert len(LEGAL) + len(ILLEGAL) == len(Status) ** 2 == 64
    assert len(LEGAL) == 13


def test_approved_is_final_and_rejected_only_opens_an_appeal() -> None:
    assert not any(can_move(S.APPROVED, target) for target in Status)
    assert [t for t in Status if can_move(S.REJECTED, t)] == [S.APPEALED]


def test_open_editable_and_reviewable_states() -> None:
    assert set(Status) - OPEN == {S.APPROVED, S.REJECTED}
    assert EDITABLE == {S.DRAFT, S.NEEDS_COMPLETION}
    assert REVIEWABLE == {S.UNDER_REVIEW, S.APPEALED}
