"""The gateway process: one HTTP entry in front of every Sanad service."""

import logging
from pathlib import Path

from fastapi import FastAPI

from sanad.gateway.cors import install_cors
from sanad.gateway.openapi_catalog import OpenApiCatalog, openapi_router
from sanad.gateway.proxy import proxy_route
from sanad.gateway.ratelimit import RateLimiter
from sanad.gateway.settings import GatewaySettings
from sanad.gateway.upstream import Upstreams
from sanad.shared.app import Runtime, create_service_app
from sanad.shared.health import Check
from sanad.shared.settings import ServiceSettings

MIGRATIONS: Path | None = None
OPENAPI_PATH = "/openapi.json"


def create_app(settings: ServiceSettings | None = None) -> FastAPI:
    settings = settings or GatewaySettings()
    if not isinstance(settings, GatewaySettings):
        raise TypeError("the gateway needs GatewaySettings")
    # httpx logs every upstream URL at INFO, query strings included: keep personal data out.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    upstreams = Upstreams(settings)
    catalog = OpenApiCatalog(upstreams, ttl_seconds=settings.openapi_cache_seconds)

    async def open_upstreams(_runtime: Runtime) -> None:
        upstreams.open()

    async def close_upstreams(_runtime: Runtime) -> None:
        await upstreams.close_at_shutdown()

    def downstream_checks(_runtime: Runtime) -> dict[str, Check]:
        return upstreams.readiness_checks()

    app = create_service_app(
        settings,
        title="Sanad gateway",
        startup=[open_upstreams],
        background=[close_upstreams],
        kafka=False,
        redis=True,
        downstream_checks=downstream_checks,
    )
    # The merged document replaces FastAPI's own at the same address (and /docs shows it).
    app.router.routes[:] = [
        r for r in app.router.routes if getattr(r, "path", None) != OPENAPI_PATH
    ]
    app.include_router(openapi_router(catalog))
    limiter = RateLimiter(
        app.state.runtime.redis, window_seconds=settings.rate_limit_window_seconds
    )
    app.router.routes.append(proxy_route(settings, upstreams, limiter, catalog))
    if settings.cors_origins:
        install_cors(app, settings.cors_origins)
    return app
