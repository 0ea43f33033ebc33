"""Readiness of every downstream service, and the merged OpenAPI document, against the
platform's running services."""

from __future__ import annotations

import httpx

from sanad.gateway.routes import SERVICES

from .conftest import GatewayFactory


async def test_ready_with_redis_and_reports_every_service(gateway: httpx.AsyncClient) -> None:
    response = await gateway.get("/readyz")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["checks"] == {"redis": "ok"}  # all the gateway itself needs
    assert body["downstream"] == dict.fromkeys(SERVICES, "ok")
    assert (await gateway.get("/healthz")).json() == {"status": "ok"}


async def test_stays_ready_when_one_service_is_down_and_names_it(
    gateway_factory: GatewayFactory, closed_url: str
) -> None:
    async with gateway_factory(identity_url=closed_url) as gateway:
        response = await gateway.get("/readyz")
        routed = await gateway.post("/v1/auth/login", json={})
    # Out of the load balancer, the gateway would take every other service's routes with it.
    assert response.status_code == 200
    body = response.json()
    assert body["downstream"]["identity"].startswith("down")
    assert body["downstream"]["profile"] == "ok"
    assert routed.status_code == 503
    assert "identity" in routed.json()["detail"]


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
