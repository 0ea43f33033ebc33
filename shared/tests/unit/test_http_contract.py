"""What create_service_app gives every service's HTTP surface, in process: the body limit
before parsing, the body-read deadline, 415, 405 naming every method, ``no-store``, and an
OpenAPI document with every error answer as problem+json."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Annotated, Any

import httpx
import pytest
from fastapi import APIRouter, Depends, File, Form, Response, UploadFile
from pydantic import BaseModel
from starlette.types import Message

from sanad.shared.app import create_service_app
from sanad.shared.auth import Principal, authenticate
from sanad.shared.openapi import etag_response, problems
from sanad.shared.settings import ServiceSettings

PROBLEM = "application/problem+json"
LIMIT = 100
parsed: list[str] = []


class Thing(BaseModel):
    name: str


router = APIRouter(prefix="/v1/things")


@router.get("/{thing_id}", responses={200: etag_response()})
async def get_thing(thing_id: int, principal: Annotated[Principal, Depends(authenticate)]) -> Thing:
    return Thing(name=str(thing_id))


@router.put("/{thing_id}", responses=problems(409, 412))
async def put_thing(thing_id: int, body: Thing) -> Thing:
    parsed.append(body.name)
    return body


@router.delete("/{thing_id}", status_code=204)
async def delete_thing(thing_id: int) -> Response:
    return Response(status_code=204)


@router.post("/{thing_id}/files")
async def upload(
    thing_id: int, kind: Annotated[str, Form()], file: Annotated[UploadFile, File()]
) -> dict[str, int]:
    return {"size": len(await file.read())}


@router.get("", include_in_schema=False)
async def cached() -> Response:
    return Response(b"{}", media_type="application/json", headers={"Cache-Control": "max-age=60"})


def app_with(**overrides: Any) -> Any:
    settings = ServiceSettings(
        service="things",
        uses_database=False,
        SANAD_ENV="test",
        max_body_bytes=LIMIT,
        **overrides,
    )
    return create_service_app(settings, title="things", kafka=False, routers=[router])


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app_with())
    async with httpx.AsyncClient(transport=transport, base_url="http://things") as http:
        yield http


async def test_a_declared_oversize_body_is_refused_before_it_is_parsed(
    client: httpx.AsyncClient,
) -> None:
    parsed.clear()
    body = b'{"name": "' + b"x" * LIMIT + b'"}'
    answer = await client.put(
        "/v1/things/1", content=body, headers={"Content-Type": "application/json"}
    )
    assert answer.status_code == 413
    assert answer.headers["content-type"] == PROBLEM
    assert answer.json()["max_bytes"] == LIMIT
    assert answer.headers["connection"] == "close"
    assert parsed == []


async def test_a_streamed_oversize_body_is_refused_too(client: httpx.AsyncClient) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"name": "'
        for _ in range(10):
            yield b"x" * 40

    parsed.clear()
    answer = await client.put(
        "/v1/things/1", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert answer.status_code == 413
    assert answer.json()["type"].endswith("/body-too-large")
    assert parsed == []


async def test_a_body_that_stops_arriving_answers_408() -> None:
    app = app_with(body_read_timeout=0.2)
    sent: list[Message] = []
    arrived = asyncio.Event()

    async def receive() -> Message:
        if not arrived.is_set():
            arrived.set()
            return {"type": "http.request", "body": b'{"na', "more_body": True}
        await asyncio.Event().wait()  # the client sends nothing more
        raise AssertionError

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "PUT",
        "scheme": "http", "path": "/v1/things/1", "raw_path": b"/v1/things/1", "query_string": b"",
        "root_path": "", "client": ("127.0.0.1", 1), "server": ("things", 80),
        "headers": [(b"content-type", b"application/json"), (b"content-length", b"20")],
    }  # fmt: skip
    await asyncio.wait_for(app(scope, receive, send), 5)
    assert sent[0]["status"] == 408
    assert (b"connection", b"close") in sent[0]["headers"]


@pytest.mark.parametrize("content_type", ["text/plain", "application/xml", None])
async def test_a_body_in_a_media_type_the_route_does_not_read_answers_415(
    client: httpx.AsyncClient, content_type: str | None
) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    answer = await client.put("/v1/things/1", content=b'{"name": "a"}', headers=headers)
    assert answer.status_code == 415
    assert answer.headers["content-type"] == PROBLEM
    assert answer.json()["errors"][0]["field"] == "header.content-type"


async def test_json_sent_to_an_upload_answers_415_naming_the_form_types(
    client: httpx.AsyncClient,
) -> None:
    answer = await client.post("/v1/things/1/files", json={"kind": "x"})
    assert answer.status_code == 415
    assert answer.headers["accept-post"] == "multipart/form-data, application/x-www-form-urlencoded"


async def test_405_names_every_method_of_the_path(client: httpx.AsyncClient) -> None:
    answer = await client.post("/v1/things/1")
    assert answer.status_code == 405
    assert answer.headers["allow"] == "DELETE, GET, PUT"
    assert answer.headers["content-type"] == PROBLEM


async def test_answers_are_not_stored_unless_they_say_so(client: httpx.AsyncClient) -> None:
    assert (await client.get("/v1/things/1")).headers["cache-control"] == "no-store"  # a 401
    assert (await client.put("/v1/things/1", json={"name": "a"})).headers[
        "cache-control"
    ] == "no-store"
    assert (await client.get("/v1/things")).headers["cache-control"] == "max-age=60"


async def test_the_openapi_document_lists_every_error_as_a_problem(
    client: httpx.AsyncClient,
) -> None:
    doc = (await client.get("/openapi.json")).json()
    assert "HTTPValidationError" not in doc["components"]["schemas"]
    assert doc["components"]["schemas"]["Problem"]["required"] == ["type", "title", "status"]
    get = doc["paths"]["/v1/things/{thing_id}"]["get"]
    assert get["security"] == [{"bearerAuth": []}]
    assert {"401", "403", "404", "422", "503"} <= set(get["responses"])
    assert get["responses"]["200"]["headers"]["ETag"]["required"] is True
    put = doc["paths"]["/v1/things/{thing_id}"]["put"]
    assert "security" not in put
    assert {"400", "404", "408", "409", "412", "413", "415", "422"} <= set(put["responses"])
    for operation in (get, put):
        for status, response in operation["responses"].items():
            if int(status) >= 400:
                assert response["content"] == {
                    PROBLEM: {"schema": {"$ref": "#/components/schemas/Problem"}}
                }, status
