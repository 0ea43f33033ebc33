"""A thousand applications in flight while a process dies, the broker or the database
restarts, or two instances share the partitions — and afterwards every application has
exactly one decision, every approved citizen one card, every citizen one SMS and one email
per notification, no event is lost or dead-lettered, and every service is ready again
without anyone touching it.

Each test breaks the platform ``./sanad up`` runs (only this slot's: its own ports and
``.local``), so the tier runs after every other one.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import uuid
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from sqlalchemy.ext.asyncio import AsyncEngine

from sanad.platform import kafka as platform_kafka
from sanad.platform import postgres, procs
from sanad.platform.layout import KAFKA_PORT, PG_PORT, SERVICES, port
from sanad.platform.services import command, platform_env
from sanad.platform.testing import Infra, eventually
from sanad.shared.auth import Role
from sanad.shared.problems import PROBLEM_JSON

from .conftest import APPLICATIONS, Run, kill_program, ready, restarted, run_workload
from .workload import SMS_SINK, URL, assert_exactly_once, signer

CONSUMERS = ("profile", "applications", "eligibility", "notifications", "cards")
# A workload, its fault and the recovery: minutes, not the suite's 120 s per test.
pytestmark = pytest.mark.timeout(900)


async def _in_flight(run: Run, service: str) -> None:
    """Until ``service`` is in the middle of the workload's work."""
    if service == "profile":
        return  # its CitizenRegistered events are being handled right now
    if service == "notifications":
        # Sends started and not recorded: a kill now interrupts them mid-send.
        await eventually(
            lambda: run.scalar(
                "SELECT count(*) FROM notifications.deliveries "
                "WHERE citizen_id = ANY(CAST(:ids AS uuid[])) AND status = 'sending' "
                "AND send_started_at IS NOT NULL",
                ids=[c.citizen_id for c in run.people],
            ),
            until=lambda n: n >= 5,
            timeout=240,
            interval=0.02,
            what="notifications sending",
        )
        return
    await eventually(
        run.decided, until=lambda n: n >= len(run.people) // 10, timeout=240, interval=0.1
    )


@pytest.mark.parametrize("service", CONSUMERS)
async def test_a_consumer_killed_mid_stream_is_restarted_and_nothing_is_lost_or_doubled(
    service: str,
    platform: Infra,
    db: AsyncEngine,
    http: httpx.AsyncClient,
    kafka: AIOKafkaProducer,
) -> None:
    async def kill(run: Run) -> None:
        await _in_flight(run, service)
        pid, before = await kill_program(service)
        state = await restarted(service, pid, before)
        run.notes.update(killed=pid, last_exit=state["last_exit"])

    run, found = await run_workload(platform, db, http, kafka, kill)

    assert run.notes["last_exit"] == "killed by SIGKILL"
    assert_exactly_once(found, run.people)
    if service == "notifications":
        # Sends cut by the kill (an attempt counted, its outcome never recorded) were made
        # again with the same keys, and still arrived once (checked above).
        interrupted = await run.scalar(
            "SELECT count(*) FROM notifications.deliveries d "
            "WHERE d.citizen_id = ANY(CAST(:ids AS uuid[])) AND d.attempts > "
            "(SELECT count(*) FROM notifications.delivery_attempts a "
            "WHERE a.delivery_id = d.id)",
            ids=[c.citizen_id for c in run.people],
        )
        assert interrupted >= 1
        print(f"notifications: {interrupted} sends interrupted by kill -9 and resent once")


async def _probe(http: httpx.AsyncClient) -> dict[str, httpx.Response | None]:
    """One request that needs its database to each service (and one through the gateway)."""
    token, _, _ = signer().issue(str(uuid.uuid4()), Role.CITIZEN, ttl_seconds=600)
    auth = {"Authorization": f"Bearer {token}"}
    requests: dict[str, tuple[str, str, dict[str, Any]]] = {
        "identity": (
            "POST",
            f"{URL['identity']}/v1/auth/login",
            {"json": {"national_id": "1000000008", "password": "Not-the-password-1!"}},
        ),
        "profile": ("GET", f"{URL['profile']}/v1/profile", {"headers": auth}),
        "applications": ("GET", f"{URL['applications']}/v1/applications", {"headers": auth}),
        "eligibility": (
            "GET",
            f"{URL['eligibility']}/v1/eligibility/check",
            {"headers": auth, "params": {"program": "SSP-DEV"}},
        ),
        "notifications": ("GET", f"{URL['notifications']}/v1/notifications", {"headers": auth}),
        "cards": ("GET", f"{URL['cards']}/v1/cards/me", {"headers": auth}),
        "gateway": ("GET", f"{URL['gateway']}/v1/applications", {"headers": auth}),
    }

    async def one(method: str, url: str, kwargs: dict[str, Any]) -> httpx.Response | None:
        try:
            return await http.request(method, url, timeout=15.0, **kwargs)
        except httpx.TransportError:
            return None  # the service itself is away: no answer at all (never a 500)

    answers = await asyncio.gather(*(one(*r) for r in requests.values()))
    return dict(zip(requests, answers, strict=True))


