"""Readiness of every downstream service, and the merged OpenAPI document, against the
platform's running services."""

from __future__ import annotations

import httpx

from sanad.gateway.routes import SERVICES

from .conftest import GatewayFactory


async def test_ready_when_redis_and_every_service_are(gateway: httpx.AsyncClient) -> None:
    response = await gateway.get("/readyz")
    assert response.status_code == 200, response.text
    checks = response.json()["checks"]
    assert {name: checks[name] for name in (*SERVICES, "redis")} == dict.fromkeys(
        (*SERVICES, "redis"), "ok"
    )
    assert (await gateway.get("/healthz")).json() == {"status": "ok"}


async def test_not_ready_naming_the_service_that_is_down(
    gateway_factory: GatewayFactory, closed_url: str
) -> None:
    async with gateway_factory(audit_url=closed_url) as gateway:
        response = await gateway.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["checks"]["audit"].startswith("down")
    assert body["checks"]["identity"] == "ok"


async def test_openapi_merges_every_service_and_lists_one_that_is_down(
    gateway_factory: GatewayFactory, closed_url: str
) -> None:
    async with gateway_factory(eligibility_url=closed_url) as gateway:
        doc = (await gateway.get("/openapi.json")).json()
        docs_page = await gateway.get("/docs")
    assert doc["x-unavailable"] == ["eligibility"]
    assert set(doc["x-services"]) == set(SERVICES) - {"eligibility"}
    # profile and cards are the echo service here: each keeps only its own routes.
    create = doc["paths"]["/v1/profile/items"]["post"]
    assert create["operationId"] == "profile.create_item"
    assert create["tags"] == ["profile.items"]
    assert doc["paths"]["/v1/cards/items/{name}"]["get"]["operationId"] == "cards.get_item"
    assert "/v1/cards/items/{name}" not in doc["paths"].get("/v1/profile/items", {})
    schemas = doc["components"]["schemas"]
    assert {"profile.Item", "cards.Item"} <= set(schemas)
    assert doc["paths"]["/readyz"]  # the gateway's own
    assert docs_page.status_code == 200
    assert "/openapi.json" in docs_page.text


async def test_every_service_is_in_the_document_when_all_are_up(
    gateway: httpx.AsyncClient,
) -> None:
    doc = (await gateway.get("/openapi.json")).json()
    assert doc["x-unavailable"] == []
    assert set(doc["x-services"]) == set(SERVICES)
