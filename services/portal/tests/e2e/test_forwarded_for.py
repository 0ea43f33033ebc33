"""The portal names the browser it serves to the gateway, so each browser has its own
per-address rate limit (and sign-in failure count) instead of all sharing the portal's."""

from __future__ import annotations

import os
import uuid

import httpx

from sanad.platform.testing import redis_admin

from .platform_people import PORTAL


def loopback_address() -> str:
    """A loopback address of this test's own (Linux routes all of 127.0.0.0/8 to lo)."""
    n = uuid.uuid4().int
    return f"127.{n % 250 + 1}.{(n >> 8) % 250 + 1}.{(n >> 16) % 250 + 1}"


async def rate_limit_buckets(address: str) -> list[str]:
    redis = redis_admin(os.environ.get("SANAD_REDIS_URL", "redis://127.0.0.1:6379/0"))
    try:
        return [key async for key in redis.scan_iter(f"gateway:ratelimit:ip:{address}:*")]
    finally:
        await redis.aclose()


async def test_the_gateway_counts_each_browser_not_the_portal() -> None:
    browser = loopback_address()
    claimed = f"203.0.113.{uuid.uuid4().int % 250 + 1}"
    transport = httpx.AsyncHTTPTransport(local_address=browser)
    async with httpx.AsyncClient(base_url=PORTAL, transport=transport, timeout=30) as client:
        # The catalog page reads /v1/programs through the gateway. The browser's own
        # X-Forwarded-For is not believed by the portal: it is not a proxy the portal trusts.
        page = await client.get("/programs", headers={"X-Forwarded-For": claimed})
    assert page.status_code == 200
    assert await rate_limit_buckets(browser), "the gateway did not count the browser's address"
    assert await rate_limit_buckets(claimed) == []
