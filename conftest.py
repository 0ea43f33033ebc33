"""Test tiers by folder (unit/, integration/, e2e/, faults/), run in that order, and the fixtures
that give integration tests the real Kafka, Postgres and Redis."""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from sanad.platform.provision import provision
from sanad.platform.testing import (
    Infra,
    InfrastructureMissing,
    docker_engine_available,
    local_infra,
    platform_admins,
)
from sanad.shared import kafka_clients

TIERS = ("unit", "integration", "e2e", "faults")

# Settings fail closed (SANAD_ENV defaults to prod); tests run with the repo's dev secrets.
os.environ.setdefault("SANAD_ENV", "test")


def _tier(item: pytest.Item) -> str:
    parts = Path(str(item.path)).parts
    for tier in TIERS:
        if tier in parts:
            return tier
    raise pytest.UsageError(
        f"{item.nodeid}: put the test under a unit/, integration/, e2e/ or faults/ folder"
    )


# Tiers a developer may leave out of a run by setting the variable to 0, e.g. the fault tier
# (7-13 minutes quiet): ``SANAD_FAULT_TESTS=0 ./sanad test``. CI runs everything.
OPT_OUT = {
    "SANAD_FAULT_TESTS": lambda item: _tier(item) == "faults",
}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        item.add_marker(_tier(item))
    skipped = [
        item
        for item in items
        if any(os.environ.get(flag) == "0" and chosen(item) for flag, chosen in OPT_OUT.items())
    ]
    if skipped:
        config.hook.pytest_deselected(items=skipped)
        items[:] = [item for item in items if item not in skipped]
    items.sort(key=lambda item: TIERS.index(_tier(item)))


@contextlib.contextmanager
def _containers() -> Iterator[Infra]:
    # Only where a Docker engine answers (never on the project's Docker-less machines).
    from testcontainers.community.kafka import KafkaContainer
    from testcontainers.community.postgres import PostgresContainer
    from testcontainers.community.redis import RedisContainer

    with (
        PostgresContainer("postgres:15", username="postgres", password="sanad-dev-admin") as pg,
        KafkaContainer("confluentinc/cp-kafka:7.7.1").with_kraft() as kafka,
        RedisContainer("redis:7") as redis,
    ):
        host, pg_port = pg.get_container_host_ip(), pg.get_exposed_port(5432)
        yield Infra(
            kafka_bootstrap=kafka.get_bootstrap_server(),
            pg_admin_url=f"postgresql://postgres:sanad-dev-admin@{host}:{pg_port}/postgres",
            redis_url=f"redis://{redis.get_container_host_ip()}:{redis.get_exposed_port(6379)}/0",
            source="testcontainers",
            # Containers would need the platform's SASL listener, users and ACLs, and Redis
            # its users (sanad.platform.redis_users) — not set up: no Docker engine runs here.
            **platform_admins(),
        )


@pytest.fixture(scope="session")
def infra() -> Iterator[Infra]:
    if docker_engine_available():
        with _containers() as found:
            yield found
        return
    try:
        yield local_infra()
    except InfrastructureMissing as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture(scope="session")
async def provisioned(infra: Infra) -> AsyncIterator[Infra]:
    """The database ``sanad`` with every service's role and schema."""
    await provision(infra.pg_admin_url)
    yield infra


@pytest.fixture(scope="session")
async def producer(provisioned: Infra) -> AsyncIterator[AIOKafkaProducer]:
    """A producer (as the platform's admin) for tests that publish events on the real
    topics themselves."""
    kafka = kafka_clients.producer(provisioned.kafka)
    await kafka.start()
    try:
        yield kafka
    finally:
        await kafka.stop()


@pytest.fixture(scope="session")
async def admin_db(provisioned: Infra) -> AsyncIterator[AsyncEngine]:
    """The superuser's engine, for tests that look at a service's tables directly."""
    engine = create_async_engine(provisioned.database_admin_url())
    try:
        yield engine
    finally:
        await engine.dispose()
