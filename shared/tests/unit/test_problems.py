from __future__ import annotations

import asyncpg
import httpx
import pytest
from aiokafka.errors import KafkaConnectionError
from fastapi import FastAPI
from pydantic import BaseModel, Field
from redis.exceptions import ConnectionError as RedisConnectionError
from sqlalchemy.exc import DBAPIError, OperationalError

from sanad.shared.http import RequestIdMiddleware
from sanad.shared.problems import Problem, install_problem_handlers


class Body(BaseModel):
    national_id: str = Field(pattern=r"^\d{10}$")
    age: int = Field(ge=0)


def app() -> FastAPI:
    application = FastAPI()
    application.add_middleware(RequestIdMiddleware)
    install_problem_handlers(application)

    @application.post("/things")
    async def create(body: Body) -> dict[str, str]:
        if body.national_id == "0000000000":
            raise Problem.invalid("body.national_id", "is not registered", code="unknown")
        return {"ok": "yes"}

    @application.get("/boom")
    async def boom() -> None:
        raise RuntimeError("database password is hunter2")

    @application.get("/outage/{which}")
    async def outage(which: str) -> None:
        raise OUTAGES[which]

    return application


def _wrapped(orig: BaseException) -> DBAPIError:
    """What SQLAlchemy raises around asyncpg's error when a connection cannot be made."""
    return OperationalError("SELECT 1", {}, orig)


OUTAGES: dict[str, BaseException] = {
    "refused": _wrapped(ConnectionRefusedError(111, "Connect call failed ('127.0.0.1', 5432)")),
    "starting": _wrapped(asyncpg.CannotConnectNowError("the database system is starting up")),
    "shutting-down": _wrapped(asyncpg.AdminShutdownError("terminating connection")),
    "redis": RedisConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused."),
    "kafka": KafkaConnectionError("Unable to bootstrap from [('127.0.0.1', 9092)]"),
    "in-a-group": ExceptionGroup("task group", [RuntimeError("x"), ConnectionResetError()]),
}


async def call(
    method: str, path: str, *, handed_to_server: bool = False, **kwargs: object
) -> httpx.Response:
    """The app's answer; an exception handed on to the server (which then logs a traceback
    and closes the connection) raises here unless ``handed_to_server``."""
    transport = httpx.ASGITransport(app=app(), raise_app_exceptions=not handed_to_server)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        return await client.request(method, path, **kwargs)  # type: ignore[arg-type]


async def test_validation_errors_name_every_field() -> None:
    response = await call(
        "POST", "/things", json={"national_id": "12", "age": -1}, headers={"X-Request-ID": "req-1"}
    )
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert {e["field"] for e in body["errors"]} == {"body.national_id", "body.age"}
    assert body["status"] == 422 and body["request_id"] == "req-1"
    assert response.headers["x-request-id"] == "req-1"


async def test_domain_problem_and_unexpected_error() -> None:
    response = await call("POST", "/things", json={"national_id": "0000000000", "age": 3})
    assert response.status_code == 422
    assert response.json()["errors"] == [
        {"field": "body.national_id", "message": "is not registered", "code": "unknown"}
    ]
    # A bug is answered, then handed on to the server too (uvicorn logs its traceback).
    crash = await call("GET", "/boom", handed_to_server=True)
    assert crash.status_code == 500
    assert "hunter2" not in crash.text
    assert crash.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize(
    ("which", "dependency"),
    [
        ("refused", "database"),
        ("starting", "database"),
        ("shutting-down", "database"),
        ("redis", "redis"),
        ("kafka", "kafka"),
        ("in-a-group", "database"),
    ],
)
async def test_a_dependency_outage_answers_503_with_retry_after_not_500(
    which: str, dependency: str
) -> None:
    # Answered, and not handed on to the server: no traceback per request in an outage, and
    # the keep-alive connection stays open for the client's retry.
    response = await call("GET", f"/outage/{which}", headers={"X-Request-ID": "req-9"})
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert int(response.headers["retry-after"]) > 0
    body = response.json()
    assert body["type"].endswith("/dependency-unavailable")
    assert (body["status"], body["dependency"], body["request_id"]) == (503, dependency, "req-9")
    assert "5432" not in response.text and "127.0.0.1" not in response.text  # no internals
