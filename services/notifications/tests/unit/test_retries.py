from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest

from sanad.notifications.domain.retries import (
    Backoff,
    Outcome,
    http_status_outcome,
    smtp_code_outcome,
)
from sanad.notifications.settings import NotificationsSettings


def test_backoff_doubles_within_jitter_and_is_capped() -> None:
    backoff = Backoff(first_delay=2.0, max_delay=10.0, give_up_after=3600, max_attempts=5)
    rng = random.Random(7)
    for attempts, ceiling in [(1, 2.0), (2, 4.0), (3, 8.0), (4, 10.0), (9, 10.0)]:
        delays = [backoff.delay(attempts, rng) for _ in range(200)]
        assert all(ceiling / 2 <= d <= ceiling for d in delays)
        assert len({round(d, 6) for d in delays}) > 100  # jittered, not lockstep


QUEUED = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)


def test_gives_up_when_the_time_budget_is_spent_or_at_the_attempt_backstop() -> None:
    backoff = Backoff(first_delay=1.0, max_delay=1.0, give_up_after=60, max_attempts=100)
    soon = QUEUED + timedelta(seconds=10)
    retry = backoff.retry_at(3, QUEUED, soon)
    assert retry is not None and soon < retry <= soon + timedelta(seconds=1)
    assert backoff.retry_at(3, QUEUED, QUEUED + timedelta(seconds=60)) is None
    # The last retry is brought forward to the end of the budget rather than dropped.
    assert backoff.retry_at(3, QUEUED, QUEUED + timedelta(seconds=59.9)) == QUEUED + timedelta(
        seconds=60
    )
    assert backoff.retry_at(100, QUEUED, soon) is None


def schedule(settings: NotificationsSettings, rng: random.Random) -> list[datetime]:
    """When each attempt of a delivery that only ever fails transiently is made."""
    backoff = Backoff(
        settings.retry_first_delay,
        settings.retry_max_delay,
        settings.retry_give_up_after_seconds,
        settings.max_attempts,
    )
    attempts, at = [QUEUED], backoff.retry_at(1, QUEUED, QUEUED, rng)
    while at is not None:
        attempts.append(at)
        at = backoff.retry_at(len(attempts), QUEUED, at, rng)
    return attempts


@pytest.mark.parametrize("jitter", [0.0, 0.5, 1.0])
def test_default_retries_ride_out_a_long_outage_at_the_max_delay(jitter: float) -> None:
    settings = NotificationsSettings()
    rng = random.Random()
    rng.uniform = lambda low, high: low + (high - low) * jitter  # type: ignore[method-assign]
    attempts = schedule(settings, rng)
    budget = timedelta(seconds=settings.retry_give_up_after_seconds)
    assert attempts[-1] - QUEUED == budget  # tried up to the end of the budget...
    assert len(attempts) < settings.max_attempts  # ...which binds, not the attempt backstop
    gaps = [b - a for a, b in pairwise(attempts)]
    assert max(gaps) >= timedelta(seconds=settings.retry_max_delay / 2)  # the cap is reached
    assert budget >= timedelta(hours=1)  # an outage of an hour does not lose a notification


@pytest.mark.parametrize(
    ("status", "outcome"),
    [
        (200, Outcome.SENT),
        (202, Outcome.SENT),
        (400, Outcome.PERMANENT),
        (401, Outcome.PERMANENT),
        (404, Outcome.PERMANENT),
        (408, Outcome.TRANSIENT),
        (429, Outcome.TRANSIENT),
        (500, Outcome.TRANSIENT),
        (503, Outcome.TRANSIENT),
    ],
)
def test_http_status_outcome(status: int, outcome: Outcome) -> None:
    assert http_status_outcome(status) is outcome


def test_smtp_code_outcome() -> None:
    assert smtp_code_outcome(421) is Outcome.TRANSIENT
    assert smtp_code_outcome(450) is Outcome.TRANSIENT
    assert smtp_code_outcome(550) is Outcome.PERMANENT
    assert smtp_code_outcome(553) is Outcome.PERMANENT


def test_settings_refuse_a_send_timeout_that_does_not_fit_well_inside_the_lease() -> None:
    NotificationsSettings(send_timeout=15, lease_seconds=60)
    with pytest.raises(ValueError, match="quarter of lease_seconds"):
        NotificationsSettings(send_timeout=20, lease_seconds=60)
