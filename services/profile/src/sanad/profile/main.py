"""The profile service process: HTTP API and Kafka consumers in one lifespan."""

from pathlib import Path

from fastapi import FastAPI

from sanad.profile.api import LEAN_ROUTES, router
from sanad.profile.handlers import register_consumers
from sanad.profile.settings import ProfileSettings
from sanad.shared.app import create_service_app
from sanad.shared.lean_routes import install_lean_routes
from sanad.shared.settings import ServiceSettings

MIGRATIONS: Path | None = Path(__file__).resolve().parents[3] / "migrations"


def create_app(settings: ServiceSettings | None = None) -> FastAPI:
    app = create_service_app(
        settings or ProfileSettings(),
        title="Sanad profile",
        routers=[router],
        register_consumers=register_consumers,
    )
    install_lean_routes(app, LEAN_ROUTES)
    return app
