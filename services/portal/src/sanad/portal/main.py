"""The portal process: server-rendered pages over the gateway's public API."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.staticfiles import StaticFiles
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.responses import Response

from sanad.portal import i18n
from sanad.portal.gateway import Gateway
from sanad.portal.i18n import N_
from sanad.portal.pages import (
    applications,
    auth,
    cards,
    home,
    notifications,
    profile,
    programs,
    review,
)
from sanad.portal.security import CsrfRefused
from sanad.portal.settings import PortalSettings
from sanad.portal.web import SignInNeeded, portal_middleware, render, to_sign_in
from sanad.shared.app import Runtime, create_service_app
from sanad.shared.health import Check
from sanad.shared.logging import security_event
from sanad.shared.settings import ServiceSettings

MIGRATIONS: Path | None = None
STATIC = Path(__file__).parent / "static"


def create_app(settings: ServiceSettings | None = None) -> FastAPI:
    settings = settings or PortalSettings()
    if not isinstance(settings, PortalSettings):
        raise TypeError("the portal needs PortalSettings")
    gateway = Gateway(settings.gateway_url, settings.gateway_timeout)
    # Compile the catalogs now: a broken .po stops the process at start, not on a page.
    for code in i18n.LANGUAGES:
        i18n.language(code)

    async def open_gateway(_runtime: Runtime) -> None:
        gateway.open()

    async def close_gateway(_runtime: Runtime) -> None:
        await gateway.close_at_shutdown()

    def downstream(_runtime: Runtime) -> dict[str, Check]:
        return gateway.readiness()

    app = create_service_app(
        settings,
        title="Sanad portal",
        kafka=False,
        redis=False,
        startup=[open_gateway],
        background=[close_gateway],
        downstream_checks=downstream,
        routers=[
            home.router,
            auth.router,
            profile.router,
            programs.router,
            applications.router,
            cards.router,
            notifications.router,
            review.router,
        ],
    )
    app.state.portal_settings = settings
    app.state.gateway = gateway
    app.add_middleware(BaseHTTPMiddleware, dispatch=portal_middleware)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.exception_handler(CsrfRefused)
    async def _csrf(request: Request, exc: CsrfRefused) -> Response:
        security_event("csrf_refused", path=request.url.path, reason=str(exc))
        return render(
            request,
            "message.html",
            status=403,
            heading=i18n.gettext(N_("This form has expired")),
            text=i18n.gettext(
                N_("For your safety the form was not sent. Go back, reload the page and try again.")
            ),
        )

    @app.exception_handler(SignInNeeded)
    async def _sign_in(request: Request, exc: SignInNeeded) -> Response:
        return to_sign_in(request)

    return app
