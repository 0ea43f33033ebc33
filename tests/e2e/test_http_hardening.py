"""The HTTP surface holds its own contract, on the running platform (issue 14, items 3–5):
browser CORS, 405 with the right ``Allow``, 415, the body limit on every service, read
deadlines on every server (slowloris, with real sockets), ``no-store`` on authenticated
answers, bidi/zero-width characters refused, a client leaving mid-upload logged as info."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest

from sanad.platform.layout import LOGS, SERVICES, SMS_SINK_PORT, port
from sanad.platform.services import platform_env
from sanad.platform.testing import Citizen, eventually, register_citizen

PORTS = {service.name: service.port for service in SERVICES}
GATEWAY = f"http://127.0.0.1:{PORTS['gateway']}"
SMS_SINK = f"http://127.0.0.1:{port(SMS_SINK_PORT)}"
PROBLEM = "application/problem+json"
ORIGIN = "http://localhost:3000"  # in the platform's default CORS origins
# The servers' defaults (ServiceSettings): the request head within 10 s, each piece of the
# body within 15 s. The bound allows for a loaded machine.
HEAD_TIMEOUT, BODY_TIMEOUT, SLACK = 10.0, 15.0, 10.0
# Registering a citizen runs identity's CLI (a cold interpreter): slow on a loaded machine.
pytestmark = pytest.mark.timeout(600)


@pytest.fixture(scope="module")
async def citizen() -> Citizen:
    return await register_citizen(GATEWAY, SMS_SINK, platform_env())


@pytest.fixture
async def api() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=GATEWAY, timeout=30) as client:
        yield client


# --- CORS --------------------------------------------------------------------------------


async def test_a_browser_may_send_if_match_and_read_the_etag(api: httpx.AsyncClient) -> None:
    preflight = await api.options(
        "/v1/profile/housing",
        headers={
            "Origin": ORIGIN,
            "Access-Control-Request-Method": "PUT",
            "Access-Control-Request-Headers": "authorization,content-type,if-match,idempotency-key",
        },
    )
    assert preflight.status_code == 200, preflight.text
    assert preflight.headers["access-control-allow-origin"] == ORIGIN
    allowed = preflight.headers["access-control-allow-headers"].lower()
    for header in ("authorization", "content-type", "if-match", "idempotency-key"):
        assert header in allowed
    simple = await api.get("/v1/programs", headers={"Origin": ORIGIN})
    exposed = {
        h.strip().lower() for h in simple.headers["access-control-expose-headers"].split(",")
    }
    assert {"etag", "location", "retry-after", "x-request-id"} <= exposed


@pytest.mark.parametrize(
    ("origin", "method", "headers", "refused"),
    [
        ("https://evil.test", "PUT", "if-match", "origin"),
        (ORIGIN, "TRACE", "", "method"),
        (ORIGIN, "PUT", "x-sanad-role", "headers"),
    ],
)
async def test_a_refused_preflight_answers_problem_json(
    api: httpx.AsyncClient, origin: str, method: str, headers: str, refused: str
) -> None:
    request_headers = {"Origin": origin, "Access-Control-Request-Method": method}
    if headers:
        request_headers["Access-Control-Request-Headers"] = headers
    answer = await api.options("/v1/profile", headers=request_headers)
    assert answer.status_code == 403
    assert answer.headers["content-type"] == PROBLEM
    assert "access-control-allow-origin" not in answer.headers
    assert refused in answer.json()["refused"]


# --- 405 and 415 -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("DELETE", "/v1/profile", "GET"),  # a protected path: 405 before any token check
        ("POST", "/v1/programs", "GET"),
        ("GET", "/v1/cards/verify", "POST"),  # its own path, not /v1/cards/{card_id}
        ("PATCH", "/v1/profile/housing", "PUT"),
        ("PUT", "/healthz", "GET"),  # the gateway's own
        ("TRACE", "/v1/auth/login", "POST"),
    ],
)
async def test_an_undeclared_method_answers_405_with_what_is_allowed(
    api: httpx.AsyncClient, method: str, path: str, allow: str
) -> None:
    answer = await api.request(method, path)
    assert answer.status_code == 405, answer.text
    assert answer.headers["allow"] == allow
    assert answer.headers["content-type"] == PROBLEM


async def test_a_service_reached_directly_names_every_method_of_a_path() -> None:
    dependent = f"/v1/profile/dependents/{uuid.uuid4()}"
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{PORTS['profile']}") as profile:
        answer = await profile.post(dependent, json={})
    assert answer.status_code == 405
    # Three routes serve that path (GET, PUT, DELETE): all are named, not the first only.
    assert answer.headers["allow"] == "DELETE, GET, PUT"


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "application/xml", None]
)
async def test_a_body_in_the_wrong_media_type_answers_415(
    api: httpx.AsyncClient, content_type: str | None
) -> None:
    body = json.dumps({"national_id": "1000000008", "password": "whatever-it-is"}).encode()
    headers = {"Content-Type": content_type} if content_type else {}
    answer = await api.post("/v1/auth/login", content=body, headers=headers)
    assert answer.status_code == 415, answer.text
    assert answer.headers["content-type"] == PROBLEM
    assert answer.headers["accept-post"] == "application/json"
    assert answer.json()["errors"][0]["field"] == "header.content-type"


# --- body limit, read deadlines ----------------------------------------------------------


async def _exchange(port_: int, head: bytes, *, body: bytes = b"", wait: float) -> bytes:
    """Send ``head`` (and ``body``), then read until the server closes or ``wait`` passes."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port_)
    try:
        writer.write(head + body)
        await writer.drain()
        received = b""
        async with asyncio.timeout(wait):
            while chunk := await reader.read(65536):
                received += chunk
        return received
    finally:
        writer.close()


