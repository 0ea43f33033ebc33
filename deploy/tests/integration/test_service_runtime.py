"""A service built by create_service_app, in-process, on the real infrastructure."""

from __future__ import annotations

import asyncio

import httpx

from sanad.cards.main import MIGRATIONS, create_app
from sanad.cards.settings import CardsSettings
from sanad.platform.testing import Infra
from sanad.shared.migrations import upgrade
from sanad.shared.settings import ServiceSettings


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
        "checks": {"kafka": "ok", "redis": "ok", "database": "ok"},
    }
    assert ready.headers["x-request-id"] == "trace-me-1"
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"


async def test_readiness_reports_what_is_down(provisioned: Infra) -> None:
    settings = CardsSettings(
        SANAD_KAFKA_BOOTSTRAP_SERVERS=provisioned.kafka_bootstrap,
        SANAD_REDIS_URL="redis://127.0.0.1:1/0",  # nothing listens there
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://cards") as client:
            response = await client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["checks"]["redis"].startswith("down")
    assert body["checks"]["database"] == "ok"
