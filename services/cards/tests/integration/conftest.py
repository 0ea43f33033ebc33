"""The cards app in-process on the real Kafka and Postgres (a FakeClock), tokens from a test
signer, and helpers that publish ProfileUpdated and DecisionIssued on the real topics."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from sanad.cards.main import MIGRATIONS, create_app
from sanad.cards.settings import CardsSettings
from sanad.platform.testing import Infra, asgi_client, eventually, trust_test_tokens
from sanad.shared.auth import Role, TokenSigner
from sanad.shared.clock import FakeClock
from sanad.shared.events import (
    DecisionIssued,
    DecisionIssuedV3,
    Envelope,
    Event,
    ProfileUpdated,
)
from sanad.shared.migrations import upgrade


class TestClock(FakeClock):
    def reset(self) -> None:
        self._now = datetime.now(UTC)


@pytest.fixture(scope="session")
def clock() -> TestClock:
    return TestClock()


@pytest.fixture(autouse=True)
def _fresh_clock(clock: TestClock) -> Iterator[None]:
    clock.reset()
    yield


# Per module, not per session: the app joins the service's real consumer group beside
# the platform's instance, and while pytest runs other tests its event loop is stopped:
# kept for the whole run it held partitions it did not read (cards stalled 10 minutes
# under the e2e journeys). Per module it leaves the group when its tests are done.
@pytest.fixture(scope="module")
async def cards_app(provisioned: Infra, clock: TestClock) -> AsyncIterator[FastAPI]:
    pg = make_url(provisioned.pg_admin_url)
    settings = CardsSettings(
        kafka_bootstrap_servers=provisioned.kafka_bootstrap,
        redis_url=provisioned.redis_url,
        pg_host=pg.host or "127.0.0.1",
        pg_port=pg.port or 5432,
    )
    assert MIGRATIONS is not None
    await asyncio.to_thread(upgrade, MIGRATIONS, settings.database_url, settings.db_schema)
    app = create_app(settings, clock=clock)
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture(scope="module")
def signer(cards_app: FastAPI) -> TokenSigner:
    return trust_test_tokens(cards_app)


@pytest.fixture(scope="module")
async def client(cards_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(cards_app, "http://cards") as http:
        yield http


def profile_updated(citizen_id: uuid.UUID, version: int, name_en: str) -> ProfileUpdated:
    return ProfileUpdated.model_validate(
        {
            "citizen_id": citizen_id,
            "version": version,
            "registry": {
                "full_name_ar": "ليلى خالد العتيبي",
                "full_name_en": name_en,
                "sex": "F",
                "birth_date": date(1980, 1, 2),
            },
            "contact": {"mobile": "+966551234567", "email": None, "language": "ar"},
            "sections": {"personal": {"marital_status": "widowed", "nationality": "SA"}},
            "dependents": [],
            "household": {
                "household_size": 1,
                "total_monthly_income": "900",
                "total_property_value": "0",
            },
            "completeness": {
                "personal": True,
                "housing": False,
                "income": False,
                "education": False,
                "employment": False,
                "licenses": False,
                "property": False,
                "dependents": True,
                "complete": False,
            },
        }
    )


@dataclass
class Citizen:
    citizen_id: uuid.UUID
    name_en: str
    headers: dict[str, str]


@dataclass
class World:
    infra: Infra
    client: httpx.AsyncClient
    signer: TokenSigner
    producer: AIOKafkaProducer
    db: AsyncEngine
    clock: TestClock

    def token_headers(self, subject: str, role: Role = Role.CITIZEN) -> dict[str, str]:
        token, _, _ = self.signer.issue(subject, role, ttl_seconds=600)
        return {"Authorization": f"Bearer {token}"}

    def staff(self, role: Role = Role.CASEWORKER) -> dict[str, str]:
        return self.token_headers(str(uuid.uuid4()), role)

    async def publish(self, event: Event, producer: str) -> Envelope:
        envelope = Envelope.wrap(event, producer=producer, correlation_id="test-cards")
        await self.send(envelope)
        return envelope

    async def send(self, envelope: Envelope) -> None:
        await self.producer.send_and_wait(
            envelope.topic,
            envelope.to_bytes(),
            key=envelope.key.encode(),
            headers=envelope.headers(),
        )

    async def scalar(self, sql: str, **params: Any) -> Any:
        async with self.db.connect() as conn:
            return (await conn.execute(text(sql), params)).scalar()

    async def processed(self, envelope: Envelope) -> None:
        await eventually(
            lambda: self.scalar(
                "SELECT count(*) FROM cards.processed_events WHERE event_id = :e",
                e=envelope.event_id,
            ),
            until=lambda n: n == 1,
            what=f"{envelope.event_type} processed by cards",
        )

    async def citizen(self, *, profile: bool = True) -> Citizen:
        citizen_id = uuid.uuid4()
        name_en = f"Layla Khaled {citizen_id.hex[:6]}"
        citizen = Citizen(citizen_id, name_en, self.token_headers(str(citizen_id)))
        if profile:
            await self.processed(
                await self.publish(profile_updated(citizen_id, 1, name_en), "profile")
            )
        return citizen

    def decision(
        self,
        citizen: Citizen,
        decision: str = "APPROVED",
        *,
        program: str = "SSP-DEV",
        card_on_approval: bool | None = True,
        application_id: uuid.UUID | None = None,
        **changes: Any,
    ) -> DecisionIssued:
        fields: dict[str, Any] = {
            "decision_id": uuid.uuid4(),
            "application_id": application_id or uuid.uuid4(),
            "citizen_id": citizen.citizen_id,
            "program_code": program,
            "decision": decision,
            "reasons": [],
            "monthly_benefit": Decimal("1850.00") if decision == "APPROVED" else None,
            "decided_by": "auto",
            "decided_at": self.clock.now(),
        } | changes
        if card_on_approval is None:  # a v1 decision: no program terms
            return DecisionIssued.model_validate(fields)
        terms = {
            "name_ar": "الضمان الاجتماعي المطور",
            "name_en": "Developed Social Security",
            "card_on_approval": card_on_approval,
            "card_validity_days": 365,
        }
        return DecisionIssuedV3.model_validate(fields | {"program": terms})

    async def decide(self, event: DecisionIssued) -> Envelope:
        envelope = await self.publish(event, "applications")
        await self.processed(envelope)
        return envelope

    async def cards(self, citizen: Citizen) -> list[dict[str, Any]]:
        response = await self.client.get("/v1/cards/me", headers=citizen.headers)
        assert response.status_code == 200, response.text
        items: list[dict[str, Any]] = response.json()["items"]
        return items

    async def queued(self, citizen: Citizen, event_type: str) -> list[dict[str, Any]]:
        async with self.db.connect() as conn:
            rows = await conn.execute(
                text(
                    "SELECT envelope FROM cards.outbox WHERE key = :key AND event_type = :type "
                    "ORDER BY id"
                ),
                {"key": str(citizen.citizen_id), "type": event_type},
            )
            return [row.envelope for row in rows]

    async def counts(self, citizen: Citizen) -> tuple[int, int, int]:
        """(cards, decisions, outbox rows) of the citizen."""
        params = {"c": citizen.citizen_id}
        return (
            int(
                await self.scalar(
                    "SELECT count(*) FROM cards.cards WHERE citizen_id = :c", **params
                )
            ),
            int(
                await self.scalar(
                    "SELECT count(*) FROM cards.decisions WHERE citizen_id = :c", **params
                )
            ),
            int(
                await self.scalar(
                    "SELECT count(*) FROM cards.outbox WHERE key = :k", k=str(citizen.citizen_id)
                )
            ),
        )


@pytest.fixture
def world(
    provisioned: Infra,
    client: httpx.AsyncClient,
    signer: TokenSigner,
    producer: AIOKafkaProducer,
    admin_db: AsyncEngine,
    clock: TestClock,
) -> World:
    return World(provisioned, client, signer, producer, admin_db, clock)
