"""One process per service: FastAPI for HTTP and FastStream for Kafka, sharing a lifespan.

``create_service_app`` wires what every service has: logging, request ids, problem+json
errors, health and readiness, the service's DB engine, its Kafka broker (subscribers are
registered before it starts) and its outbox relay.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from faststream.kafka import KafkaBroker
from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from sanad.shared.auth import JwksVerifier
from sanad.shared.db import SessionFactory, asyncpg_dsn, engine_for, session_factory
from sanad.shared.health import Check, health_router
from sanad.shared.http import RequestIdMiddleware
from sanad.shared.inbox import dead_letter_topics
from sanad.shared.kafka_admin import ensure_topics
from sanad.shared.logging import configure_logging, get_logger
from sanad.shared.outbox import OutboxRelay, make_producer
from sanad.shared.problems import install_problem_handlers
from sanad.shared.settings import ServiceSettings
from sanad.shared.topics import TopicSpec

log = get_logger(__name__)


@dataclass
class Runtime:
    """What a service's routes and handlers reach through ``request.app.state.runtime``."""

    settings: ServiceSettings
    broker: KafkaBroker
    redis: Redis
    verifier: JwksVerifier
    engine: AsyncEngine | None = None
    sessions: SessionFactory | None = None
    background: list[asyncio.Task[None]] = field(default_factory=list)

    def require_sessions(self) -> SessionFactory:
        assert self.sessions is not None, f"{self.settings.service} has no database"
        return self.sessions


ConsumerRegistrar = Callable[[Runtime], None]
# Run once at start-up (seed data, warm caches), or for the whole life of the process.
StartupHook = Callable[[Runtime], Awaitable[None]]
BackgroundTask = Callable[[Runtime], Coroutine[Any, Any, None]]


def build_runtime(settings: ServiceSettings) -> Runtime:
    broker = KafkaBroker(
        settings.kafka_bootstrap_servers,
        client_id=settings.service,
        enable_idempotence=True,
        logger=get_logger(f"sanad.kafka.{settings.service}"),
    )
    runtime = Runtime(
        settings=settings,
        broker=broker,
        redis=Redis.from_url(settings.redis_url, decode_responses=True),
        verifier=JwksVerifier(settings.jwks_url),
    )
    if settings.uses_database:
        runtime.engine = engine_for(settings)
        runtime.sessions = session_factory(runtime.engine)
    return runtime


def readiness_checks(runtime: Runtime) -> dict[str, Check]:
    async def database() -> object:
        assert runtime.engine is not None
        async with runtime.engine.connect() as conn:
            return (await conn.execute(text("SELECT 1"))).scalar_one() == 1

    async def kafka() -> object:
        return await runtime.broker.ping(timeout=1.5)

    async def redis() -> object:
        return await runtime.redis.ping()

    checks: dict[str, Check] = {"kafka": kafka, "redis": redis}
    if runtime.engine is not None:
        checks["database"] = database
    return checks


SHUTDOWN_STEP_TIMEOUT = 10.0


async def _bounded(step: str, work: Awaitable[Any]) -> None:
    """One shutdown step, never allowed to hold the process (or a test) forever."""
    try:
        await asyncio.wait_for(work, SHUTDOWN_STEP_TIMEOUT)
    except TimeoutError:
        log.warning("shutdown_step_timed_out", step=step, seconds=SHUTDOWN_STEP_TIMEOUT)
    except Exception as exc:
        log.warning("shutdown_step_failed", step=step, error_type=type(exc).__name__)


def create_service_app(
    settings: ServiceSettings,
    *,
    title: str,
    routers: Sequence[APIRouter] = (),
    register_consumers: ConsumerRegistrar | None = None,
    run_relay: bool = True,
    startup: Sequence[StartupHook] = (),
    background: Sequence[BackgroundTask] = (),
    extra_checks: Callable[[Runtime], dict[str, Check]] | None = None,
) -> FastAPI:
    runtime = build_runtime(settings)
    if register_consumers is not None:
        register_consumers(runtime)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        configure_logging(settings.service, settings.log_level)
        for hook in startup:
            await hook(runtime)
        if needed := dead_letter_topics(runtime.broker):
            await ensure_topics(
                settings.kafka_bootstrap_servers, [TopicSpec(name) for name in sorted(needed)]
            )
        await runtime.broker.start()
        producer = None
        if run_relay and runtime.engine is not None:
            producer = make_producer(settings.kafka_bootstrap_servers, f"{settings.service}-outbox")
            await producer.start()
            relay = OutboxRelay(
                runtime.engine,
                producer,
                listen_dsn=asyncpg_dsn(settings.database_url),
                schema=settings.db_schema,
            )
            runtime.background.append(asyncio.create_task(relay.run(), name="outbox-relay"))
        for work in background:
            runtime.background.append(asyncio.create_task(work(runtime), name=work.__name__))
        log.info("service_started", port=settings.port)
        try:
            yield
        finally:
            for task in runtime.background:
                task.cancel()
            await _bounded(
                "background tasks", asyncio.gather(*runtime.background, return_exceptions=True)
            )
            if producer is not None:
                await _bounded("outbox producer", producer.stop())
            await _bounded("kafka broker", runtime.broker.stop())
            if runtime.engine is not None:
                await _bounded("database pool", runtime.engine.dispose())
            await _bounded("redis", runtime.redis.aclose())
            log.info("service_stopped")

    app = FastAPI(title=title, lifespan=lifespan)
    app.state.runtime = runtime
    app.add_middleware(RequestIdMiddleware)
    install_problem_handlers(app)

    def checks(request: Request) -> dict[str, Check]:
        current: Runtime = request.app.state.runtime
        found = readiness_checks(current)
        if extra_checks is not None:  # e.g. the gateway's downstream services
            found.update(extra_checks(current))
        return found

    app.include_router(health_router(checks))
    for router in routers:
        app.include_router(router)
    return app


def runtime_of(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime
