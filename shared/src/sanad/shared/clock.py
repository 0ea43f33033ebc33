"""The time a service reads, injected so that tests can move it instead of sleeping.

Services take a ``Clock`` where a rule depends on elapsed time (code lifetimes, lockouts,
rate-limit windows, token expiry); production passes ``SystemClock``, tests a ``FakeClock``
they ``advance``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware (UTC)."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class FakeClock:
    """Stands still until ``advance`` moves it; starts at the real time unless told."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime.now(UTC)
        if self._now.tzinfo is None:
            raise ValueError("FakeClock needs a timezone-aware start")

    def now(self) -> datetime:
        return self._now

    def advance(self, seconds: float = 0.0, *, by: timedelta | None = None) -> datetime:
        """Moves the clock forward (never back) and answers the new time."""
        step = by if by is not None else timedelta(seconds=seconds)
        if step < timedelta(0):
            raise ValueError("a clock does not go back")
        self._now += step
        return self._now


def epoch_ms(moment: datetime) -> int:
    """Milliseconds since the Unix epoch: how Redis scripts compare times."""
    return int(moment.timestamp() * 1000)
