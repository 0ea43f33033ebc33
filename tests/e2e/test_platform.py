"""The platform as ./sanad up leaves it: every service its own process, each ready."""

from __future__ import annotations

import json

import httpx
import pytest

from sanad.platform import procs
from sanad.platform.layout import SERVICES, ServiceInfo

# What each service uses, so what its readiness checks: the gateway only Redis (rate limits),
# identity and applications also Redis (codes, throttles; the program catalog cache), the
# others their database and Kafka.
USES = {
    "gateway": {"redis"},
    "identity": {"database", "kafka", "redis"},
    "applications": {"database", "kafka", "redis"},
    "portal": set(),  # no database, no Kafka: it calls the gateway only
}


@pytest.mark.parametrize("service", SERVICES, ids=lambda s: s.name)
def test_every_service_is_its_own_ready_process(service: ServiceInfo) -> None:
    pid = procs.running_pid(service.name)
    assert pid is not None, f"{service.name} is not running: ./sanad up starts it"
    response = httpx.get(f"http://127.0.0.1:{service.port}/readyz", timeout=5)
    assert response.status_code == 200, response.text
    checks = response.json()["checks"]
    assert checks == dict.fromkeys(USES.get(service.name, {"database", "kafka"}), "ok")
    assert httpx.get(f"http://127.0.0.1:{service.port}/healthz", timeout=5).json() == {
        "status": "ok"
    }


def test_service_logs_are_json_lines_with_the_service_name() -> None:
    for service in SERVICES:
        lines = [
            line
            for line in procs.log_path(service.name).read_text().splitlines()
            if line.startswith("{")
        ]
        assert lines, f"{service.name} wrote no JSON log line"
        assert json.loads(lines[-1])["service"] == service.name


def test_request_id_is_passed_on() -> None:
    # The port the platform gave identity (SANAD_IDENTITY_PORT moves it), not the default.
    health = next(f"http://127.0.0.1:{s.port}/healthz" for s in SERVICES if s.name == "identity")
    response = httpx.get(health, headers={"X-Request-ID": "e2e-abc"})
    assert response.headers["x-request-id"] == "e2e-abc"
    generated = httpx.get(health).headers["x-request-id"]
    assert len(generated) == 36
