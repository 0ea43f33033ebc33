"""Rate limits counted in the real Redis, and CORS."""

from __future__ import annotations

import uuid

from sanad.shared.auth import Role

from .conftest import Caller, GatewayFactory, unique_ip


async def test_too_many_requests_from_one_address_get_429_with_retry_after(
    gateway_factory: GatewayFactory,
) -> None:
    async with gateway_factory(rate_limit_per_ip=3, rate_limit_window_seconds=60) as gateway:
        statuses = [(await gateway.get("/v1/programs")).status_code for _ in range(3)]
        limited = await gateway.get("/v1/programs")
    assert statuses == [200, 200, 200]
    assert limited.status_code == 429
    assert limited.headers["content-type"] == "application/problem+json"
    assert 1 <= int(limited.headers["retry-after"]) <= 60
    assert limited.json()["type"] == "https://sanad.example/problems/rate-limited"


async def test_one_user_is_limited_across_addresses(
    gateway_factory: GatewayFactory, caller: Caller
) -> None:
    subject = f"citizen-{uuid.uuid4()}"
    results = []
    for _ in range(3):  # a new address each time: only the per-user count can trip
        async with gateway_factory(
            client_ip=unique_ip(), rate_limit_per_user=2, rate_limit_per_ip=100
        ) as gateway:
            results.append(
                await gateway.get("/v1/profile/me", headers=caller.auth(Role.CITIZEN, subject))
            )
    assert [r.status_code for r in results] == [200, 200, 429]
    assert int(results[2].headers["retry-after"]) >= 1
    assert "user" in results[2].json()["detail"]


async def test_cors_preflight_allows_configured_origins_only(
    gateway_factory: GatewayFactory,
) -> None:
    async with gateway_factory(
        cors_origins="https://app.sanad.test, https://console.sanad.test"
    ) as gw:
        allowed = await gw.options(
            "/v1/profile/me",
            headers={
                "Origin": "https://console.sanad.test",
                "Access-Control-Request-Method": "PATCH",
                "Access-Control-Request-Headers": "authorization,content-type",
            },
        )
        refused = await gw.options(
            "/v1/profile/me",
            headers={"Origin": "https://evil.test", "Access-Control-Request-Method": "GET"},
        )
        simple = await gw.get("/v1/programs", headers={"Origin": "https://app.sanad.test"})
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == "https://console.sanad.test"
    assert "PATCH" in allowed.headers["access-control-allow-methods"]
    assert "authorization" in allowed.headers["access-control-allow-headers"].lower()
    assert refused.status_code == 403  # understood, not allowed: a problem+json naming why
    assert "access-control-allow-origin" not in refused.headers
    assert simple.headers["access-control-allow-origin"] == "https://app.sanad.test"
    assert "x-request-id" in simple.headers["access-control-expose-headers"].lower()
