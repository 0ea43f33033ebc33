"""One process per service: FastAPI for HTTP and FastStream for Kafka, sharing a lifespan.

``create_service_app`` wires what every service has — logging, request ids, problem+json
errors, health — and what it says it uses: its DB engine (from its settings), Kafka (its
inbox's consumer groups, registered before start, and its outbox relay), Redis. ``/readyz``
checks exactly those. Outbox and inbox rows past their retention are pruned in the background.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from aiokafka import AIOKafkaProducer
from fastapi import APIRouter, Depends, FastAPI, Request
from redis.asyncio import BlockingConnectionPool, Redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from sanad.shared.auth import JwksVerifier
from sanad.shared.db import SessionFactory, asyncpg_dsn, engine_for, session_factory
from sanad.shared.health import Check, health_router
from sanad.shared.heap import freeze_startup_heap
from sanad.shared.http import RequestGuard, RequestIdMiddleware
from sanad.shared.inbox import Inbox
from sanad.shared.kafka_admin import ensure_topics
from sanad.shared.logging import configure_logging, get_logger
from sanad.shared.media import require_media_type
from sanad.shared.openapi import install_openapi
from sanad.shared.outbox import OutboxRelay, make_producer, prune
from sanad.shared.problems import install_problem_handlers
from sanad.shared.settings import ServiceSettings
from sanad.shared.topics import TopicSpec

log = get_logger(__name__)


@dataclass
class Runtime:
    """What a service's routes and handlers reach through ``request.app.state.runtime``."""

    settings: ServiceSettings
    verifier: JwksVerifier
    engine: AsyncEngine | None = None
    sessions: SessionFactory | None = None
    inbox: Inbox | None = None
    redis_client: Redis | None = None
    producer: AIOKafkaProducer | None = None  # the outbox relay's, once started
    background: list[asyncio.Task[None]] = field(default_factory=list)

    def require_sessions(self) -> SessionFactory:
        assert self.sessions is not None, f"{self.settings.service} has no database"
        return self.sessions

    def require_inbox(self) -> Inbox:
        assert self.inbox is not None, f"{self.settings.service} does not use Kafka"
        return self.inbox

    @property
    def redis(self) -> Redis:
        assert self.redis_client is not None, f"{self.settings.service} does not use Redis"
        return self.redis_client


ConsumerRegistrar = Callable[[Runtime], None]
# Run once at start-up (seed data, warm caches), or for the whole life of the process.
StartupHook = Callable[[Runtime], Awaitable[None]]
BackgroundTask = Callable[[Runtime], Coroutine[Any, Any, None]]


def build_runtime(settings: ServiceSettings, *, kafka: bool, redis: bool) -> Runtime:
    runtime = Runtime(settings=settings, verifier=JwksVerifier(settings.jwks_url))
    if settings.uses_database:
        runtime.engine = engine_for(settings)
        runtime.sessions = session_factory(runtime.engine, producer=settings.service)
        if kafka:
            runtime.inbox = Inbox(settings.kafka, runtime.sessions, client_id=settings.service)
    if redis:
        # A burst beyond the pool's connections waits for one (up to 10 s) instead of failing
        # with "Too many connections" (redis-py's default pool holds 100 and then raises).
        pool = BlockingConnectionPool.from_url(
            settings.redis_url,
            username=settings.redis_username,
            password=settings.redis_password.get_secret_value(),
            decode_responses=True,
            max_connections=100,
            timeout=10,
        )
        runtime.redis_client = Redis(connection_pool=pool)
    return runtime


KAFKA_CHECK_TIMEOUT = 1.5


def readiness_checks(runtime: Runtime) -> dict[str, Check]:
    """Only what the service uses: a service is not unready because of a part it never calls."""
    checks: dict[str, Check] = {}
    engine, producer, redis = runtime.engine, runtime.producer, runtime.redis_client

    if engine is not None:

        async def database() -> object:
            async with engine.connect() as conn:
                return (await conn.execute(text("SELECT 1"))).scalar_one() == 1

        checks["database"] = database
    if producer is not None:

        async def kafka() -> object:
            # A metadata round trip to the cluster the relay publishes to, and every
            # consumer group's loop still running.
            await asyncio.wait_for(producer.client.fetch_all_metadata(), KAFKA_CHECK_TIMEOUT)
            return runtime.inbox is None or runtime.inbox.alive()

        checks["kafka"] = kafka
    if redis is not None:

        async def redis_check() -> object:
            return await redis.ping()

        checks["redis"] = redis_check
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


