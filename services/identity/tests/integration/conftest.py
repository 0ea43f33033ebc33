"""The identity app in-process (its real lifespan) against the real Kafka, Postgres and Redis."""

from __future__ import annotations

import asyncio
import contextlib
import random
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import date
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import make_url

from sanad.identity.adapters.civil_registry import TableCivilRegistry
from sanad.identity.domain.mobile import normalize_mobile
from sanad.identity.domain.registry import CivilRecord, Relation, Relationship
from sanad.identity.main import MIGRATIONS, create_app
from sanad.identity.settings import IdentitySettings
from sanad.platform.testing import Infra, eventually
from sanad.shared import kafka_clients, topics
from sanad.shared.clock import FakeClock
from sanad.shared.crypto import unseal
from sanad.shared.events import Envelope
from sanad.shared.migrations import upgrade

# The notifications service's dev key (the other half of identity's dev otp_public_key): the
# tests open the sealed code exactly as notifications does.
NOTIFICATIONS_DEV_OTP_KEY = "aO5pnakYKOwbQbsuCJQLzDV0jdV5pkU2xQ8VZRrri3A"
PASSWORD = "correct horse battery"


def random_national_id(first: str = "1") -> str:
    body = first + "".join(random.choice("0123456789") for _ in range(8))
    for check in "0123456789":
        from sanad.shared.national_id import is_valid_national_id

        if is_valid_national_id(body + check):
            return body + check
    raise AssertionError("unreachable")


def random_mobile() -> str:
    return "055" + "".join(random.choice("0123456789") for _ in range(7))


def settings_for(infra: Infra, **overrides: Any) -> IdentitySettings:
    pg = make_url(infra.pg_admin_url)
    return IdentitySettings(
        kafka_bootstrap_servers=infra.kafka_bootstrap,
        redis_url=infra.redis_url,
        pg_host=pg.host or "127.0.0.1",
        pg_port=pg.port or 5432,
        **overrides,
    )


@pytest.fixture(scope="session")
async def migrated(provisioned: Infra) -> Infra:
    settings = settings_for(provisioned)
    await asyncio.to_thread(upgrade, MIGRATIONS, settings.database_url, settings.db_schema)  # type: ignore[arg-type]
    return provisioned


class Identity:
    """A running identity app and an HTTP client for it, from one client address. Its clock
    stands still until a test ``clock.advance``s it (code lifetimes, cooldowns, lockouts and
    token expiry are measured on it, so no test sleeps them out)."""

    password = PASSWORD

    def __init__(self, infra: Infra, app: Any, client: httpx.AsyncClient, clock: FakeClock) -> None:
        self.infra = infra
        self.app = app
        self.http = client
        self.clock = clock

    @property
    def sessions(self) -> Any:
        return self.app.state.runtime.require_sessions()

    async def new_person(
        self,
        birth_date: date = date(1988, 5, 17),
        *,
        mobiles: list[str] | None = None,
        sex: str = "F",
        marital_status: str = "divorced",
        relative_of: tuple[CivilRecord, Relationship] | None = None,
    ) -> CivilRecord:
        """A new civil-registry record with a mobile of its own registered to it (or
        ``mobiles``, local or E.164), optionally ``relative_of=(person, relationship)``."""
        record = CivilRecord(
            national_id=random_national_id(),
            full_name_ar="مواطن اختبار",
            full_name_en="Test Citizen",
            nationality="SA",
            sex="M" if sex == "M" else "F",
            birth_date=birth_date,
            marital_status=marital_status,
            mobiles=tuple(normalize_mobile(m) for m in (mobiles or [random_mobile()])),
        )
        async with self.sessions() as session, session.begin():
            registry = TableCivilRegistry(session)
            await registry.add([record])
            if relative_of is not None:
                person, relationship = relative_of
                relation = Relation(person.national_id, record.national_id, relationship)
                assert await registry.relate([relation]) == []
        return record

    async def register(self, person: CivilRecord, **overrides: Any) -> httpx.Response:
        body = {
            "national_id": person.national_id,
            "date_of_birth": person.birth_date.isoformat(),
            "mobile": person.mobiles[0],
            "password": PASSWORD,
            "email": "citizen@example.com",
            "preferred_language": "en",
            **overrides,
        }
        return await self.http.post("/v1/auth/register", json=body)

    async def verify(self, registration_id: str, code: str) -> httpx.Response:
        return await self.http.post(
            "/v1/auth/register/verify", json={"registration_id": registration_id, "code": code}
        )

    async def login(self, national_id: str, password: str = PASSWORD) -> httpx.Response:
        return await self.http.post(
            "/v1/auth/login", json={"national_id": national_id, "password": password}
        )

    async def registered_citizen(
        self, person: CivilRecord | None = None
    ) -> tuple[CivilRecord, str]:
        """A person who registered and verified; (record, citizen id)."""
        person = person or await self.new_person()
        registration_id = (await self.register(person)).json()["registration_id"]
        code = await self.code_sent(registration_id)
        verified = await self.verify(registration_id, code)
        assert verified.status_code == 201, verified.text
        return person, verified.json()["citizen_id"]

    async def events(self, topic: str, key: str, *, count: int = 1) -> list[Envelope]:
        return await events_on(self.infra, topic, key, count=count)

    async def code_sent(self, registration_id: str, *, nth: int = 1) -> str:
        return await code_sent(self.infra, registration_id, nth=nth)


async def events_on(infra: Infra, topic: str, key: str, *, count: int = 1) -> list[Envelope]:
    """The envelopes with ``key`` on ``topic``, read from the beginning (no consumer group)."""

    async def read() -> list[Envelope]:
        consumer = kafka_clients.consumer(
            infra.kafka,
            topic,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
        )
        await consumer.start()
        found: list[Envelope] = []
        try:
            while batches := await consumer.getmany(timeout_ms=1500, max_records=5000):
                for records in batches.values():
                    found += [
                        Envelope.from_bytes(r.value) for r in records if r.key == key.encode()
                    ]
        finally:
            await consumer.stop()
        return found

    return await eventually(read, until=lambda found: len(found) >= count, what=f"{key} on {topic}")


async def code_sent(infra: Infra, registration_id: str, *, nth: int = 1) -> str:
    """The code of the ``nth`` OtpRequested of a registration, opened as notifications would."""
    envelopes = await events_on(infra, topics.OTP_REQUESTED, registration_id, count=nth)
    return unseal(NOTIFICATIONS_DEV_OTP_KEY, envelopes[nth - 1].payload["encrypted_code"]).decode()


IdentityFactory = Callable[..., Awaitable[Identity]]


@pytest.fixture
async def identity_app(migrated: Infra) -> AsyncIterator[IdentityFactory]:
    """Starts the identity app with settings overrides; one client address per app."""
    async with contextlib.AsyncExitStack() as stack:

        async def start(**overrides: Any) -> Identity:
            clock = FakeClock()
            app = create_app(settings_for(migrated, **overrides), clock=clock)
            await stack.enter_async_context(app.router.lifespan_context(app))
            address = (
                f"10.{random.randint(0, 255)}.{random.randint(0, 255)}.{uuid.uuid4().int % 250 + 1}"
            )
            transport = httpx.ASGITransport(app=app, client=(address, 40000))
            client = await stack.enter_async_context(
                httpx.AsyncClient(transport=transport, base_url="http://identity")
            )
            return Identity(migrated, app, client, clock)

        yield start
