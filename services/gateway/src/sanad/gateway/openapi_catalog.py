"""``/openapi.json``: every service's document, fetched concurrently, merged and cached."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from sanad.gateway import openapi_merge
from sanad.gateway.upstream import Upstreams
from sanad.shared.logging import get_logger

log = get_logger(__name__)
FETCH_TIMEOUT = 2.0


class OpenApiCatalog:
    def __init__(self, upstreams: Upstreams, *, ttl_seconds: float) -> None:
        self._upstreams = upstreams
        self._ttl = ttl_seconds
        self._cached: dict[str, Any] | None = None
        self._built_at = 0.0
        self._lock = asyncio.Lock()

    async def _fetch(self, service: str, url: str) -> dict[str, Any] | None:
        try:
            response = await self._upstreams.client.get(
                f"{url}/openapi.json", timeout=FETCH_TIMEOUT
            )
            response.raise_for_status()
            doc = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            log.warning("openapi_unavailable", service=service, error_type=type(exc).__name__)
            return None
        return doc if isinstance(doc, dict) else None

    async def document(self, own: dict[str, Any]) -> dict[str, Any]:
        async with self._lock:  # one refresh at a time; the others get its result
            if self._cached is None or time.monotonic() - self._built_at > self._ttl:
                urls = self._upstreams.urls
                docs = await asyncio.gather(*(self._fetch(s, u) for s, u in urls.items()))
                found = {s: d for s, d in zip(urls, docs, strict=True) if d is not None}
                self._cached = openapi_merge.merge(
                    own, found, unavailable=[s for s in urls if s not in found]
                )
                self._built_at = time.monotonic()
            return self._cached


def openapi_router(catalog: OpenApiCatalog) -> APIRouter:
    router = APIRouter()

    @router.get("/openapi.json", include_in_schema=False)
    async def merged_openapi(request: Request) -> JSONResponse:
        return JSONResponse(await catalog.document(request.app.openapi()))

    return router
