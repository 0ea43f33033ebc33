"""Forwarding through the gateway to real HTTP services: identity, request ids, errors."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator

import httpx
import jwt

from sanad.shared.auth import Role, TokenSigner, generate_signing_key

from .conftest import Caller, Echo, GatewayFactory

PROBLEM = "application/problem+json"


def assert_problem(response: httpx.Response, status: int) -> dict[str, object]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body: dict[str, object] = response.json()
    assert body["status"] == status
    return body


async def test_an_authenticated_call_reaches_its_service_with_the_verified_identity(
    gateway: httpx.AsyncClient, caller: Caller, echo: Echo
) -> None:
    subject = f"citizen-{uuid.uuid4()}"
    token = caller.token(Role.CITIZEN, subject)
    response = await gateway.post(
        "/v1/profile/me/dependents?lang=ar&x=1",
        headers={
            "Authorization": f"Bearer {token}",
            "X-Sanad-Role": "admin",  # a client trying to promote itself
            "X-Sanad-Subject": "someone-else",
            "Content-Type": "application/json",
        },
        content=b'{"name": "x"}',
    )
    assert response.status_code == 200, response.text
    seen = response.json()
    assert (seen["method"], seen["path"], seen["query"]) == (
        "POST",
        "/v1/profile/me/dependents",
        "lang=ar&x=1",
    )
    sanad_headers = [[k, v] for k, v in seen["header_list"] if k.startswith("x-sanad-")]
    assert sorted(sanad_headers) == [["x-sanad-role", "citizen"], ["x-sanad-subject", subject]]
    assert seen["headers"]["authorization"] == f"Bearer {token}"
    assert seen["body_length"] == len(b'{"name": "x"}')
    assert seen["headers"]["x-forwarded-for"].startswith("127.")


async def test_the_request_id_is_passed_on_downstream_and_back(
    gateway: httpx.AsyncClient, caller: Caller, echo: Echo
) -> None:
    request_id = f"req-{uuid.uuid4()}"
    response = await gateway.get(
        "/v1/cards/mine", headers={**caller.auth(), "X-Request-ID": request_id}
    )
    assert response.status_code == 200
    assert response.headers.get_list("x-request-id") == [request_id]
    assert len(echo.by_request_id(request_id)) == 1

    assigned = await gateway.get("/v1/cards/mine", headers=caller.auth())
    new_id = assigned.headers["x-request-id"]
    assert new_id and assigned.json()["headers"]["x-request-id"] == new_id


async def test_public_routes_need_no_token_and_carry_no_identity(
    gateway_factory: GatewayFactory, echo: Echo
) -> None:
    spoof = {"X-Sanad-Role": "admin", "X-Sanad-Subject": "x"}
    async with gateway_factory(identity_url=echo.url) as gateway:
        answers = [
            await gateway.get("/v1/programs/dss", headers=spoof),
            await gateway.get("/.well-known/jwks.json", headers=spoof),
            await gateway.post("/v1/auth/login", headers=spoof, json={"national_id": "1"}),
            await gateway.post("/v1/auth/register/verify", headers=spoof, json={}),
        ]
    for answer in answers:
        assert answer.status_code == 200, answer.text
        assert not [k for k in answer.json()["headers"] if k.startswith("x-sanad-")]
    assert [a.json()["path"] for a in answers] == [
        "/v1/programs/dss",
        "/.well-known/jwks.json",
        "/v1/auth/login",
        "/v1/auth/register/verify",
    ]


async def test_the_downstream_status_headers_and_body_come_back_unchanged(
    gateway: httpx.AsyncClient, caller: Caller
) -> None:
    response = await gateway.get("/v1/cards/status/418", headers=caller.auth())
    assert response.status_code == 418
    assert response.content == b"teapot"
    assert response.headers["content-type"].startswith("text/plain")
    assert response.headers.get_list("set-cookie") == ["a=1", "b=2"]
    assert len(response.headers.get_list("x-request-id")) == 1


async def test_only_the_callers_own_headers_go_downstream(
    gateway: httpx.AsyncClient, caller: Caller
) -> None:
    """A body sent without a Content-Type reaches the service without one (not a default
    the gateway's client would add), and repeated headers all pass, in order."""
    response = await gateway.post(
        "/v1/profile/me/notes",
        headers=[*caller.auth().items(), ("X-Note", "1"), ("X-Note", "2")],
        content=b"plain bytes",
    )
    assert response.status_code == 200, response.text
    seen = response.json()
    names = [name for name, _ in seen["header_list"]]
    assert "content-type" not in names
    assert [v for k, v in seen["header_list"] if k == "x-note"] == ["1", "2"]
    assert seen["body_length"] == len(b"plain bytes")


async def test_a_cookie_set_for_one_caller_never_goes_on_with_another_callers_request(
    gateway: httpx.AsyncClient, caller: Caller
) -> None:
    """One connection pool serves every caller: it keeps no cookies."""
    first = await gateway.get("/v1/cards/status/200", headers=caller.auth())
    assert first.headers.get_list("set-cookie") == ["a=1", "b=2"]
    gateway.cookies.clear()  # the test's own client would send them back itself
    later = await gateway.get("/v1/profile/echo", headers=caller.auth())
    assert later.status_code == 200, later.text
    assert "cookie" not in later.json()["headers"]


async def test_a_missing_or_forged_token_is_refused_before_anything_is_forwarded(
    gateway: httpx.AsyncClient, caller: Caller, echo: Echo
) -> None:
    stranger = TokenSigner(generate_signing_key())
    wrong_key, _, _ = stranger.issue("c-1", Role.CITIZEN, 300)
    now = int(time.time())
    alg_none = jwt.encode(
        {
            "sub": "c-1",
            "role": "admin",
            "jti": "j",
            "iat": now,
            "exp": now + 300,
            "iss": "sanad-identity",
            "aud": "sanad",
        },
        "",
        algorithm="none",
        headers={"kid": caller.signer.kid},
    )
    expired, _, _ = caller.signer.issue("c-1", Role.CITIZEN, -60)
    cases = {
        "missing": {},
        "not bearer": {"Authorization": "Basic dXNlcjpwYXNz"},
        "malformed": {"Authorization": "Bearer not-a-jwt"},
        "wrong key": {"Authorization": f"Bearer {wrong_key}"},
        "alg none": {"Authorization": f"Bearer {alg_none}"},
        "expired": {"Authorization": f"Bearer {expired}"},
    }
    for case, auth in cases.items():
        request_id = f"forged-{uuid.uuid4()}"
        response = await gateway.get("/v1/profile/me", headers={**auth, "X-Request-ID": request_id})
        body = assert_problem(response, 401)
        assert body["type"] == "https://sanad.example/problems/unauthorized", case
        assert response.headers["www-authenticate"].startswith("Bearer"), case
        assert echo.by_request_id(request_id) == [], f"{case} was forwarded"
    expired_body = (
        await gateway.get("/v1/profile/me", headers={"Authorization": f"Bearer {expired}"})
    ).json()
    assert "expired" in str(expired_body["detail"])


async def test_an_unknown_path_is_a_404_problem(gateway: httpx.AsyncClient, caller: Caller) -> None:
    for path in (
        "/v1/nothing-here",
        "/v2/auth/login",
        "/v1/programs/%2e%2e/profile/me",
        "/v1/programs//x",
    ):
        body = assert_problem(await gateway.get(path, headers=caller.auth()), 404)
        assert body["type"] == "https://sanad.example/problems/not-found"


async def test_a_service_that_is_down_answers_503_naming_it_quickly(
    gateway_factory: GatewayFactory, caller: Caller, closed_url: str
) -> None:
    async with gateway_factory(profile_url=closed_url) as gateway:
        started = time.monotonic()
        response = await gateway.get("/v1/profile/me", headers=caller.auth())
        elapsed = time.monotonic() - started
    body = assert_problem(response, 503)
    assert body["service"] == "profile"
    assert "profile" in str(body["detail"])
    assert response.headers["retry-after"]
    assert elapsed < 3.0


async def test_a_body_over_the_limit_is_refused_with_413(
    gateway_factory: GatewayFactory, caller: Caller, echo: Echo
) -> None:
    async with gateway_factory(max_body_bytes=100) as gateway:
        at_limit = await gateway.post("/v1/profile/me", headers=caller.auth(), content=b"x" * 100)
        assert at_limit.status_code == 200
        assert at_limit.json()["body_length"] == 100

        request_id = f"big-{uuid.uuid4()}"
        declared = await gateway.post(
            "/v1/profile/me",
            headers={**caller.auth(), "X-Request-ID": request_id},
            content=b"x" * 101,
        )
        body = assert_problem(declared, 413)
        assert body["max_bytes"] == 100

        async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted as read
            for _ in range(5):
                yield b"y" * 30

        streamed = await gateway.post(
            "/v1/profile/me",
            headers={**caller.auth(), "X-Request-ID": request_id},
            content=chunks(),
        )
        assert_problem(streamed, 413)
        assert echo.by_request_id(request_id) == []
