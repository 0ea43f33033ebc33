"""The running platform through its one entry, the gateway at http://127.0.0.1:8000."""

from __future__ import annotations

import os
import uuid

import httpx

from sanad.gateway.openapi_merge import service_part
from sanad.gateway.routes import SERVICES
from sanad.gateway.settings import GatewaySettings
from sanad.platform.testing import redis_admin

GATEWAY = os.environ.get("SANAD_GATEWAY_URL", "http://127.0.0.1:8000")
PROBLEM = "application/problem+json"


async def test_the_gateway_is_ready_and_reports_every_service_ready() -> None:
    async with httpx.AsyncClient(base_url=GATEWAY, timeout=10) as client:
        response = await client.get("/readyz")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["checks"] == {"redis": "ok"}
    assert {name: body["downstream"].get(name) for name in SERVICES} == dict.fromkeys(
        SERVICES, "ok"
    )


async def test_one_openapi_document_holds_every_services_routes() -> None:
    upstreams = GatewaySettings().upstreams()
    async with httpx.AsyncClient(timeout=10) as client:
        merged = (await client.get(f"{GATEWAY}/openapi.json")).json()
        own = {
            service: (await client.get(f"{url}/openapi.json")).json()
            for service, url in upstreams.items()
        }
        docs = await client.get(f"{GATEWAY}/docs")
    assert merged["x-unavailable"] == []
    assert set(merged["x-services"]) == set(SERVICES)
    for service, doc in own.items():
        paths, _ = service_part(service, doc)
        for path, item in paths.items():
            assert merged["paths"][path] == item, f"{service} {path}"
    assert {"/healthz", "/readyz"} <= set(merged["paths"])
    assert docs.status_code == 200 and "swagger" in docs.text.lower()


async def test_an_unknown_path_is_a_404_problem_and_a_private_one_needs_a_token() -> None:
    request_id = f"e2e-{uuid.uuid4()}"
    async with httpx.AsyncClient(base_url=GATEWAY, timeout=10) as client:
        unknown = await client.get("/v1/no-such-thing", headers={"X-Request-ID": request_id})
        private = await client.get("/v1/profile")
    assert unknown.status_code == 404
    assert unknown.headers["content-type"] == PROBLEM
    assert unknown.headers["x-request-id"] == request_id
    assert unknown.json()["request_id"] == request_id
    assert private.status_code == 401
    assert private.headers["content-type"] == PROBLEM


async def test_a_trailing_slash_redirect_stays_behind_the_gateway() -> None:
    async with httpx.AsyncClient(base_url=GATEWAY, timeout=10) as client:
        response = await client.get(
            "/.well-known/jwks.json/", headers={"Host": "sanad.example.org"}
        )
    # The service redirects to the path without the slash: through the gateway, not around it.
    assert response.status_code == 307
    assert response.headers["location"] == "/.well-known/jwks.json"


def some_address(prefix: str) -> str:
    """An address no other test (or earlier run within the window) counted under."""
    n = uuid.uuid4().int
    return f"{prefix}{n % 250 + 1}.{(n >> 8) % 250 + 1}.{(n >> 16) % 250 + 1}"


async def rate_limit_buckets(address: str) -> list[str]:
    """The gateway's per-address rate-limit windows counted for ``address``."""
    redis = redis_admin(os.environ.get("SANAD_REDIS_URL", "redis://127.0.0.1:6379/0"))
    try:
        return [key async for key in redis.scan_iter(f"gateway:ratelimit:ip:{address}:*")]
    finally:
        await redis.aclose()


async def test_a_client_cannot_choose_its_address_for_the_rate_limit() -> None:
    # The gateway believes X-Forwarded-For only from the portal's host (127.0.0.1 here): a
    # client connecting from any other address is counted under that address, whatever it
    # claims.
    client_address, spoofed = some_address("127."), some_address("198.")
    transport = httpx.AsyncHTTPTransport(local_address=client_address)
    async with httpx.AsyncClient(base_url=GATEWAY, timeout=10, transport=transport) as client:
        answer = await client.get("/v1/programs", headers={"X-Forwarded-For": spoofed})
    assert answer.status_code == 200
    assert await rate_limit_buckets(spoofed) == []
    assert await rate_limit_buckets(client_address)


async def test_the_portals_host_names_the_browser_it_serves() -> None:
    # What the portal does for each browser (services/portal/tests/e2e/test_forwarded_for.py
    # shows the portal doing it): from a trusted proxy the address in X-Forwarded-For counts.
    browser = some_address("10.")
    async with httpx.AsyncClient(base_url=GATEWAY, timeout=10) as client:  # from 127.0.0.1
        answer = await client.get("/v1/programs", headers={"X-Forwarded-For": browser})
    assert answer.status_code == 200
    assert await rate_limit_buckets(browser)