def _never_500(answers: dict[str, httpx.Response | None]) -> None:
    for name, response in answers.items():
        assert response is not None, f"{name} did not answer"
        assert response.status_code < 500 or response.status_code == 503, (
            name,
            response.status_code,
            response.text[:300],
        )
        if response.status_code == 503:
            _is_outage_problem(name, response)


def _is_outage_problem(name: str, response: httpx.Response) -> None:
    assert response.status_code == 503, (name, response.status_code, response.text[:300])
    assert response.headers["content-type"].startswith(PROBLEM_JSON), (name, response.headers)
    assert int(response.headers["retry-after"]) > 0, name
    assert response.json()["status"] == 503, name


async def test_a_postgres_restart_answers_503_and_loses_nothing(
    platform: Infra,
    db: AsyncEngine,
    http: httpx.AsyncClient,
    kafka: AIOKafkaProducer,
) -> None:
    async def restart_postgres(run: Run) -> None:
        await _in_flight(run, "applications")
        assert postgres.is_ours(), "the fault tests restart only the platform's own Postgres"
        await asyncio.to_thread(postgres.stop)
        try:
            assert not procs.port_open(port(PG_PORT))
            # Every service answers its clients 503 problem+json with Retry-After: not 500.
            answers = await _probe(http)
            for name, response in answers.items():
                assert response is not None, f"{name} did not answer during the outage"
                _is_outage_problem(name, response)
            run.notes["outage_answers"] = {k: v.status_code for k, v in answers.items() if v}
        finally:
            await asyncio.to_thread(postgres.ensure_running)

    run, found = await run_workload(platform, db, http, kafka, restart_postgres)

    assert set(run.notes["outage_answers"].values()) == {503}
    assert_exactly_once(found, run.people)


async def test_a_kafka_restart_answers_no_500_and_loses_nothing(
    platform: Infra,
    db: AsyncEngine,
    http: httpx.AsyncClient,
    kafka: AIOKafkaProducer,
) -> None:
    async def restart_kafka(run: Run) -> None:
        await _in_flight(run, "applications")
        broker = procs.program_pid(platform_kafka.NAME)
        state = procs.supervision(platform_kafka.NAME)
        assert broker is not None and state is not None, "the platform's broker is not running"
        os.kill(broker, signal.SIGTERM)  # a restart; its supervisor starts it again
        await eventually(
            lambda: _closed(port(KAFKA_PORT)), timeout=60, interval=0.1, what="broker stopped"
        )
        # During the outage: answers are made from the database (events wait in the
        # outboxes), and nothing answers 500; readiness says the broker is missing.
        answers = await _probe(http)
        _never_500(answers)
        not_ready = await http.get(f"{URL['applications']}/readyz")
        assert not_ready.status_code == 503, not_ready.text
        run.notes["outage_answers"] = {k: v.status_code for k, v in answers.items() if v}
        await restarted(platform_kafka.NAME, broker, int(state["restarts"]))
        await eventually(
            lambda: _open(port(KAFKA_PORT)), timeout=120, interval=0.2, what="broker back"
        )

    run, found = await run_workload(platform, db, http, kafka, restart_kafka)

    assert 500 not in run.notes["outage_answers"].values()
    assert_exactly_once(found, run.people)


async def _closed(p: int) -> bool:
    return not procs.port_open(p)


async def _open(p: int) -> bool:
    return procs.port_open(p)


SECOND_PORT_OFFSET = 30  # the second instances listen beside the first (same slot's range)


async def test_two_instances_of_eligibility_and_notifications_share_the_work(
    platform: Infra,
    db: AsyncEngine,
    http: httpx.AsyncClient,
    kafka: AIOKafkaProducer,
) -> None:
    seconds = {s.name: s for s in SERVICES if s.name in ("eligibility", "notifications")}
    env = platform_env()
    started: list[str] = []
    log_from: dict[str, int] = {}
    try:
        for name, service in seconds.items():
            second = service.port + SECOND_PORT_OFFSET
            assert not procs.port_open(second), f"port {second} is taken"
            log = procs.log_path(f"{name}-2")
            log_from[name] = log.stat().st_size if log.exists() else 0
            procs.spawn(
                f"{name}-2",
                command(service, "serve"),
                env=env | {service.port_variable: str(second)},
                marker=f"sanad.{name}",
            )
            started.append(f"{name}-2")
            await eventually(
                lambda s=second: ready(http, f"http://127.0.0.1:{s}"),
                timeout=180,
                interval=0.5,
                what=f"a second {name} ready",
            )

        run, found = await run_workload(platform, db, http, kafka, None)

        assert_exactly_once(found, run.people)
        # The second instances did part of the work: the consumer group gave them
        # partitions whose events they processed, and the notifications worker sent some of
        # the messages.
        for name in seconds:
            with procs.log_path(f"{name}-2").open("rb") as log:
                log.seek(log_from[name])
                lines = log.read().decode(errors="replace")
            assert '"events_processed"' in lines, f"the second {name} processed no events"
        assert '"delivery_attempted"' in lines, "the second notifications sent nothing"
    finally:
        for name in started:
            procs.stop(name)


def test_the_tier_is_sized_as_the_issue_asks() -> None:
    """At least 1,000 applications in flight unless a developer asked for fewer."""
    assert APPLICATIONS >= 1000 or "SANAD_FAULT_APPLICATIONS" in os.environ, sys.argv
    assert SMS_SINK
