"""What a channel reports back; channels never raise for a failed send."""

from __future__ import annotations

from dataclasses import dataclass

from sanad.notifications.domain.retries import Outcome


@dataclass(frozen=True)
class SendResult:
    outcome: Outcome
    status_code: int | None = None
    error: str | None = None  # never holds the message body
    provider_message_id: str | None = None

    @classmethod
    def sent(cls, status_code: int | None = None, message_id: str | None = None) -> SendResult:
        return cls(Outcome.SENT, status_code, None, message_id)
