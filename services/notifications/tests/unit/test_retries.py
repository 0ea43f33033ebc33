from __future__ import annotations

import random

import pytest

from sanad.notifications.domain.retries import (
    Backoff,
    Outcome,
    http_status_outcome,
    smtp_code_outcome,
)


def test_backoff_doubles_within_jitter_and_is_capped() -> None:
    backoff = Backoff(first_delay=2.0, max_delay=10.0, max_attempts=5)
    rng = random.Random(7)
    for attempts, ceiling in [(1, 2.0), (2, 4.0), (3, 8.0), (4, 10.0), (9, 10.0)]:
        delays = [backoff.delay(attempts, rng) for _ in range(200)]
        assert all(ceiling / 2 <= d <= ceiling for d in delays)
        assert len({round(d, 6) for d in delays}) > 100  # jittered, not lockstep


def test_gives_up_after_max_attempts() -> None:
    backoff = Backoff(first_delay=1.0, max_delay=1.0, max_attempts=3)
    assert [backoff.gives_up(n) for n in (1, 2, 3, 4)] == [False, False, True, True]


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