@pytest.mark.parametrize("service", [s.name for s in SERVICES])
async def test_every_service_refuses_an_oversize_body_before_reading_it(service: str) -> None:
    # 1 MiB for most services, 10 MiB for applications and the gateway: 64 MiB is over all.
    declared = 64 * 1024 * 1024
    head = (
        f"POST /v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        f"Content-Length: {declared}\r\n\r\n"
    ).encode()
    started = time.monotonic()
    answer = await _exchange(PORTS[service], head, body=b"{" * 1024, wait=30)
    status, _, rest = answer.partition(b"\r\n")
    assert status.startswith(b"HTTP/1.1 413 "), answer[:300]
    assert b"content-type: application/problem+json" in rest.lower()
    assert json.loads(rest.split(b"\r\n\r\n", 1)[1])["type"].endswith("/body-too-large")
    # Answered without waiting for (or parsing) the 64 MiB that never came.
    assert time.monotonic() - started < 10


# A route of each server that reads a body (before any token check); audit reads none.
BODY_ROUTES = {
    "gateway": "POST /v1/auth/login",
    "identity": "POST /v1/auth/login",
    "profile": "POST /v1/profile/dependents",
    "applications": "POST /v1/applications",
    "eligibility": "POST /v1/eligibility/simulate",
    "notifications": "PUT /v1/notifications/preferences",
    "cards": "POST /v1/cards/verify",
    "audit": "POST /healthz",
    "portal": "POST /login",
}


async def _timed(port_: int, head: bytes, wait: float) -> tuple[float, bytes]:
    started = time.monotonic()
    received = await _exchange(port_, head, wait=wait)
    return time.monotonic() - started, received


