"""The supervisor's restart policy, without processes."""

from __future__ import annotations

import signal

from sanad.platform.supervisor import MAX_DELAY, backoff, describe_exit


def test_restarts_back_off_exponentially_up_to_a_ceiling() -> None:
    assert [backoff(n) for n in range(1, 8)] == [1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0]
    assert backoff(50) == MAX_DELAY


def test_an_exit_is_described_as_status_shows_it() -> None:
    assert describe_exit(1) == "exit 1"
    assert describe_exit(0) == "exit 0"
    assert describe_exit(-signal.SIGKILL) == "killed by SIGKILL"
    assert describe_exit(-signal.SIGTERM) == "killed by SIGTERM"