# Published outbox rows and processed-event marks are kept this long (see ``outbox.prune``).
MESSAGING_RETENTION = timedelta(days=14)
PRUNE_INTERVAL = 3600.0


async def _prune_forever(engine: AsyncEngine) -> None:
    while True:
        try:
            await prune(engine, keep=MESSAGING_RETENTION)
        except Exception as exc:  # the database is away: try again next time
            log.warning("messaging_prune_failed", error_type=type(exc).__name__)
        await asyncio.sleep(PRUNE_INTERVAL)


def create_service_app(
    settings: ServiceSettings,
    *,
    title: str,
    kafka: bool = True,
    redis: bool = False,
    routers: Sequence[APIRouter] = (),
    register_consumers: ConsumerRegistrar | None = None,
    startup: Sequence[StartupHook] = (),
    background: Sequence[BackgroundTask] = (),
    downstream_checks: Callable[[Runtime], dict[str, Check]] | None = None,
    readiness: Callable[[Runtime], dict[str, Check]] | None = None,
) -> FastAPI:
    """A service process. It uses its database if its settings say so (``uses_database``),
    Kafka if ``kafka`` (the outbox relay and the consumers ``register_consumers`` adds to
    ``runtime.inbox``; needs the database), Redis if ``redis``. ``downstream_checks`` are
    reported by ``/readyz`` without deciding it (the gateway's services); ``readiness`` adds
    checks that decide it (what a service uses in its own way: the audit reads Kafka without
    an inbox or a relay)."""
    runtime = build_runtime(settings, kafka=kafka, redis=redis)
    if register_consumers is not None:
        register_consumers(runtime)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        configure_logging(settings.service, settings.log_level)
        for hook in startup:
            await hook(runtime)
        inbox = runtime.inbox
        if inbox is not None and (needed := inbox.dead_letter_topics()):
            await ensure_topics(settings.kafka, [TopicSpec(name) for name in sorted(needed)])
        if inbox is not None and runtime.engine is not None:
            runtime.producer = make_producer(settings.kafka, f"{settings.service}-outbox")
            await runtime.producer.start()
            await inbox.start()

            async def new_producer() -> AIOKafkaProducer:
                producer = make_producer(settings.kafka, f"{settings.service}-outbox")
                await producer.start()
                runtime.producer = producer  # readiness checks the one in use
                return producer

            relay = OutboxRelay(
                runtime.engine,
                runtime.producer,
                listen_dsn=asyncpg_dsn(settings.database_url),
                schema=settings.db_schema,
                new_producer=new_producer,
            )
            runtime.background.append(asyncio.create_task(relay.run(), name="outbox-relay"))
        if runtime.engine is not None:
            runtime.background.append(
                asyncio.create_task(_prune_forever(runtime.engine), name="messaging-prune")
            )
        for work in background:
            runtime.background.append(asyncio.create_task(work(runtime), name=work.__name__))
        freeze_startup_heap()
        log.info("service_started", port=settings.port)
        try:
            yield
        finally:
            for task in runtime.background:
                task.cancel()
            await _bounded(
                "background tasks", asyncio.gather(*runtime.background, return_exceptions=True)
            )
            if runtime.inbox is not None:
                await _bounded("inbox", runtime.inbox.stop())
            if runtime.producer is not None:
                await _bounded("outbox producer", runtime.producer.stop())
            if runtime.engine is not None:
                await _bounded("database pool", runtime.engine.dispose())
            if runtime.redis_client is not None:
                await _bounded("redis", runtime.redis_client.aclose())
            log.info("service_stopped")

    # require_media_type: 415 for a body the operation cannot read (before it is parsed).
    app = FastAPI(title=title, lifespan=lifespan, dependencies=[Depends(require_media_type)])
    app.state.runtime = runtime
    # Outermost first: the request id, then the body and caching rules (its answers carry
    # the id).
    app.add_middleware(
        RequestGuard,
        max_body_bytes=settings.max_body_bytes,
        body_read_timeout=settings.body_read_timeout,
    )
    app.add_middleware(RequestIdMiddleware)
    install_problem_handlers(app)
    install_openapi(app)

    def checks(request: Request) -> dict[str, Check]:
        runtime = runtime_of(request)
        own = readiness(runtime) if readiness is not None else {}
        return readiness_checks(runtime) | own

    def downstream(request: Request) -> dict[str, Check]:
        assert downstream_checks is not None
        return downstream_checks(runtime_of(request))

    app.include_router(health_router(checks, downstream if downstream_checks else None))
    for router in routers:
        app.include_router(router)
    return app


def runtime_of(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime
