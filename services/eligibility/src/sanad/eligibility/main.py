"""The eligibility service process: HTTP API and Kafka consumers in one lifespan; the
shipped rule sets are loaded before the consumers start."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from sanad.eligibility import service
from sanad.eligibility.api import router
from sanad.eligibility.handlers import consumers
from sanad.eligibility.settings import EligibilitySettings
from sanad.shared.app import Runtime, create_service_app
from sanad.shared.clock import Clock, SystemClock
from sanad.shared.settings import ServiceSettings

MIGRATIONS: Path | None = Path(__file__).resolve().parents[3] / "migrations"


async def seed_rule_sets(runtime: Runtime) -> None:
    await service.seed(runtime.require_sessions())


def create_app(settings: ServiceSettings | None = None, *, clock: Clock | None = None) -> FastAPI:
    clock = clock or SystemClock()
    app = create_service_app(
        settings or EligibilitySettings(),
        title="Sanad eligibility",
        routers=[router],
        register_consumers=consumers(clock),
        startup=[seed_rule_sets],
    )
    app.state.clock = clock
    return app
