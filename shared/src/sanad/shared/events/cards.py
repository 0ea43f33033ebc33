"""Events the cards service publishes."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal
from uuid import UUID

from sanad.shared import topics
from sanad.shared.events.envelope import Event


class CardIssued(Event):
    EVENT_TYPE = "CardIssued"
    TOPIC = topics.CARD_ISSUED

    card_id: UUID
    card_number: str
    citizen_id: UUID
    application_id: UUID
    program_code: str
    issued_at: datetime
    expires_at: date

    def aggregate_key(self) -> str:
        return str(self.citizen_id)


CardStatus = Literal["active", "suspended", "revoked"]


class CardStatusChanged(Event):
    """A card was suspended (a caseworker, or a later rejection), reactivated (a later
    approval) or revoked (a caseworker; final). ``changed_by``: an account id, or ``auto``
    when a decision caused it (``decision_id`` names it)."""

    EVENT_TYPE = "CardStatusChanged"
    TOPIC = topics.CARD_STATUS_CHANGED

    card_id: UUID
    citizen_id: UUID
    program_code: str
    from_status: CardStatus
    status: CardStatus
    reason: str
    changed_by: str
    changed_at: datetime
    decision_id: UUID | None = None

    def aggregate_key(self) -> str:
        return str(self.citizen_id)
