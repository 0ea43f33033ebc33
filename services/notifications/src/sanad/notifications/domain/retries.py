"""When a failed delivery is tried again, and when it is given up."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum


class Outcome(StrEnum):
    SENT = "sent"
    TRANSIENT = "transient"  # connection error, timeout, 5xx, 429: try again later
    PERMANENT = "permanent"  # 4xx, invalid address: trying again cannot help


@dataclass(frozen=True)
class Backoff:
    first_delay: float
    max_delay: float
    # Transient failures are retried for this long after the delivery was queued, so an
    # outage of hours still ends in a delivery; the attempt cap is only a backstop.
    give_up_after: float
    max_attempts: int

    def delay(self, attempts_made: int, rng: random.Random | None = None) -> float:
        """Seconds before the next attempt after ``attempts_made`` failures.

        Exponential, with "equal jitter" (half fixed, half random) so that a provider outage
        does not make every instance retry in lockstep, yet no retry comes back at once.
        """
        ceiling = min(self.max_delay, self.first_delay * 2.0 ** max(attempts_made - 1, 0))
        jitter: float = (rng or random).uniform(0, ceiling / 2)
        return ceiling / 2 + jitter

    def retry_at(
        self,
        attempts_made: int,
        queued_at: datetime,
        now: datetime,
        rng: random.Random | None = None,
    ) -> datetime | None:
        """When to try again after a transient failure; None once the budget is spent.

        The last retry is brought forward to the end of the budget rather than dropped.
        """
        deadline = queued_at + timedelta(seconds=self.give_up_after)
        if attempts_made >= self.max_attempts or now >= deadline:
            return None
        return min(now + timedelta(seconds=self.delay(attempts_made, rng)), deadline)


def http_status_outcome(status: int) -> Outcome:
    """A provider's HTTP answer as an outcome (a timeout or refused connection is TRANSIENT)."""
    if 200 <= status < 300:
        return Outcome.SENT
    if status in (408, 425, 429) or status >= 500:
        return Outcome.TRANSIENT
    return Outcome.PERMANENT


def smtp_code_outcome(code: int) -> Outcome:
    """SMTP replies: 4yz is a temporary failure, 5yz a permanent one (RFC 5321 §4.2.1)."""
    if 400 <= code < 500:
        return Outcome.TRANSIENT
    if code >= 500:
        return Outcome.PERMANENT
    return Outcome.TRANSIENT  # anything else is unexpected: assume the server hiccuped
