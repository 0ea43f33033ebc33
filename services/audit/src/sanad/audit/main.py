"""The audit service process: the auditor-only HTTP API over the audit's use cases.

It consumes no consumer group and publishes nothing (no outbox relay, no inbox): its reads
of the topics are the replays themselves, each with a group-less consumer.
"""

from pathlib import Path

from fastapi import FastAPI

from sanad.audit.adapters import kafka_reader
from sanad.audit.api import router
from sanad.audit.settings import AuditSettings
from sanad.shared.app import Runtime, create_service_app
from sanad.shared.health import Check
from sanad.shared.settings import ServiceSettings

MIGRATIONS: Path | None = Path(__file__).resolve().parents[3] / "migrations"


def readiness(runtime: Runtime) -> dict[str, Check]:
    async def kafka() -> object:
        return await kafka_reader.reachable(runtime.settings)

    return {"kafka": kafka}


def create_app(settings: ServiceSettings | None = None) -> FastAPI:
    return create_service_app(
        settings or AuditSettings(),
        title="Sanad audit",
        kafka=False,
        routers=[router],
        readiness=readiness,
    )
