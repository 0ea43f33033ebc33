"""The gateway service process: HTTP API and Kafka consumers in one lifespan."""

from pathlib import Path

from fastapi import FastAPI

from sanad.gateway.settings import GatewaySettings
from sanad.shared.app import create_service_app
from sanad.shared.settings import ServiceSettings

MIGRATIONS: Path | None = None


def create_app(settings: ServiceSettings | None = None) -> FastAPI:
    return create_service_app(settings or GatewaySettings(), title="Sanad gateway")
