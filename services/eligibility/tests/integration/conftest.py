"""The eligibility app in-process on the real Kafka and Postgres, with tokens from a test
signer, and helpers that publish what profile and applications would (ProfileUpdated,
ApplicationSubmitted v2, AppealFiled, DecisionIssued) and read EligibilityEvaluated back."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from sanad.eligibility.main import MIGRATIONS, create_app
from sanad.eligibility.settings import EligibilitySettings
from sanad.platform import bulk_seed
from sanad.platform.testing import Infra, asgi_client, eventually, read_topic, trust_test_tokens
from sanad.shared import topics
from sanad.shared.auth import Role, TokenSigner
from sanad.shared.events import (
    AppealFiled,
    ApplicationSubmittedV2,
    DecisionIssuedV2,
    Envelope,
    Event,
    ProfileUpdated,
)
from sanad.shared.migrations import upgrade

SSP_DOCUMENTS = ("national_id", "family_register", "proof_of_income", "bank_account")
CITIZEN_CHILD_ID = "1000000008"


@pytest.fixture(scope="session")
def settings(provisioned: Infra) -> EligibilitySettings:
    pg = make_url(provisioned.pg_admin_url)
    return EligibilitySettings(
        kafka_bootstrap_servers=provisioned.kafka_bootstrap,
        redis_url=provisioned.redis_url,
        pg_host=pg.host or "127.0.0.1",
        pg_port=pg.port or 5432,
    )


# Per module, not per session: the app joins the service's real consumer group beside
# the platform's instance, and while pytest runs other tests its event loop is stopped:
# kept for the whole run it held partitions it did not read (cards stalled 10 minutes
# under the e2e journeys). Per module it leaves the group when its tests are done.
@pytest.fixture(scope="module")
async def eligibility_app(settings: EligibilitySettings) -> AsyncIterator[FastAPI]:
    assert MIGRATIONS is not None
    await asyncio.to_thread(upgrade, MIGRATIONS, settings.database_url, settings.db_schema)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture(scope="module")
def signer(eligibility_app: FastAPI) -> TokenSigner:
    return trust_test_tokens(eligibility_app)


@pytest.fixture(scope="module")
async def client(eligibility_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(eligibility_app, "http://eligibility") as http:
        yield http


def child(national_id: str = CITIZEN_CHILD_ID) -> dict[str, Any]:
    return {
        "dependent_id": str(uuid.uuid4()),
        "full_name": "Yousef",
        "national_id": national_id,
        "relationship": "son",
        "birth_date": "2014-02-03",
        "has_disability": False,
        "monthly_income": "0",
    }


def profile_payload(
    citizen_id: uuid.UUID,
    *,
    version: int = 1,
    income: str = "1000.00",
    children: int = 1,
    nationality: str = "SA",
) -> dict[str, Any]:
    """A ProfileUpdated payload: a filled-in household of the applicant and ``children``."""
    return bulk_seed.profile_payload(
        citizen_id,
        version=version,
        income=income,
        contact={"mobile": "+966551234567", "email": None, "language": "ar"},
        nationality=nationality,
        dependents=[child() for _ in range(children)],
    )


def snapshot(profile: dict[str, Any]) -> dict[str, Any]:
    """The household snapshot applications puts in ApplicationSubmitted v2."""
    return {
        "registry": {k: profile["registry"][k] for k in ("sex", "birth_date")},
        "sections": profile["sections"],
        "dependents": profile["dependents"],
        "household": profile["household"],
        "completeness": profile["completeness"],
    }


@dataclass
class World:
    infra: Infra
    client: httpx.AsyncClient
    signer: TokenSigner
    producer: AIOKafkaProducer
    db: AsyncEngine

    def headers(self, role: Role, subject: str | None = None) -> dict[str, str]:
        token, _, _ = self.signer.issue(subject or str(uuid.uuid4()), role, ttl_seconds=600)
        return {"Authorization": f"Bearer {token}"}

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

    async def rows(self, sql: str, **params: Any) -> list[Any]:
        async with self.db.connect() as conn:
            return list(await conn.execute(text(sql), params))

    async def profile(self, citizen_id: uuid.UUID, **kw: Any) -> dict[str, Any]:
        """Publish a ProfileUpdated and wait until eligibility keeps it."""
        payload = profile_payload(citizen_id, **kw)
        await self.publish(ProfileUpdated.model_validate(payload), "profile")
        version = payload["version"]
        await eventually(
            lambda: self.scalar(
                "SELECT version FROM eligibility.citizen_profiles WHERE citizen_id = :c",
                c=citizen_id,
            ),
            until=lambda v: v == version,
            what="the profile kept by eligibility",
        )
        return payload

    def submission(
        self,
        citizen_id: uuid.UUID,
        profile: dict[str, Any],
        *,
        program: str = "SSP-DEV",
        documents: tuple[str, ...] = SSP_DOCUMENTS,
        form_income: str | None = None,
        submitted_at: datetime | None = None,
        application_id: uuid.UUID | None = None,
        form: dict[str, Any] | None = None,
    ) -> ApplicationSubmittedV2:
        return ApplicationSubmittedV2(
            application_id=application_id or uuid.uuid4(),
            submission_id=uuid.uuid4(),
            submission_number=1,
            citizen_id=citizen_id,
            program_code=program,
            submitted_at=submitted_at or datetime.now(UTC),
            form=form
            or {
                "monthly_income": form_income or profile["household"]["total_monthly_income"],
                "family_size": profile["household"]["household_size"],
                "employment_status": "unemployed",
                "category": None,
                "payment": {"method": "iban", "last4": "7519"},
            },
            documents=[
                {
                    "kind": kind,
                    "content_type": "application/pdf",
                    "size_bytes": 1000,
                    "sha256": "a" * 64,
                }
                for kind in documents
            ],
            profile_version=profile["version"],
            household_snapshot=snapshot(profile),
        )

    async def evaluated(self, application_id: uuid.UUID, count: int = 1) -> list[Envelope]:
        """The EligibilityEvaluated messages of an application on the real topic."""
        return await eventually(
            lambda: read_topic(self.infra, topics.ELIGIBILITY_EVALUATED, str(application_id)),
            until=lambda found: len(found) >= count,
            what=f"{count} EligibilityEvaluated for {application_id}",
        )

    def appeal(self, submitted: ApplicationSubmittedV2) -> AppealFiled:
        return AppealFiled(
            appeal_id=uuid.uuid4(),
            application_id=submitted.application_id,
            citizen_id=submitted.citizen_id,
            program_code=submitted.program_code,
            reason="My income changed.",
            filed_at=datetime.now(UTC),
        )

    def approval(self, submitted: ApplicationSubmittedV2) -> DecisionIssuedV2:
        return DecisionIssuedV2(
            decision_id=uuid.uuid4(),
            application_id=submitted.application_id,
            citizen_id=submitted.citizen_id,
            program_code=submitted.program_code,
            decision="APPROVED",
            reasons=[],
            decided_by="auto",
            decided_at=datetime.now(UTC),
        )


@pytest.fixture
def world(
    provisioned: Infra,
    client: httpx.AsyncClient,
    signer: TokenSigner,
    producer: AIOKafkaProducer,
    admin_db: AsyncEngine,
) -> World:
    return World(provisioned, client, signer, producer, admin_db)


def today() -> date:
    return datetime.now(UTC).date()
