"""The notifications service process: HTTP API, Kafka consumers and the delivery worker."""

from pathlib import Path

from fastapi import FastAPI

from sanad.notifications.api import router
from sanad.notifications.handlers import register_consumers
from sanad.notifications.settings import NotificationsSettings
from sanad.notifications.worker import delivery_worker
from sanad.shared.app import create_service_app
from sanad.shared.settings import ServiceSettings

MIGRATIONS: Path | None = Path(__file__).resolve().parents[3] / "migrations"


def create_app(settings: ServiceSettings | None = None) -> FastAPI:
    return create_service_app(
        settings or NotificationsSettings(),
        title="Sanad notifications",
        routers=[router],
        register_consumers=register_consumers,
        background=[delivery_worker],
    )
