"""The pooled HTTP client to the services behind the gateway, and their readiness."""

from __future__ import annotations

import asyncio

import httpx

from sanad.gateway.settings import GatewaySettings
from sanad.shared.health import Check


class Upstreams:
    """One connection pool for every downstream service, open for the app's lifetime."""

    def __init__(self, settings: GatewaySettings) -> None:
        self.settings = settings
        self.urls = {name: url.rstrip("/") for name, url in settings.upstreams().items()}
        self._client: httpx.AsyncClient | None = None

    @property
    def client(self) -> httpx.AsyncClient:
        assert self._client is not None, "the gateway's upstream client is not open"
        return self._client

    def open(self) -> None:
        s = self.settings
        client = httpx.AsyncClient(
            timeout=httpx.Timeout(
                s.read_timeout, connect=s.connect_timeout, pool=s.connect_timeout
            ),
            limits=httpx.Limits(max_connections=s.max_connections),
            follow_redirects=False,
        )
        # Only the caller's own headers go downstream, not httpx's defaults.
        for name in ("accept", "accept-encoding", "user-agent"):
            del client.headers[name]
        self._client = client

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def close_at_shutdown(self) -> None:
        """Runs for the app's lifetime; the app cancels it at shutdown, closing the pool."""
        try:
            await asyncio.Event().wait()
        finally:
            await self.close()

    def readiness_checks(self) -> dict[str, Check]:
        """A check per service: its own ``/readyz`` answers 200 within a short timeout."""

        def check_for(url: str) -> Check:
            async def ready() -> object:
                response = await self.client.get(
                    f"{url}/readyz", timeout=self.settings.readiness_timeout
                )
                return response.status_code == 200

            return ready

        return {name: check_for(url) for name, url in self.urls.items()}
