"""Events the notifications service publishes."""

from __future__ import annotations

from typing import Literal
from uuid import UUID

from sanad.shared import topics
from sanad.shared.events.base import Language
from sanad.shared.events.envelope import Event


class NotificationDispatched(Event):
    """One delivery's outcome: never the message body, never a code."""

    EVENT_TYPE = "NotificationDispatched"
    TOPIC = topics.NOTIFICATION_DISPATCHED

    delivery_id: UUID
    source_event_id: UUID
    citizen_id: UUID | None = None
    channel: Literal["sms", "email"]
    template: str
    language: Language
    status: Literal["sent", "failed"]
    attempts: int

    def aggregate_key(self) -> str:
        return str(self.delivery_id)
