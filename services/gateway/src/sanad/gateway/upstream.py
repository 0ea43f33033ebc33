"""The pooled HTTP client to the services behind the gateway, and their readiness.

aiohttp, not httpx: under wrk through the gateway, httpx/httpcore took a quarter of the
gateway's CPU (its pool checks every idle connection's socket on each request), and the
same proxying through aiohttp's keep-alive pool costs a fraction of that (see the README's
HTTP path section for the figures)."""

from __future__ import annotations

import asyncio

import aiohttp

from sanad.gateway.settings import GatewaySettings
from sanad.shared.health import Check


class Upstreams:
    """One connection pool for every downstream service, open for the app's lifetime."""

    def __init__(self, settings: GatewaySettings) -> None:
        self.settings = settings
        self.urls = {name: url.rstrip("/") for name, url in settings.upstreams().items()}
        self._client: aiohttp.ClientSession | None = None

    @property
    def client(self) -> aiohttp.ClientSession:
        assert self._client is not None, "the gateway's upstream client is not open"
        return self._client

    def open(self) -> None:
        """Called on the running event loop (aiohttp binds its session to it)."""
        s = self.settings
        self._client = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=s.max_connections, ttl_dns_cache=300),
            # ``connect`` covers waiting for a pooled connection and opening one: past it the
            # service is unavailable (503); ``sock_read`` is the wait for each piece of its
            # answer (504 when it passes).
            timeout=aiohttp.ClientTimeout(
                total=None, connect=s.connect_timeout, sock_read=s.read_timeout
            ),
            # Answers are relayed as the service encoded them.
            auto_decompress=False,
            # One pool serves every caller: a Set-Cookie meant for one must never be sent
            # on with another's request.
            cookie_jar=aiohttp.DummyCookieJar(),
            # Only the caller's own headers go downstream, not the client's defaults (a body
            # sent without a Content-Type must not reach the service as octet-stream).
            skip_auto_headers=("Accept", "Accept-Encoding", "User-Agent", "Content-Type"),
        )

    async def close(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None

    async def close_at_shutdown(self) -> None:
        """Runs for the app's lifetime; the app cancels it at shutdown, closing the pool."""
        try:
            await asyncio.Event().wait()
        finally:
            await self.close()

    async def get_json(self, url: str, timeout: float) -> object:
        """GET ``url`` and decode its JSON; raises ``aiohttp.ClientError``, ``TimeoutError``
        or ``ValueError`` when the service does not answer one."""
        async with self.client.get(url, timeout=aiohttp.ClientTimeout(total=timeout)) as answer:
            answer.raise_for_status()
            return await answer.json(content_type=None)

    def readiness_checks(self) -> dict[str, Check]:
        """A check per service: its own ``/readyz`` answers 200 within a short timeout."""
        timeout = aiohttp.ClientTimeout(total=self.settings.readiness_timeout)

        def check_for(url: str) -> Check:
            async def ready() -> object:
                async with self.client.get(f"{url}/readyz", timeout=timeout) as response:
                    return response.status == 200

            return ready

        return {name: check_for(url) for name, url in self.urls.items()}
