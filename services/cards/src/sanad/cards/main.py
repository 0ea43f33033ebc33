"""The cards service process: HTTP API and Kafka consumers in one lifespan."""

from pathlib import Path

from fastapi import FastAPI

from sanad.cards import service
from sanad.cards.api import Context, router
from sanad.cards.handlers import consumers
from sanad.cards.settings import CardsSettings
from sanad.shared.app import Runtime, create_service_app
from sanad.shared.clock import Clock, SystemClock
from sanad.shared.settings import ServiceSettings, reveal

MIGRATIONS: Path | None = Path(__file__).resolve().parents[3] / "migrations"


def create_app(settings: ServiceSettings | None = None, clock: Clock | None = None) -> FastAPI:
    settings = settings or CardsSettings()
    assert isinstance(settings, CardsSettings)
    clock = clock or SystemClock()
    ring = service.KeyRing(
        reveal(settings.key_encryption_key.get_secret_value()),
        [reveal(key) for key in settings.previous_keys()],
    )

    async def signing_key(runtime: Runtime) -> None:
        await service.ensure_signing_key(runtime.require_sessions(), ring, clock)

    app = create_service_app(
        settings,
        title="Sanad cards",
        routers=[router],
        register_consumers=consumers(clock),
        startup=[signing_key],
    )
    app.state.cards = Context(clock=clock, ring=ring, issuer=settings.issuer)
    return app
