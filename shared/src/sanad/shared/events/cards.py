"""Events the cards service publishes."""

from __future__ import annotations

from datetime import date, datetime
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
