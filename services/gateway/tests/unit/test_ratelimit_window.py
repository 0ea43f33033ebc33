"""The fixed window's key and the Retry-After it gives."""

from sanad.gateway.ratelimit import too_many_requests, window_for


def test_requests_in_one_window_share_a_key_and_the_next_window_starts_anew() -> None:
    first = window_for("ip", "127.0.0.1", size=60, now=120.0)
    later = window_for("ip", "127.0.0.1", size=60, now=179.9)
    next_window = window_for("ip", "127.0.0.1", size=60, now=180.0)
    assert first.key == later.key != next_window.key
    assert first.seconds_left == 60
    assert later.seconds_left == 1
    assert window_for("user", "127.0.0.1", size=60, now=120.0).key != first.key


def test_too_many_requests_is_a_429_with_retry_after() -> None:
    problem = too_many_requests("user", 17)
    assert problem.status == 429
    assert problem.headers == {"Retry-After": "17"}
