"""What every test tier shares: where the real infrastructure is, and how to wait on it.

Integration tests run on a real Kafka, Postgres and Redis: containers (testcontainers) when
a Docker engine answers, otherwise the local platform (``./sanad up``; ``./sanad test``
starts it). When neither is there a test FAILS naming what is missing — it never skips.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import subprocess
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
from aiokafka import AIOKafkaConsumer, TopicPartition
from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from sanad.platform.layout import KAFKA_PORT, PG_PORT, REDIS_PORT, port
from sanad.platform.postgres import admin_url
from sanad.platform.procs import port_open
from sanad.shared import kafka_clients
from sanad.shared.auth import JwksVerifier, TokenSigner, generate_signing_key
from sanad.shared.db import create_engine
from sanad.shared.events import Envelope
from sanad.shared.kafka_clients import KafkaAccess, KafkaCredentials
from sanad.shared.migrations import MESSAGING_TABLES_V1, upgrade
from sanad.shared.settings import REDIS_ADMIN_USER, PlatformSettings, ServiceSettings

T = TypeVar("T")


@dataclass(frozen=True)
class Infra:
    kafka_bootstrap: str
    pg_admin_url: str  # a superuser, for creating scratch schemas
    redis_url: str
    source: str  # "local platform" or "testcontainers"
    # The platform's admin principals (tests' fixtures create topics, publish anything, read
    # any key); a service under test uses its own credentials from its settings.
    kafka_admin: KafkaCredentials
    redis_admin_password: str

    @property
    def kafka(self) -> KafkaAccess:
        """Kafka as the platform's admin."""
        return KafkaAccess(self.kafka_bootstrap, self.kafka_admin)

    def kafka_as(self, settings: ServiceSettings) -> KafkaAccess:
        """Kafka as the service whose settings these are."""
        return KafkaAccess(self.kafka_bootstrap, settings.kafka.credentials)

    def redis_admin(self) -> Redis:
        """A Redis client logged in as the platform's admin (every key)."""
        return redis_admin(self.redis_url, self.redis_admin_password)

    def database_admin_url(self, database: str = "sanad") -> str:
        """SQLAlchemy URL of ``database`` as the superuser."""
        base, _, _ = self.pg_admin_url.rpartition("/")
        return base.replace("postgresql://", "postgresql+asyncpg://", 1) + f"/{database}"


class InfrastructureMissing(RuntimeError):
    pass


