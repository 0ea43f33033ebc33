"""The applications service process: HTTP API, Kafka consumers, the outbox relay and the
completion-deadline job in one lifespan."""

from __future__ import annotations

import asyncio
from pathlib import Path

from fastapi import FastAPI

from sanad.applications.adapters.program_cache import ProgramCache
from sanad.applications.adapters.storage import DocumentStore, FilesystemStore
from sanad.applications.api import applications, programs, review
from sanad.applications.api.deps import Context
from sanad.applications.handlers import consumers
from sanad.applications.service.decisions import expire_overdue
from sanad.applications.settings import ApplicationsSettings
from sanad.shared.app import Runtime, create_service_app
from sanad.shared.clock import Clock, SystemClock
from sanad.shared.lean_routes import install_lean_routes
from sanad.shared.logging import get_logger
from sanad.shared.settings import ServiceSettings

MIGRATIONS: Path | None = Path(__file__).resolve().parents[3] / "migrations"
log = get_logger(__name__)


def create_app(
    settings: ServiceSettings | None = None,
    *,
    clock: Clock | None = None,
    store: DocumentStore | None = None,
) -> FastAPI:
    settings = settings or ApplicationsSettings()
    assert isinstance(settings, ApplicationsSettings)
    clock = clock or SystemClock()
    interval = settings.expiry_interval_seconds

    async def expire_completions(runtime: Runtime) -> None:
        """Rejects applications past their completion deadline. The deadline lives in the
        database, so what a stopped process missed is caught up by the next one."""
        while True:
            try:
                expired = await expire_overdue(runtime.require_sessions(), clock)
                if expired:
                    log.info("completions_expired", count=expired)
            except Exception as exc:  # the database is away: try again next time
                log.warning("completion_expiry_failed", error_type=type(exc).__name__)
            await asyncio.sleep(interval)

    app = create_service_app(
        settings,
        title="Sanad applications",
        redis=True,
        routers=[programs.router, applications.router, review.router],
        register_consumers=consumers(clock),
        background=[expire_completions],
    )
    runtime: Runtime = app.state.runtime
    app.state.applications = Context(
        settings=settings,
        clock=clock,
        store=store or FilesystemStore(settings.document_root),
        cache=ProgramCache(runtime.redis, settings.program_cache_seconds),
    )
    install_lean_routes(app, applications.LEAN_ROUTES)
    return app
