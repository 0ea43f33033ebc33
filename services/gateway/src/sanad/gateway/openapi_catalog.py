"""``/openapi.json``: every service's document, fetched concurrently, merged and cached."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import aiohttp
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from sanad.gateway import openapi_merge
from sanad.gateway.operations import OperationIndex
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
        self._operations: OperationIndex | None = None
        self._refresh: asyncio.Task[dict[str, Any]] | None = None

    async def _fetch(self, service: str, url: str) -> dict[str, Any] | None:
        try:
            doc = await self._upstreams.get_json(f"{url}/openapi.json", FETCH_TIMEOUT)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            log.warning("openapi_unavailable", service=service, error_type=type(exc).__name__)
            return None
        return doc if isinstance(doc, dict) else None

    async def document(self, own: dict[str, Any]) -> dict[str, Any]:
        async with self._lock:  # one refresh at a time; the others get its result
            if self._cached is None or self._stale():
                await self._rebuild(own)
            assert self._cached is not None
            return self._cached

    def _stale(self) -> bool:
        return time.monotonic() - self._built_at > self._ttl

    async def _rebuild(self, own: dict[str, Any]) -> None:
        urls = self._upstreams.urls
        docs = await asyncio.gather(*(self._fetch(s, u) for s, u in urls.items()))
        found = {s: d for s, d in zip(urls, docs, strict=True) if d is not None}
        self._cached = openapi_merge.merge(
            own, found, unavailable=[s for s in urls if s not in found]
        )
        self._operations = OperationIndex(self._cached)
        self._built_at = time.monotonic()

    async def operations(self, own: Callable[[], dict[str, Any]]) -> OperationIndex:
        """The methods of every documented path, for every proxied request: built once,
        then refreshed in the background when stale (a request never waits for it)."""
        if self._operations is None:
            await self.document(own())
        elif self._stale() and (self._refresh is None or self._refresh.done()):
            self._refresh = asyncio.create_task(self.document(own()))
        assert self._operations is not None
        return self._operations


def openapi_router(catalog: OpenApiCatalog) -> APIRouter:
    router = APIRouter()

    @router.get("/openapi.json", include_in_schema=False)
    async def merged_openapi(request: Request) -> JSONResponse:
        return JSONResponse(await catalog.document(request.app.openapi()))

    return router
