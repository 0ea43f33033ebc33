"""A gateway app in-process (its real lifespan, real Redis) in front of real HTTP servers:
the platform's running services, a small echo service started here, and a closed port."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI, Request, Response
from pydantic import BaseModel

from sanad.gateway.main import create_app
from sanad.gateway.settings import GatewaySettings
from sanad.platform.testing import Infra, eventually
from sanad.shared.auth import JwksVerifier, Role, TokenSigner, generate_signing_key


class Item(BaseModel):
    """Two echo routes use a schema of this one name, as two real services would."""

    name: str


@dataclass
class Echo:
    url: str
    seen: list[dict[str, Any]] = field(default_factory=list)

    def by_request_id(self, request_id: str) -> list[dict[str, Any]]:
        return [r for r in self.seen if r["headers"].get("x-request-id") == request_id]


def echo_app(echo: Echo) -> FastAPI:
    app = FastAPI(title="echo")

    @app.get("/readyz")
    async def readyz() -> dict[str, str]:
        return {"status": "ready"}

    @app.post("/v1/profile/items", operation_id="create_item", tags=["items"])
    async def create_item(item: Item) -> Item:
        return item

    @app.get("/v1/cards/items/{name}", operation_id="get_item")
    async def get_item(name: str) -> Item:
        return Item(name=name)

    @app.get("/v1/cards/status/{code}", include_in_schema=False)
    async def status(code: int) -> Response:
        response = Response(b"teapot", status_code=code, media_type="text/plain")
        response.headers.append("set-cookie", "a=1")
        response.headers.append("set-cookie", "b=2")
        return response

    @app.api_route(
        "/{path:path}",
        methods=["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"],
        include_in_schema=False,
    )
    async def anything(request: Request) -> dict[str, Any]:
        body = await request.body()
        seen = {
            "method": request.method,
            "path": request.url.path,
            "query": request.url.query,
            "headers": dict(request.headers),
            "header_list": [[k, v] for k, v in request.headers.items()],
            "body_length": len(body),
        }
        echo.seen.append(seen)
        return seen

    return app


def free_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@pytest.fixture(scope="session")
async def echo() -> AsyncIterator[Echo]:
    sock = free_socket()
    echo = Echo(url=f"http://127.0.0.1:{sock.getsockname()[1]}")
    server = uvicorn.Server(
        uvicorn.Config(echo_app(echo), log_config=None, access_log=False, lifespan="off")
    )
    task = asyncio.create_task(server.serve(sockets=[sock]))

    async def started() -> bool:
        return bool(server.started)

    await eventually(started, timeout=10, interval=0.02, what="echo server started")
    yield echo
    server.should_exit = True
    await task
    sock.close()


@pytest.fixture(scope="session")
def closed_url() -> str:
    """A loopback port nothing listens on: connecting is refused at once."""
    sock = free_socket()
    port = sock.getsockname()[1]
    sock.close()
    return f"http://127.0.0.1:{port}"


@pytest.fixture(scope="session")
def signer() -> TokenSigner:
    return TokenSigner(generate_signing_key())


@dataclass
class Caller:
    signer: TokenSigner

    def token(self, role: Role = Role.CITIZEN, subject: str | None = None) -> str:
        token, _, _ = self.signer.issue(subject or f"citizen-{uuid.uuid4()}", role, 300)
        return token

    def auth(self, role: Role = Role.CITIZEN, subject: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(role, subject)}"}


@pytest.fixture(scope="session")
def caller(signer: TokenSigner) -> Caller:
    return Caller(signer)


def unique_ip() -> str:
    """A client address of its own per test, so rate-limit counters never meet."""
    n = uuid.uuid4().int
    return f"127.{n % 250 + 1}.{(n >> 8) % 250 + 1}.{(n >> 16) % 250 + 1}"


GatewayFactory = Callable[..., AbstractAsyncContextManager[httpx.AsyncClient]]


@pytest.fixture(scope="session")
def gateway_factory(infra: Infra, signer: TokenSigner, echo: Echo) -> GatewayFactory:
    """``async with make(**settings) as client``: a gateway whose profile, applications and
    cards are the echo service, identity and the rest the running platform's services."""

    @contextlib.asynccontextmanager
    async def make(
        *, client_ip: str | None = None, **overrides: Any
    ) -> AsyncIterator[httpx.AsyncClient]:
        values: dict[str, Any] = {
            "redis_url": infra.redis_url,
            "kafka_bootstrap_servers": infra.kafka_bootstrap,
            "profile_url": echo.url,
            "applications_url": echo.url,
            "cards_url": echo.url,
            **overrides,
        }
        app = create_app(GatewaySettings(**values))
        app.state.runtime.verifier = JwksVerifier(jwks=signer.jwks())
        transport = httpx.ASGITransport(app=app, client=(client_ip or unique_ip(), 40000))
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as client,
        ):
            yield client

    return make


@pytest.fixture(scope="session")
async def gateway(gateway_factory: GatewayFactory) -> AsyncIterator[httpx.AsyncClient]:
    async with gateway_factory() as client:
        yield client
