"""The application state machine: which transitions exist, and nothing else.

Who may make a transition (the citizen, the evaluation, a caseworker, the deadline job) is
the use case's check; this table only says whether ``from → to`` is a legal step.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Status(StrEnum):
    DRAFT = "DRAFT"
    SUBMITTED = "SUBMITTED"
    UNDER_EVALUATION = "UNDER_EVALUATION"
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"
    NEEDS_COMPLETION = "NEEDS_COMPLETION"
    UNDER_REVIEW = "UNDER_REVIEW"
    APPEALED = "APPEALED"


TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.DRAFT: frozenset({Status.SUBMITTED}),
    Status.SUBMITTED: frozenset({Status.UNDER_EVALUATION}),
    Status.UNDER_EVALUATION: frozenset(
        {Status.APPROVED, Status.REJECTED, Status.NEEDS_COMPLETION, Status.UNDER_REVIEW}
    ),
    # Completed and submitted again, or the completion deadline passed.
    Status.NEEDS_COMPLETION: frozenset({Status.SUBMITTED, Status.REJECTED}),
    # A caseworker decides.
    Status.UNDER_REVIEW: frozenset({Status.APPROVED, Status.REJECTED}),
    Status.REJECTED: frozenset({Status.APPEALED}),
    Status.APPEALED: frozenset({Status.APPROVED, Status.REJECTED}),
    Status.APPROVED: frozenset(),
}

# While one of these, the citizen has an open application to the program (one at a time).
OPEN: frozenset[Status] = frozenset(
    {
        Status.DRAFT,
        Status.SUBMITTED,
        Status.UNDER_EVALUATION,
        Status.NEEDS_COMPLETION,
        Status.UNDER_REVIEW,
        Status.APPEALED,
    }
)
# The citizen may change the form and the documents.
EDITABLE: frozenset[Status] = frozenset({Status.DRAFT, Status.NEEDS_COMPLETION})
# A caseworker's queue.
REVIEWABLE: frozenset[Status] = frozenset({Status.UNDER_REVIEW, Status.APPEALED})


@dataclass(frozen=True)
class IllegalTransition(Exception):
    current: Status
    target: Status
    action: str

    def __str__(self) -> str:
        return f"cannot {self.action}: the application is {self.current.value}"


def can_move(current: Status, target: Status) -> bool:
    return target in TRANSITIONS[current]


def check_move(current: Status, target: Status, action: str) -> None:
    """Raises ``IllegalTransition`` (naming the current state) unless ``current → target``."""
    if not can_move(current, target):
        raise IllegalTransition(current, target, action)
