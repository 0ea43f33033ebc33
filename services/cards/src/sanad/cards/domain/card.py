"""A beneficiary card and the rules of its status.

One card per citizen and program is *current* (active or suspended); a revoked card is
final, and a new approval may then issue a new card. A card is valid from its issue date
to its expiry date inclusive.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from uuid import UUID


class Status(StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"
    REVOKED = "revoked"


CURRENT = (Status.ACTIVE, Status.SUSPENDED)


class IllegalChange(Exception):
    def __init__(self, current: Status, wanted: Status) -> None:
        super().__init__(f"A {current.value} card cannot become {wanted.value}.")
        self.current = current
        self.wanted = wanted


# What each status may become. Suspension is undone by a later approval (or reinstatement);
# revocation is final.
ALLOWED: dict[Status, frozenset[Status]] = {
    Status.ACTIVE: frozenset({Status.SUSPENDED, Status.REVOKED}),
    Status.SUSPENDED: frozenset({Status.ACTIVE, Status.REVOKED}),
    Status.REVOKED: frozenset(),
}


@dataclass(frozen=True)
class Card:
    card_id: UUID
    card_number: str
    citizen_id: UUID
    program_code: str
    program_name_ar: str
    program_name_en: str
    application_id: UUID
    decision_id: UUID
    holder_name_ar: str
    holder_name_en: str
    monthly_benefit: Decimal | None
    issued_at: datetime
    expires_on: date
    status: Status
    status_reason: str | None
    status_changed_at: datetime

    def expired(self, now: datetime) -> bool:
        return now.date() > self.expires_on

    def changed(self, to: Status, *, reason: str, now: datetime) -> Card:
        if to not in ALLOWED[self.status]:
            raise IllegalChange(self.status, to)
        return replace(self, status=to, status_reason=reason, status_changed_at=now)


def expiry(issued_at: datetime, validity_days: int) -> date:
    """The last day a card issued at ``issued_at`` is valid."""
    return (issued_at + timedelta(days=validity_days)).date()


@dataclass(frozen=True)
class DecisionRecord:
    """The latest APPROVED or REJECTED decision this service knows of a citizen's program,
    with what the decision said about the program's cards."""

    citizen_id: UUID
    program_code: str
    decision_id: UUID
    application_id: UUID
    decision: str  # APPROVED or REJECTED
    decided_at: datetime
    monthly_benefit: Decimal | None
    program_name_ar: str
    program_name_en: str
    # None: the decision (v1/v2) did not say; cards are then issued on request only.
    card_on_approval: bool | None
    card_validity_days: int

    @property
    def approved(self) -> bool:
        return self.decision == "APPROVED"