async def test_a_slowloris_is_cut_on_every_server() -> None:
    """Real sockets to the gateway and each service, all at once: one sends half a request
    head and waits, one sends a whole head announcing a body and then nothing."""
    half_head = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: "

    def whole_head(route: str) -> bytes:
        return (
            f"{route} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            "Content-Length: 100\r\n\r\n{"
        ).encode()

    names = list(PORTS)
    heads = [_timed(PORTS[n], half_head, HEAD_TIMEOUT + SLACK) for n in names]
    bodies = [_timed(PORTS[n], whole_head(BODY_ROUTES[n]), BODY_TIMEOUT + SLACK) for n in names]
    results = await asyncio.gather(*heads, *bodies, return_exceptions=True)
    for name, result in zip([*names, *names], results, strict=True):
        assert not isinstance(result, BaseException), f"{name}: still open ({result!r})"
    for name, result in zip(names, results[: len(names)], strict=True):
        assert not isinstance(result, BaseException)
        elapsed, received = result
        assert received == b"", f"{name}: {received[:200]!r}"  # closed, nothing to answer
        assert elapsed >= HEAD_TIMEOUT - 1, f"{name} closed after {elapsed:.1f}s"
    for name, result in zip(names, results[len(names) :], strict=True):
        assert not isinstance(result, BaseException)
        elapsed, received = result
        if name == "audit":  # answered 405 unread; the idle connection is then closed
            assert received.startswith(b"HTTP/1.1 405 "), received[:200]
            continue
        if name == "portal":  # a form without its CSRF token: refused (403) unread
            assert received.startswith(b"HTTP/1.1 403 "), received[:200]
            continue
        assert received.startswith(b"HTTP/1.1 408 "), f"{name}: {received[:200]!r}"
        assert b"application/problem+json" in received
        assert elapsed >= BODY_TIMEOUT - 1, f"{name} answered after {elapsed:.1f}s"


async def test_a_client_leaving_mid_upload_is_an_info_line_not_an_error() -> None:
    request_id = f"leaves-{uuid.uuid4().hex[:12]}"
    head = (
        f"POST /v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        f"X-Request-ID: {request_id}\r\nContent-Length: 5000\r\n\r\n"
    ).encode()
    _reader, writer = await asyncio.open_connection("127.0.0.1", PORTS["gateway"])
    writer.write(head + b'{"national_id": "')
    await writer.drain()
    writer.close()  # gone, 4983 bytes short

    log = LOGS / "gateway.log"

    def lines() -> list[dict[str, object]]:
        found = []
        for line in log.read_text().splitlines():
            if request_id in line:
                found.append(json.loads(line))
        return found

    async def logged() -> list[dict[str, object]]:
        return await asyncio.to_thread(lines)

    found = await eventually(logged, what=f"a log line for {request_id}")
    assert [(r["event"], r["level"]) for r in found] == [("client_disconnected", "info")]
    assert not any("exception" in r or "traceback" in json.dumps(r).lower() for r in found)


# --- caching, text -----------------------------------------------------------------------


async def test_tokens_and_profiles_are_never_stored_by_caches(
    api: httpx.AsyncClient, citizen: Citizen
) -> None:
    login = await api.post(
        "/v1/auth/login", json={"national_id": citizen.national_id, "password": citizen.password}
    )
    assert login.status_code == 200
    assert login.headers["cache-control"] == "no-store"
    profile = await eventually(
        lambda: api.get("/v1/profile", headers=citizen.auth),
        until=lambda r: r.status_code == 200,
        what="the citizen's profile",
    )
    assert profile.headers["cache-control"] == "no-store"
    for path in ("/v1/applications", "/v1/notifications", "/v1/auth/me", "/v1/cards/me"):
        answer = await api.get(path, headers=citizen.auth)
        assert answer.headers["cache-control"] == "no-store", path
    refused = await api.get("/v1/profile")  # the gateway's own 401 too
    assert refused.headers["cache-control"] == "no-store"
    # The public catalog says how it may be cached, and keeps it.
    assert "max-age" in (await api.get("/v1/programs")).headers["cache-control"]


HOUSING = {
    "region": "eastern",
    "district": "Al Faisaliyah",
    "national_address": "DAMM4321",
    "housing_type": "owned",
}


@pytest.mark.parametrize(
    "city",
    [
        "ACME\u202egnp.exe",  # right-to-left override
        "Dam\u200bmam",  # zero-width space
        "\u2067Dammam\u2069",  # isolates
        "Dammam\u200c",  # a joiner at the end joins nothing
        "Dammam\U000e0041",  # a tag character
        "\ufeffDammam",  # BOM / zero-width no-break space
    ],
)
async def test_invisible_and_direction_changing_characters_are_refused(
    api: httpx.AsyncClient, citizen: Citizen, city: str
) -> None:
    answer = await api.put(
        "/v1/profile/housing",
        json=HOUSING | {"city": city},
        headers=citizen.auth | {"If-Match": '"0"'},
    )
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"] == PROBLEM
    assert [e["field"] for e in answer.json()["errors"]] == ["body.city"]


async def test_a_persian_name_with_zwnj_is_kept(api: httpx.AsyncClient, citizen: Citizen) -> None:
    read = await eventually(
        lambda: api.get("/v1/profile", headers=citizen.auth),
        until=lambda r: r.status_code == 200,
        what="the citizen's profile",
    )
    city = "خرم\u200cآباد"  # Khorramabad: ZWNJ keeps م from joining آ
    changed = await api.put(
        "/v1/profile/housing",
        json=HOUSING | {"city": city},
        headers=citizen.auth | {"If-Match": read.headers["etag"]},
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["sections"]["housing"]["city"] == city
    assert changed.headers["etag"] != read.headers["etag"]
