"""The fault tier: the running platform (``./sanad up``) with a workload in flight, broken on
purpose. Each test owns the platform while it runs; the tier runs last."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from sanad.platform import procs
from sanad.platform.layout import SERVICES
from sanad.platform.testing import Infra, eventually, local_infra
from sanad.shared import kafka_clients

from .workload import (
    URL,
    Citizen,
    Outcome,
    copy_drafts,
    end_offsets,
    expected_deliveries,
    finished,
    outcome,
    seed_profiles,
    signer,
    submit_all,
    template_draft,
)

# Applications in flight in every test (SANAD_FAULT_APPLICATIONS lowers it while developing).
APPLICATIONS = int(os.environ.get("SANAD_FAULT_APPLICATIONS", "1000"))
RECOVERY_TIMEOUT = 300.0  # the whole workload, fault and recovery included, on a busy machine


@pytest.fixture(scope="session")
def platform() -> Infra:
    """The local platform, every service of it ready: these tests break its processes."""
    try:
        infra = local_infra()
    except Exception as exc:
        pytest.fail(str(exc), pytrace=False)
    for service in SERVICES:
        if procs.supervision(service.name) is None:
            pytest.fail(
                f"{service.name} is not running under the platform's supervisor: "
                "run `./sanad up` (`./sanad test` does) before the fault tests",
                pytrace=False,
            )
    return infra


@pytest.fixture(scope="session")
async def db(platform: Infra) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(platform.database_admin_url(), pool_pre_ping=True)
    try:
        yield engine
    finally:
        await engine.dispose()


@pytest.fixture(scope="session")
async def http() -> AsyncIterator[httpx.AsyncClient]:
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=32)
    async with httpx.AsyncClient(timeout=30.0, limits=limits) as client:
        yield client


@pytest.fixture
async def kafka(platform: Infra) -> AsyncIterator[AIOKafkaProducer]:
    producer = kafka_clients.producer(platform.kafka, linger_ms=20)
    await producer.start()
    try:
        yield producer
    finally:
        await producer.stop()


async def ready(http: httpx.AsyncClient, base_url: str) -> bool:
    try:
        return (await http.get(f"{base_url}/readyz", timeout=2.0)).status_code == 200
    except httpx.HTTPError:
        return False


async def all_ready(http: httpx.AsyncClient) -> list[str]:
    """The services not ready (empty when every one is)."""
    answers = await asyncio.gather(*(ready(http, URL[s.name]) for s in SERVICES))
    return [s.name for s, ok in zip(SERVICES, answers, strict=True) if not ok]


@dataclass
class Run:
    """One workload run: what a fault waits on and what it found."""

    db: AsyncEngine
    http: httpx.AsyncClient
    people: list[Citizen]
    notes: dict[str, Any] = field(default_factory=dict)

    async def decided(self) -> int:
        return (await finished(self.db, self.people))[0]

    async def scalar(self, sql: str, **params: Any) -> Any:
        async with self.db.connect() as conn:
            return (await conn.execute(text(sql), params)).scalar()


Fault = Callable[[Run], Awaitable[None]]


async def run_workload(
    platform: Infra,
    db: AsyncEngine,
    http: httpx.AsyncClient,
    kafka: AIOKafkaProducer,
    fault: Fault | None,
    *,
    count: int = APPLICATIONS,
) -> tuple[Run, Outcome]:
    """Seed ``count`` citizens, submit an application each while ``fault`` runs, wait until
    every application is decided and every message ended, and count what happened."""
    # Ready on their own (a test that failed mid-fault may leave one still recovering).
    await eventually(
        lambda: all_ready(http),
        until=lambda down: not down,
        timeout=120,
        what="every service ready before a fault test",
    )
    clock = asyncio.get_running_loop().time
    began = clock()
    phases: dict[str, float] = {}
    since = await end_offsets(platform.kafka)
    started_at = datetime.now(UTC).isoformat()
    tokens = signer()
    from .workload import citizens

    people = citizens(count + 1, tokens)
    owner, people = people[0], people[1:]
    run = Run(db, http, people)
    await seed_profiles(kafka, [owner, *people])
    await eventually(
        lambda: run.scalar(
            "SELECT count(*) FROM applications.citizen_profiles "
            "WHERE citizen_id = ANY(CAST(:ids AS uuid[])) AND version = 100",
            ids=[c.citizen_id for c in [owner, *people]],
        ),
        until=lambda n: n == count + 1,
        timeout=RECOVERY_TIMEOUT,
        interval=0.5,
        what="every seeded profile kept by applications",
    )
    phases["seeded"] = clock() - began
    template = await template_draft(http, owner)
    await copy_drafts(db, template, people)
    phases["drafts"] = clock() - began
    fault_task = asyncio.create_task(fault(run)) if fault else None
    try:
        run.notes["submit_statuses"] = dict(await submit_all(http, people))
        phases["submitted"] = clock() - began
        await eventually(
            lambda: finished(db, people),
            until=lambda f: f == (count, expected_deliveries(people)),
            timeout=RECOVERY_TIMEOUT,
            interval=1.0,
            what="every application decided and every message ended",
        )
        phases["finished"] = clock() - began
        if fault_task is not None:
            await fault_task
    finally:
        if fault_task is not None and not fault_task.done():
            fault_task.cancel()
    # Recovered without a manual step: every service answers ready again.
    await eventually(lambda: all_ready(http), until=lambda down: not down, timeout=120)
    found = await outcome(platform.kafka, since, people, db, http, started_at)
    phases["counted"] = clock() - began
    run.notes["seconds"] = {k: round(v, 1) for k, v in phases.items()}
    print(f"\n{count} applications: {run.notes}")
    return run, found


async def kill_program(name: str) -> tuple[int, int]:
    """``kill -9`` the running program ``name`` (not its supervisor); (pid, restarts before)."""
    pid = procs.program_pid(name)
    state = procs.supervision(name)
    assert pid is not None and state is not None, f"{name} is not running supervised"
    os.kill(pid, signal.SIGKILL)
    return pid, int(state["restarts"])


async def restarted(name: str, old_pid: int, restarts_before: int) -> dict[str, Any]:
    """Wait until the supervisor has started ``name`` again; its state."""

    async def state() -> dict[str, Any]:
        return procs.supervision(name) or {}

    return await eventually(
        state,
        until=lambda s: (
            s.get("restarts", 0) == restarts_before + 1
            and s.get("child_pid") not in (None, old_pid)
        ),
        timeout=60,
        interval=0.2,
        what=f"{name} restarted by its supervisor",
    )
