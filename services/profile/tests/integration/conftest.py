"""The profile app in-process on the real Kafka and Postgres, with tokens from a test signer,
and helpers that publish CitizenRegistered (v3, as identity does, or an earlier version as the
history holds) and read ProfileUpdated and ContactChanged back from Kafka."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from sanad.platform.testing import Infra, asgi_client, eventually, trust_test_tokens
from sanad.profile.main import MIGRATIONS, create_app
from sanad.profile.settings import ProfileSettings
from sanad.shared import kafka_clients, topics
from sanad.shared.auth import Role, TokenSigner
from sanad.shared.events import (
    CitizenRegistered,
    CitizenRegisteredV1,
    CitizenRegisteredV3,
    CitizenRegisteredV4,
    Envelope,
    Event,
    FamilyMember,
    ProfileUpdated,
    RelativeRef,
)
from sanad.shared.migrations import upgrade
from sanad.shared.national_id import luhn_valid

MAX_HOUSEHOLD = 4
# The key identity pseudonymises with: the test app's (the dev key, SANAD_ENV=test).
PSEUDONYMS = ProfileSettings().pseudonyms


def as_event(profile: dict[str, Any]) -> dict[str, Any]:
    """What ProfileUpdated v2 says of a profile as ``GET /v1/profile`` answers it."""
    return ProfileUpdated.model_validate(profile).upcast().model_dump(mode="json")


def new_national_id() -> str:
    """A fresh valid citizen ID (the last digit makes the Luhn check pass)."""
    body = "1" + "".join(random.choices("0123456789", k=8))
    return next(body + d for d in "0123456789" if luhn_valid(body + d))


# Per module, not per session: the app joins the service's real consumer group beside
# the platform's instance, and while pytest runs other tests its event loop is stopped:
# kept for the whole run it held partitions it did not read (cards stalled 10 minutes
# under the e2e journeys). Per module it leaves the group when its tests are done.
@pytest.fixture(scope="module")
async def profile_app(provisioned: Infra) -> AsyncIterator[FastAPI]:
    pg = make_url(provisioned.pg_admin_url)
    settings = ProfileSettings(
        kafka_bootstrap_servers=provisioned.kafka_bootstrap,
        redis_url=provisioned.redis_url,
        pg_host=pg.host or "127.0.0.1",
        pg_port=pg.port or 5432,
        max_household_size=MAX_HOUSEHOLD,
    )
    assert MIGRATIONS is not None
    await asyncio.to_thread(upgrade, MIGRATIONS, settings.database_url, settings.db_schema)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture(scope="module")
def signer(profile_app: FastAPI) -> TokenSigner:
    return trust_test_tokens(profile_app)


@pytest.fixture(scope="module")
async def client(profile_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(profile_app, "http://profile") as http:
        yield http


async def _assigned(consumer: AIOKafkaConsumer) -> list[TopicPartition]:
    return sorted(consumer.assignment())


async def profile_updates(
    infra: Infra, citizen_id: uuid.UUID, topic: str = topics.PROFILE_UPDATED
) -> list[Envelope]:
    """Every event of one citizen on the real topic (ProfileUpdated's by default), from offset
    0, in order."""
    consumer = kafka_clients.consumer(
        infra.kafka,
        topic,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    try:
        # Without a group the consumer takes every partition once it has the metadata.
        partitions = await eventually(lambda: _assigned(consumer), what="partitions of " + topic)
        await consumer.seek_to_beginning(*partitions)
        end = await consumer.end_offsets(partitions)
        key = str(citizen_id).encode()
        found: list[Envelope] = []
        while [tp for tp in partitions if await consumer.position(tp) < end[tp]]:
            batches = await consumer.getmany(timeout_ms=1000)
            found += [
                Envelope.from_bytes(record.value)
                for records in batches.values()
                for record in records
                if record.key == key
            ]
        return found
    finally:
        await consumer.stop()


@dataclass
class Citizen:
    citizen_id: uuid.UUID
    national_id: str
    headers: dict[str, str]
    # The family register identity sent (CitizenRegistered v2): sons not claimed yet by a
    # test (born 2014-02-03), and a spouse (born 1985-01-01).
    sons: list[str] = field(default_factory=list)
    spouse: str | None = None
    family: list[FamilyMember] = field(default_factory=list)


def family_of(sons: int = MAX_HOUSEHOLD + 2) -> list[FamilyMember]:
    """A family register: a spouse and ``sons`` sons."""
    spouse = FamilyMember(
        national_id=new_national_id(),
        relationship="spouse",
        full_name_ar="حسن",
        full_name_en="Hassan",
        sex="M",
        birth_date=date(1985, 1, 1),
    )
    children = [
        FamilyMember(
            national_id=new_national_id(),
            relationship="son",
            full_name_ar="يوسف",
            full_name_en="Yousef",
            sex="M",
            birth_date=date(2014, 2, 3),
        )
        for _ in range(sons)
    ]
    return [spouse, *children]


@dataclass
class World:
    infra: Infra
    client: httpx.AsyncClient
    signer: TokenSigner
    producer: AIOKafkaProducer

    def token_headers(self, subject: str, role: Role = Role.CITIZEN) -> dict[str, str]:
        token, _, _ = self.signer.issue(subject, role, ttl_seconds=600)
        return {"Authorization": f"Bearer {token}"}

    async def publish_registration(
        self, event: CitizenRegisteredV1 | CitizenRegisteredV3
    ) -> Envelope:
        envelope = Envelope.wrap(event, producer="identity", correlation_id="test-registration")
        await self.producer.send_and_wait(
            topics.CITIZEN_REGISTERED,
            envelope.to_bytes(),
            key=envelope.key.encode(),
            headers=envelope.headers(),
        )
        return envelope

    async def publish(self, event: Event) -> Envelope:
        envelope = Envelope.wrap(event, producer="identity", correlation_id="test")
        await self.producer.send_and_wait(
            event.TOPIC, envelope.to_bytes(), key=envelope.key.encode(), headers=envelope.headers()
        )
        return envelope

    async def register(
        self, *, family: list[FamilyMember] | None = None, version: int = 4, **changes: Any
    ) -> Citizen:
        """A citizen whose registration reached the profile service through Kafka, with
        ``family`` as their family register (a spouse and sons by default): CitizenRegistered
        v4 as identity publishes it (pseudonyms only, with their key's id); ``version=3``
        pseudonyms under the original key, ``version=2`` the numbers in clear as the history
        holds, ``version=1`` no family either."""
        family = family_of() if family is None else family
        fields: dict[str, Any] = {
            "citizen_id": uuid.uuid4(),
            "national_id": new_national_id(),
            "full_name_ar": "ليلى خالد",
            "full_name_en": "Layla Khaled",
            "nationality": "SA",
            "sex": "F",
            "birth_date": date(1988, 7, 14),
            "marital_status": "married",
            "mobile": f"+96655{random.randrange(10**7):07d}",
            "email": f"layla-{uuid.uuid4().hex[:8]}@example.com",
            "registered_at": datetime.now(UTC),
        } | changes
        if version == 1:
            await self.publish_registration(CitizenRegisteredV1(**fields))
            family = []
        elif version == 2:
            await self.publish_registration(CitizenRegistered(**fields, family=family))
        else:
            refs = [
                RelativeRef(
                    national_id_ref=PSEUDONYMS.of(m.national_id),
                    relationship=m.relationship,
                    birth_date=m.birth_date,
                )
                for m in family
            ]
            clear = {k: v for k, v in fields.items() if k != "national_id"}
            ref = PSEUDONYMS.of(fields["national_id"])
            if version == 3:
                await self.publish_registration(
                    CitizenRegisteredV3(**clear, national_id_ref=ref, family=refs)
                )
            else:
                await self.publish_registration(
                    CitizenRegisteredV4(
                        **clear, national_id_ref=ref, family=refs, key_id=PSEUDONYMS.key_id
                    )
                )
        citizen = Citizen(
            fields["citizen_id"],
            fields["national_id"],
            self.token_headers(str(fields["citizen_id"])),
            sons=[m.national_id for m in family if m.relationship == "son"],
            spouse=next((m.national_id for m in family if m.relationship == "spouse"), None),
            family=family,
        )
        await eventually(
            lambda: self.client.get("/v1/profile", headers=citizen.headers),
            until=lambda r: r.status_code == 200,
            what="profile created from CitizenRegistered",
        )
        return citizen

    async def profile(self, citizen: Citizen) -> dict[str, Any]:
        response = await self.client.get("/v1/profile", headers=citizen.headers)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        assert response.headers["etag"] == f'"{body["version"]}"'
        return body

    async def events(self, citizen: Citizen, count: int) -> list[Envelope]:
        """The citizen's ProfileUpdated events on the topic, once there are ``count``; and
        exactly ``count``: every event the requests made is in the outbox already (it commits
        with the change), so an unexpected extra one would be counted there."""
        queued = await self.queued(citizen)
        assert queued == count, f"{queued} ProfileUpdated queued, expected {count}"
        return await eventually(
            lambda: profile_updates(self.infra, citizen.citizen_id),
            until=lambda events: len(events) >= count,
            what=f"{count} ProfileUpdated",
        )

    async def staff_known(self, national_id: str) -> bool:
        """Whether the profile service has consumed a StaffAccountCreated for the ID."""
        engine = create_async_engine(self.infra.database_admin_url())
        try:
            async with engine.connect() as conn:
                query = text("SELECT count(*) FROM profile.staff_ids WHERE national_id_ref = :r")
                ref = PSEUDONYMS.of(national_id)
                return bool((await conn.execute(query, {"r": ref})).scalar_one())
        finally:
            await engine.dispose()

    async def queued(self, citizen: Citizen) -> int:
        """ProfileUpdated events of the citizen in the profile schema's outbox."""
        engine = create_async_engine(self.infra.database_admin_url())
        try:
            async with engine.connect() as conn:
                query = text(
                    "SELECT count(*) FROM profile.outbox "
                    "WHERE key = :key AND event_type = 'ProfileUpdated'"
                )
                return int(
                    (await conn.execute(query, {"key": str(citizen.citizen_id)})).scalar_one()
                )
        finally:
            await engine.dispose()


@pytest.fixture
def world(
    provisioned: Infra, client: httpx.AsyncClient, signer: TokenSigner, producer: AIOKafkaProducer
) -> World:
    return World(provisioned, client, signer, producer)