def docker_engine_available() -> bool:
    if os.environ.get("SANAD_TEST_INFRA") == "local" or shutil.which("docker") is None:
        return False
    try:
        return subprocess.run(["docker", "info"], capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def local_infra() -> Infra:
    wanted = {
        f"Kafka at 127.0.0.1:{port(KAFKA_PORT)}": port(KAFKA_PORT),
        f"Postgres at 127.0.0.1:{port(PG_PORT)}": port(PG_PORT),
        f"Redis at 127.0.0.1:{port(REDIS_PORT)}": port(REDIS_PORT),
    }
    missing = [name for name, p in wanted.items() if not port_open(p)]
    if missing:
        raise InfrastructureMissing(
            "missing infrastructure: "
            + ", ".join(missing)
            + ". Start it with `./sanad up` (`./sanad test` does this before the tests)."
        )
    return Infra(
        kafka_bootstrap=f"127.0.0.1:{port(KAFKA_PORT)}",
        pg_admin_url=admin_url(),
        redis_url=f"redis://127.0.0.1:{port(REDIS_PORT)}/0",
        source="local platform",
        **platform_admins(),
    )


def redis_admin(url: str, password: str | None = None) -> Redis:
    """A Redis client logged in as the platform's admin (by default with the password the
    platform's settings hold)."""
    if password is None:
        password = PlatformSettings().redis_admin_password.get_secret_value()
    return Redis.from_url(url, username=REDIS_ADMIN_USER, password=password, decode_responses=True)


def platform_admins() -> dict[str, Any]:
    """The admin credentials the platform gave Kafka and Redis (from the environment, the
    repo's dev ones under SANAD_ENV=dev/test)."""
    secrets = PlatformSettings()
    return {
        "kafka_admin": secrets.kafka_admin,
        "redis_admin_password": secrets.redis_admin_password.get_secret_value(),
    }


async def eventually(
    probe: Callable[[], Awaitable[T]],
    *,
    until: Callable[[T], bool] = bool,
    timeout: float = 30.0,
    interval: float = 0.1,
    what: str = "condition",
) -> T:
    """Await ``probe`` until ``until(result)``; fail after ``timeout`` with the last result."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = await probe()
        if until(result):
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"{what} not reached within {timeout}s; last value: {result!r}")
        await asyncio.sleep(interval)


@dataclass(frozen=True)
class Scratch:
    schema: str
    engine: AsyncEngine


@contextlib.asynccontextmanager
async def _throwaway_schema(url: str, schema: str) -> AsyncIterator[None]:
    """``schema`` created (as the superuser at ``url``) and dropped with all it holds after."""
    admin = create_async_engine(url)
    async with admin.begin() as conn:
        await conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield
    finally:
        async with admin.begin() as conn:
            await conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        await admin.dispose()


@contextlib.asynccontextmanager
async def scratch_schema(infra: Infra, label: str) -> AsyncIterator[Scratch]:
    """A throwaway schema holding the outbox and inbox tables, dropped afterwards.

    Tests of the shared machinery use these instead of a service's schema, so a running
    service never sees their rows.
    """
    schema = f"t_{label}_{uuid.uuid4().hex[:8]}"
    async with _throwaway_schema(infra.database_admin_url(), schema):
        engine = create_engine(infra.database_admin_url(), schema, application_name=f"test-{label}")
        try:
            async with engine.begin() as conn:
                for statement in MESSAGING_TABLES_V1:  # exactly what the first migration runs
                    await conn.execute(text(statement))
            yield Scratch(schema, engine)
        finally:
            await engine.dispose()


@contextlib.asynccontextmanager
async def service_scratch_schema(
    infra: Infra, label: str, migrations: Path, *, pool_size: int = 5
) -> AsyncIterator[Scratch]:
    """A throwaway schema migrated with a service's own migrations (as the superuser),
    dropped afterwards: a service's code runs on it in-process (benchmarks) while the
    platform's instance of that service never sees its rows."""
    schema = f"bench_{label}_{uuid.uuid4().hex[:8]}"
    url = infra.database_admin_url()
    async with _throwaway_schema(url, schema):
        engine = create_engine(url, schema, application_name=f"bench-{label}", pool_size=pool_size)
        try:
            await asyncio.to_thread(upgrade, migrations, url, schema)
            yield Scratch(schema, engine)
        finally:
            await engine.dispose()


async def _assigned(consumer: AIOKafkaConsumer) -> list[TopicPartition]:
    return sorted(consumer.assignment())


async def read_topic(infra: Infra, topic: str, key: str) -> list[Envelope]:
    """Every message of one key on a real topic, from offset 0 to its current end, in order
    (no consumer group: nothing is committed)."""
    consumer = kafka_clients.consumer(
        infra.kafka,
        topic,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    try:
        partitions = await eventually(lambda: _assigned(consumer), what="partitions of " + topic)
        await consumer.seek_to_beginning(*partitions)
        end = await consumer.end_offsets(partitions)
        found: list[Envelope] = []
        while [tp for tp in partitions if await consumer.position(tp) < end[tp]]:
            batches = await consumer.getmany(timeout_ms=1000)
            found += [
                Envelope.from_bytes(record.value)
                for records in batches.values()
                for record in records
                if record.key == key.encode()
            ]
        return found
    finally:
        await consumer.stop()


def trust_test_tokens(app: Any) -> TokenSigner:
    """A signer whose tokens the in-process service ``app`` accepts (its verifier is given
    the signer's keys instead of identity's JWKS)."""
    signer = TokenSigner(generate_signing_key())
    app.state.runtime.verifier = JwksVerifier(jwks=signer.jwks())
    return signer


@contextlib.asynccontextmanager
async def asgi_client(app: Any, base_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client of the in-process service ``app``."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=base_url) as http:
        yield http


@dataclass(frozen=True)
class Citizen:
    citizen_id: str
    national_id: str
    password: str
    access_token: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"}


async def register_citizen(gateway_url: str, sms_sink_url: str, env: dict[str, str]) -> Citizen:
    """A fresh citizen registered through the running gateway (a synthetic civil-registry
    record added with identity's CLI, the OTP read from the SMS sink) and signed in."""
    import random
    import re
    import sys

    from sanad.shared.national_id import luhn_valid

    body = "1" + "".join(random.choices("0123456789", k=8))
    national_id = next(body + d for d in "0123456789" if luhn_valid(body + d))
    birth_date, mobile = "1990-04-12", f"+96655{random.randrange(10**7):07d}"
    password = f"Citizen-{uuid.uuid4().hex[:10]}!"
    added = await asyncio.to_thread(
        subprocess.run,
        [
            *(sys.executable, "-m", "sanad.identity", "add-registry-record"),
            *("--national-id", national_id, "--name-ar", "مريم سالم", "--name-en", "Maryam Salem"),
            *("--nationality", "SA", "--sex", "F", "--birth-date", birth_date),
            *("--marital-status", "married", "--mobile", mobile),
        ],
        env=os.environ | env,
        capture_output=True,
        text=True,
        timeout=300,  # a cold interpreter on a loaded machine
    )
    assert added.returncode == 0, added.stderr
    async with (
        httpx.AsyncClient(base_url=gateway_url, timeout=15) as api,
        httpx.AsyncClient(base_url=sms_sink_url, timeout=10) as sms,
    ):
        started = await api.post(
            "/v1/auth/register",
            json={
                "national_id": national_id,
                "date_of_birth": birth_date,
                "mobile": mobile,
                "password": password,
            },
        )
        assert started.status_code == 202, started.text

        async def messages() -> list[dict[str, Any]]:
            answer = await sms.get("/messages", params={"to": mobile})
            found: list[dict[str, Any]] = answer.json()["messages"]
            return found

        sent = await eventually(messages, what=f"an OTP SMS to {mobile}")
        code = re.search(r"\d{6}", sent[-1]["body"])
        assert code, sent[-1]
        verified = await api.post(
            "/v1/auth/register/verify",
            json={"registration_id": started.json()["registration_id"], "code": code.group()},
        )
        assert verified.status_code == 201, verified.text
        login = await api.post(
            "/v1/auth/login", json={"national_id": national_id, "password": password}
        )
        assert login.status_code == 200, login.text
    return Citizen(
        citizen_id=verified.json()["citizen_id"],
        national_id=national_id,
        password=password,
        access_token=login.json()["access_token"],
    )
