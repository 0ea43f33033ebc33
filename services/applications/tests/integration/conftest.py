"""The applications app in-process on the real Kafka, Postgres and Redis, with tokens from a
test signer, a clock the tests move, and helpers that publish what profile and eligibility
would (ProfileUpdated, EligibilityEvaluated) and read back what applications published."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from sanad.applications.main import MIGRATIONS, create_app
from sanad.applications.settings import ApplicationsSettings
from sanad.platform.testing import Infra, asgi_client, eventually, read_topic, trust_test_tokens
from sanad.shared.auth import Role, TokenSigner
from sanad.shared.clock import FakeClock
from sanad.shared.events import EligibilityEvaluatedV2, Envelope, Event, ProfileUpdated
from sanad.shared.events.eligibility import Criterion, MissingItem, Outcome
from sanad.shared.migrations import upgrade

MAX_DOCUMENTS = 20
IBAN = "SA0380000000608010167519"
PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 64
SSP_DOCUMENTS = ("national_id", "family_register", "proof_of_income", "bank_account")
# The tests play eligibility themselves: they apply to a copy of SSP-DEV that the running
# eligibility service has no rules for, so it never answers their submissions.
TEST_PROGRAM = "TEST-APPLICATIONS"


class TestClock(FakeClock):
    """A FakeClock every test starts afresh at the real time."""

    def reset(self) -> None:
        self._now = datetime.now(UTC)


@pytest.fixture(scope="session")
def clock() -> TestClock:
    return TestClock()


@pytest.fixture(autouse=True)
def _fresh_clock(clock: TestClock) -> Iterator[None]:
    clock.reset()
    yield


@pytest.fixture(scope="session")
def settings(provisioned: Infra, tmp_path_factory: pytest.TempPathFactory) -> ApplicationsSettings:
    pg = make_url(provisioned.pg_admin_url)
    return ApplicationsSettings(
        kafka_bootstrap_servers=provisioned.kafka_bootstrap,
        redis_url=provisioned.redis_url,
        pg_host=pg.host or "127.0.0.1",
        pg_port=pg.port or 5432,
        document_root=tmp_path_factory.mktemp("documents"),
        max_documents=MAX_DOCUMENTS,
        # The tests run the deadline job themselves, at the times they choose.
        expiry_interval_seconds=3600,
    )


# Per module, not per session: the app joins the service's real consumer group beside
# the platform's instance, and while pytest runs other tests its event loop is stopped:
# kept for the whole run it held partitions it did not read (cards stalled 10 minutes
# under the e2e journeys). Per module it leaves the group when its tests are done.
@pytest.fixture(scope="module")
async def applications_app(
    settings: ApplicationsSettings, clock: TestClock
) -> AsyncIterator[FastAPI]:
    assert MIGRATIONS is not None
    await asyncio.to_thread(upgrade, MIGRATIONS, settings.database_url, settings.db_schema)
    app = create_app(settings, clock=clock)
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture(scope="module")
def signer(applications_app: FastAPI) -> TokenSigner:
    return trust_test_tokens(applications_app)


@pytest.fixture(scope="module")
async def client(applications_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(applications_app, "http://applications") as http:
        yield http


@dataclass
class Citizen:
    citizen_id: uuid.UUID
    headers: dict[str, str]


def criterion(code: str, passed: bool) -> Criterion:
    return Criterion(
        code=code,
        passed=passed,
        observed="1",
        required="0",
        reason_ar=f"سبب {code}",
        reason_en=f"reason {code}",
    )


@dataclass
class World:
    infra: Infra
    client: httpx.AsyncClient
    signer: TokenSigner
    producer: AIOKafkaProducer
    db: AsyncEngine
    clock: TestClock
    settings: ApplicationsSettings

    def token_headers(self, subject: str, role: Role = Role.CITIZEN) -> dict[str, str]:
        token, _, _ = self.signer.issue(subject, role, ttl_seconds=600)
        return {"Authorization": f"Bearer {token}"}

    def staff(self, role: Role = Role.CASEWORKER) -> dict[str, str]:
        return self.token_headers(str(uuid.uuid4()), role)

    async def publish(self, event: Event, producer: str) -> Envelope:
        envelope = Envelope.wrap(event, producer=producer, correlation_id="test")
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

    async def citizen(self, *, profile: bool = True) -> Citizen:
        """A citizen whose profile (version 3) reached applications through Kafka."""
        citizen_id = uuid.uuid4()
        citizen = Citizen(citizen_id, self.token_headers(str(citizen_id)))
        if profile:
            await self.publish(profile_updated(citizen_id, version=3), "profile")
            await eventually(
                lambda: self.scalar(
                    "SELECT version FROM applications.citizen_profiles WHERE citizen_id = :c",
                    c=citizen_id,
                ),
                until=lambda v: v == 3,
                what="the citizen's profile kept by applications",
            )
        return citizen

    async def start(self, citizen: Citizen, program: str = TEST_PROGRAM) -> dict[str, Any]:
        response = await self.client.post(
            "/v1/applications", json={"program_code": program}, headers=citizen.headers
        )
        assert response.status_code == 201, response.text
        body: dict[str, Any] = response.json()
        return body

    async def fill(self, citizen: Citizen, application_id: str, **changes: Any) -> None:
        form = {
            "monthly_income": "900.00",
            "family_size": 4,
            "employment_status": "unemployed",
            "payment": {"method": "iban", "iban": IBAN},
        } | changes
        response = await self.client.put(
            f"/v1/applications/{application_id}", json=form, headers=citizen.headers
        )
        assert response.status_code == 200, response.text

    async def upload(
        self,
        citizen: Citizen,
        application_id: str,
        kind: str,
        content: bytes = PDF,
        filename: str = "scan.pdf",
        content_type: str = "application/pdf",
    ) -> httpx.Response:
        return await self.client.post(
            f"/v1/applications/{application_id}/documents",
            data={"kind": kind},
            files={"file": (filename, content, content_type)},
            headers=citizen.headers,
        )

    async def ready(self, citizen: Citizen, program: str = TEST_PROGRAM) -> str:
        """A DRAFT with the form and every mandatory document: ready to submit."""
        application_id = str((await self.start(citizen, program))["application_id"])
        await self.fill(citizen, application_id)
        for number, kind in enumerate(SSP_DOCUMENTS):
            # Each document's content differs, so each has its own hash.
            response = await self.upload(citizen, application_id, kind, PDF + bytes([number]))
            assert response.status_code == 201, response.text
        return application_id

    async def submit(
        self, citizen: Citizen, application_id: str, key: str | None = None
    ) -> httpx.Response:
        headers = dict(citizen.headers)
        if key is not None:
            headers["Idempotency-Key"] = key
        return await self.client.post(
            f"/v1/applications/{application_id}/submit",
            json={"declaration_accepted": True},
            headers=headers,
        )

    async def submitted(self, citizen: Citizen) -> tuple[str, dict[str, Any]]:
        application_id = await self.ready(citizen)
        response = await self.submit(citizen, application_id)
        assert response.status_code == 200, response.text
        return application_id, response.json()

    async def get(self, citizen: Citizen, application_id: str) -> dict[str, Any]:
        response = await self.client.get(
            f"/v1/applications/{application_id}", headers=citizen.headers
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def evaluate(
        self,
        citizen: Citizen,
        application: dict[str, Any],
        outcome: Outcome,
        **changes: Any,
    ) -> Envelope:
        fields: dict[str, Any] = {
            "evaluation_id": uuid.uuid4(),
            "application_id": application["application_id"],
            "submission_id": application.get("submission_id"),
            "citizen_id": citizen.citizen_id,
            "program_code": application["program_code"],
            "rule_set_version": "SSP-DEV@2026-01-01",
            "outcome": outcome,
            "criteria": [
                criterion("income", outcome != "ineligible"),
                criterion("residence", True),
            ],
            "missing": (
                [
                    MissingItem(
                        kind="document",
                        code="family_register",
                        reason_ar="سجل الأسرة غير واضح",
                        reason_en="The family register is unreadable",
                    )
                ]
                if outcome == "incomplete"
                else []
            ),
            "monthly_benefit": Decimal("1850.00") if outcome == "eligible" else None,
            "evaluated_at": datetime.now(UTC),
        } | changes
        return await self.publish(EligibilityEvaluatedV2(**fields), "eligibility")

    async def status_becomes(
        self, citizen: Citizen, application_id: str, status: str
    ) -> dict[str, Any]:
        return await eventually(
            lambda: self.get(citizen, application_id),
            until=lambda a: a["status"] == status,
            what=f"application {status}",
        )

    async def queued(self, application_id: str, event_type: str) -> list[dict[str, Any]]:
        """The events of an application in the applications schema's outbox, in order."""
        async with self.db.connect() as conn:
            rows = await conn.execute(
                text(
                    "SELECT envelope FROM applications.outbox "
                    "WHERE key = :key AND event_type = :type ORDER BY id"
                ),
                {"key": application_id, "type": event_type},
            )
            return [row.envelope for row in rows]

    async def on_topic(self, topic: str, application_id: str, count: int) -> list[Envelope]:
        return await eventually(
            lambda: read_topic(self.infra, topic, application_id),
            until=lambda found: len(found) >= count,
            what=f"{count} message(s) on {topic}",
        )

    async def processed(self, envelope: Envelope) -> None:
        """Wait until the applications consumer group has processed ``envelope``."""
        await eventually(
            lambda: self.scalar(
                "SELECT count(*) FROM applications.processed_events WHERE event_id = :e",
                e=envelope.event_id,
            ),
            until=lambda n: n == 1,
            what="the event processed by applications",
        )

    async def table_counts(self, application_id: str) -> dict[str, int]:
        counts = {}
        for table in ("status_history", "documents", "evaluations", "appeals", "outbox"):
            column = "key" if table == "outbox" else "application_id::text"
            counts[table] = int(
                await self.scalar(
                    f"SELECT count(*) FROM applications.{table} WHERE {column} = :a",
                    a=application_id,
                )
            )
        return counts


