"""A service built by create_service_app, in-process, on the real infrastructure."""

from __future__ import annotations

import asyncio
import uuid

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from sanad.cards.main import MIGRATIONS, create_app
from sanad.cards.settings import CardsSettings
from sanad.platform.testing import Infra
from sanad.shared.app import Runtime, create_service_app
from sanad.shared.events import CitizenRegistered, Envelope
from sanad.shared.kafka_admin import ensure_topics
from sanad.shared.migrations import upgrade
from sanad.shared.settings import ServiceSettings
from sanad.shared.topics import DECISION_ISSUED, TopicSpec, dead_letter_topic


async def test_migrated_service_is_ready_and_tags_responses(provisioned: Infra) -> None:
    settings: ServiceSettings = CardsSettings(
        SANAD_KAFKA_BOOTSTRAP_SERVERS=provisioned.kafka_bootstrap,
        SANAD_REDIS_URL=provisioned.redis_url,
    )
    assert MIGRATIONS is not None
    await asyncio.to_thread(upgrade, MIGRATIONS, settings.database_url, settings.db_schema)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://cards") as client:
            ready = await client.get("/readyz", headers={"X-Request-ID": "trace-me-1"})
            missing = await client.get("/v1/nothing-here")
    assert ready.status_code == 200
    assert ready.json() == {
        "status": "ready",
        "checks": {"kafka": "ok", "database": "ok"},  # cards uses no Redis
    }
    assert ready.headers["x-request-id"] == "trace-me-1"
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"


async def test_readiness_reports_what_is_down_among_what_the_service_uses(
    provisioned: Infra,
) -> None:
    settings = CardsSettings(
        SANAD_KAFKA_BOOTSTRAP_SERVERS=provisioned.kafka_bootstrap,
        SANAD_REDIS_URL="redis://127.0.0.1:1/0",  # nothing listens there
    )
    statuses = []
    for app in (create_app(settings), create_service_app(settings, title="probe", redis=True)):
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://svc") as client:
                statuses.append(await client.get("/readyz"))
    cards, with_redis = statuses
    assert cards.status_code == 200  # Redis is down, but cards never calls it
    assert with_redis.status_code == 503
    body = with_redis.json()
    assert body["checks"]["redis"].startswith("down")
    assert body["checks"]["database"] == "ok"


async def test_a_service_creates_the_dead_letter_topic_its_consumers_need(
    provisioned: Infra,
) -> None:
    # A group of cards' own (its name starts with the service's: Kafka lets cards use it and
    # create its dead-letter topic) that the platform did not create a dead-letter topic for.
    group = f"cards-test-{uuid.uuid4().hex[:8]}"
    topic = DECISION_ISSUED
    settings = CardsSettings(
        SANAD_KAFKA_BOOTSTRAP_SERVERS=provisioned.kafka_bootstrap,
        SANAD_REDIS_URL=provisioned.redis_url,
    )

    async def ignore(session: AsyncSession, event: CitizenRegistered, envelope: Envelope) -> None:
        return None

    def consumers(runtime: Runtime) -> None:
        runtime.require_inbox().subscribe(
            group_id=group, topics=(topic,), handlers={CitizenRegistered: ignore}
        )

    app = create_service_app(settings, title="probe", register_consumers=consumers)
    async with app.router.lifespan_context(app):
        pass
    # Created at start-up: nothing to create any more.
    dlq = TopicSpec(dead_letter_topic(group))
    assert await ensure_topics(provisioned.kafka, [dlq]) == []
