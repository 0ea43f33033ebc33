"""The portal's one way out: the gateway's public API, over one pooled httpx client.

The portal reads no service directly and holds no data: every page is drawn from what the
gateway answers for the signed-in person's token.

Every call names the browser it serves in ``X-Forwarded-For``: the gateway (which lists the
portal's address in ``SANAD_GATEWAY_FORWARDED_ALLOW_IPS``) then counts its per-address
rate limit, and identity its per-address sign-in failures, per browser, not for all
citizens at once. The address is the portal's own view of its peer (uvicorn's, after the
portal's ``SANAD_PORTAL_FORWARDED_ALLOW_IPS`` if it sits behind a proxy): an
``X-Forwarded-For`` the browser sent itself is never passed on.
"""

from __future__ import annotations

import asyncio
from contextvars import ContextVar
from typing import Any

import httpx

from sanad.shared.health import Check

_browser: ContextVar[str | None] = ContextVar("portal_browser_address", default=None)


def serving(address: str | None) -> None:
    """The address of the browser the current request comes from (set by the middleware)."""
    _browser.set(address)


class Gateway:
    def __init__(self, base_url: str, timeout: float) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._client: httpx.AsyncClient | None = None

    def open(self) -> None:
        if self._client is None:
            self._client = httpx.AsyncClient(
                base_url=self.base_url,
                timeout=httpx.Timeout(self.timeout, connect=3.0),
                follow_redirects=False,
            )

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def close_at_shutdown(self) -> None:
        """Runs for the app's lifetime; cancelled at shutdown, it closes the pool."""
        try:
            await asyncio.Event().wait()
        finally:
            await self.close()

    @property
    def client(self) -> httpx.AsyncClient:
        self.open()
        assert self._client is not None
        return self._client

    async def request(
        self,
        method: str,
        path: str,
        *,
        token: str | None = None,
        headers: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        sent = dict(headers or {})
        if browser := _browser.get():
            sent["X-Forwarded-For"] = browser
        if token:
            sent["Authorization"] = f"Bearer {token}"
        return await self.client.request(method, path, headers=sent, **kwargs)

    def readiness(self) -> dict[str, Check]:
        async def gateway() -> object:
            response = await self.client.get("/healthz", timeout=1.5)
            return response.status_code == 200

        return {"gateway": gateway}