def profile_updated(citizen_id: uuid.UUID, version: int) -> ProfileUpdated:
    return ProfileUpdated.model_validate(
        {
            "citizen_id": citizen_id,
            "version": version,
            "registry": {
                "full_name_ar": "ليلى خالد",
                "full_name_en": "Layla Khaled",
                "sex": "F",
                "birth_date": date(1980, 1, 2),
            },
            "contact": {"mobile": "+966551234567", "email": "layla@example.com", "language": "ar"},
            "sections": {"personal": {"marital_status": "widowed", "nationality": "SA"}},
            "dependents": [
                {
                    "dependent_id": uuid.uuid4(),
                    "full_name": "Yousef",
                    "national_id": "1000000008",
                    "relationship": "son",
                    "birth_date": date(2014, 2, 3),
                    "has_disability": False,
                    "monthly_income": "0",
                }
            ],
            "household": {
                "household_size": 2,
                "total_monthly_income": "900",
                "total_property_value": "0",
            },
            "completeness": {
                "personal": True,
                "housing": False,
                "income": True,
                "education": False,
                "employment": False,
                "licenses": False,
                "property": False,
                "dependents": True,
                "complete": False,
            },
        }
    )


@pytest.fixture(scope="module")
async def test_program(client: httpx.AsyncClient, signer: TokenSigner) -> str:
    """TEST_PROGRAM in the catalog: SSP-DEV's definition under another code."""
    ssp = (await client.get("/v1/programs/SSP-DEV")).json()
    definition = {k: v for k, v in ssp.items() if k not in ("code", "version")}
    token, _, _ = signer.issue(str(uuid.uuid4()), Role.ADMIN, ttl_seconds=600)
    response = await client.put(
        f"/v1/programs/{TEST_PROGRAM}",
        json=definition,
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code in (200, 201), response.text
    return TEST_PROGRAM


@pytest.fixture
def world(
    test_program: str,
    provisioned: Infra,
    client: httpx.AsyncClient,
    signer: TokenSigner,
    producer: AIOKafkaProducer,
    admin_db: AsyncEngine,
    clock: TestClock,
    settings: ApplicationsSettings,
) -> World:
    return World(provisioned, client, signer, producer, admin_db, clock, settings)


def stored_files(root: Path) -> set[str]:
    return {p.name for p in root.rglob("*") if p.is_file()}
