from __future__ import annotations

import httpx
from fastapi import FastAPI
from pydantic import BaseModel, Field

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

    return application


async def call(method: str, path: str, **kwargs: object) -> httpx.Response:
    transport = httpx.ASGITransport(app=app(), raise_app_exceptions=False)
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
    crash = await call("GET", "/boom")
    assert crash.status_code == 500
    assert "hunter2" not in crash.text
    assert crash.headers["content-type"] == "application/problem+json"
