"""``/healthz`` (the process is alive) and ``/readyz`` (its dependencies answer)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

Check = Callable[[], Awaitable[object]]
CHECK_TIMEOUT = 2.0


async def run_checks(checks: dict[str, Check]) -> dict[str, str]:
    async def one(check: Check) -> str:
        try:
            result = await asyncio.wait_for(check(), CHECK_TIMEOUT)
        except Exception as exc:
            return f"down: {type(exc).__name__}"
        return "ok" if result is not False else "down"

    outcomes = await asyncio.gather(*(one(check) for check in checks.values()))
    return dict(zip(checks, outcomes, strict=True))


def health_router(
    checks: Callable[[Request], dict[str, Check]],
    reported: Callable[[Request], dict[str, Check]] | None = None,
) -> APIRouter:
    """``checks`` decide readiness (what the process itself needs); ``reported`` ones are only
    shown under ``downstream`` (the gateway's services: one down must not take the gateway,
    and every other route with it, out of its load balancer)."""
    router = APIRouter(tags=["health"])

    @router.get("/healthz", operation_id="healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get("/readyz", operation_id="readyz")
    async def readyz(request: Request) -> JSONResponse:
        results = await run_checks(checks(request))
        ready = all(value == "ok" for value in results.values())
        body: dict[str, object] = {"status": "ready" if ready else "not ready", "checks": results}
        if reported is not None:
            body["downstream"] = await run_checks(reported(request))
        return JSONResponse(body, status_code=200 if ready else 503)

    return router
