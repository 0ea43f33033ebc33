"""Lean routes answer the plain requests of a hot read; everything else still reaches the
documented FastAPI route, whose OpenAPI operation is unchanged."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Annotated, Any
from uuid import UUID

import httpx
import pytest
from fastapi import APIRouter, Depends, Query, Request, Response

from sanad.shared.app import create_service_app
from sanad.shared.auth import (
    JwksVerifier,
    Principal,
    Role,
    TokenSigner,
    authenticate,
    generate_signing_key,
)
from sanad.shared.lean_routes import LeanRoute, install_lean_routes, no_query
from sanad.shared.problems import Problem
from sanad.shared.settings import ServiceSettings

PROBLEM = "application/problem+json"
router = APIRouter(prefix="/v1/things")
Caller = Annotated[Principal, Depends(authenticate)]


def answer(via: str, **fields: Any) -> Response:
    return Response(f'{{"via": "{via}"}}', media_type="application/json", headers=fields)


@router.get("", operation_id="list_things")
async def list_things(caller: Caller, page: Annotated[int, Query(ge=1)] = 1) -> Response:
    return answer("fastapi", page=str(page))


@router.get("/{thing_id}", operation_id="get_thing")
async def get_thing(thing_id: UUID, caller: Caller) -> Response:
    return answer("fastapi")


@router.put("/{thing_id}", operation_id="put_thing")
async def put_thing(thing_id: UUID) -> Response:
    return answer("fastapi")


async def list_lean(request: Request) -> Response:
    await authenticate(request)
    return answer("lean")


async def get_lean(request: Request) -> Response:
    caller = await authenticate(request)
    thing_id = request.path_params["thing_id"]
    assert isinstance(thing_id, UUID)
    if caller.role is not Role.CITIZEN:
        raise Problem(404, "Not Found", f"No thing {thing_id}.", "thing-not-found")
    return answer("lean", thing=str(thing_id))


def make_app() -> tuple[Any, TokenSigner]:
    settings = ServiceSettings(service="things", uses_database=False, SANAD_ENV="test")
    app = create_service_app(settings, title="things", kafka=False, routers=[router])
    signer = TokenSigner(generate_signing_key())
    app.state.runtime.verifier = JwksVerifier(jwks=signer.jwks())
    install_lean_routes(
        app,
        [
            LeanRoute("/v1/things", list_lean, accepts=no_query),
            LeanRoute("/v1/things/{thing_id:uuid}", get_lean),
        ],
    )
    return app, signer


@pytest.fixture
async def world() -> AsyncIterator[tuple[httpx.AsyncClient, dict[str, str], TokenSigner, Any]]:
    app, signer = make_app()
    token, _, _ = signer.issue(str(uuid.uuid4()), Role.CITIZEN, 600)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://things") as http:
        yield http, {"Authorization": f"Bearer {token}"}, signer, app


World = tuple[httpx.AsyncClient, dict[str, str], TokenSigner, Any]


async def test_the_plain_read_takes_the_lean_route_with_the_apps_middlewares(
    world: World,
) -> None:
    http, auth, _, _ = world
    thing = uuid.uuid4()
    got = await http.get(f"/v1/things/{thing}", headers=auth | {"X-Request-ID": "req-1"})
    assert got.status_code == 200
    assert got.json() == {"via": "lean"}
    assert got.headers["thing"] == str(thing)  # the path parameter, converted to a UUID
    assert got.headers["x-request-id"] == "req-1"
    assert got.headers["cache-control"] == "no-store"
    assert (await http.get("/v1/things", headers=auth)).json() == {"via": "lean"}


async def test_a_lean_route_refuses_as_the_documented_one_does(world: World) -> None:
    http, _, signer, _ = world
    missing = await http.get(f"/v1/things/{uuid.uuid4()}")
    assert missing.status_code == 401
    assert missing.headers["content-type"] == PROBLEM
    assert missing.headers["www-authenticate"].startswith("Bearer")
    forged = await http.get("/v1/things", headers={"Authorization": "Bearer e30.e30.AAAA"})
    assert forged.status_code == 401
    staff, _, _ = signer.issue(str(uuid.uuid4()), Role.CASEWORKER, 600)
    hidden = await http.get(
        f"/v1/things/{uuid.uuid4()}", headers={"Authorization": f"Bearer {staff}"}
    )
    assert hidden.status_code == 404
    assert hidden.headers["content-type"] == PROBLEM
    assert hidden.json()["type"].endswith("/thing-not-found")
    assert hidden.headers["cache-control"] == "no-store"


async def test_what_the_lean_route_does_not_take_reaches_the_documented_route(
    world: World,
) -> None:
    http, auth, _, _ = world
    # A query string the documented route validates.
    paged = await http.get("/v1/things?page=2", headers=auth)
    assert paged.json() == {"via": "fastapi"}
    assert paged.headers["page"] == "2"
    bad_page = await http.get("/v1/things?page=0", headers=auth)
    assert bad_page.status_code == 422
    assert bad_page.json()["errors"][0]["field"] == "query.page"
    # A path parameter that is not a UUID: FastAPI's 422 naming it.
    bad_id = await http.get("/v1/things/not-a-uuid", headers=auth)
    assert bad_id.status_code == 422
    assert bad_id.json()["errors"][0]["field"] == "path.thing_id"
    # Another method of the path: its own route, and 405 naming every method.
    assert (await http.put(f"/v1/things/{uuid.uuid4()}")).json() == {"via": "fastapi"}
    refused = await http.delete(f"/v1/things/{uuid.uuid4()}")
    assert refused.status_code == 405
    assert refused.headers["allow"] == "GET, PUT"


async def test_the_openapi_document_is_the_documented_routes_alone(world: World) -> None:
    http, _, _, _ = world
    lean = await http.get("/openapi.json")
    app = create_service_app(
        ServiceSettings(service="things", uses_database=False, SANAD_ENV="test"),
        title="things",
        kafka=False,
        routers=[router],
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://things") as plain:
        assert lean.json() == (await plain.get("/openapi.json")).json()
    operations = {
        op["operationId"] for item in lean.json()["paths"].values() for op in item.values()
    }
    assert {"list_things", "get_thing", "put_thing"} <= operations
