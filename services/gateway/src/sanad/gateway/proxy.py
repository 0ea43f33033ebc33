"""The catch-all route: route, limit, authenticate, then forward to the owning service."""

from __future__ import annotations

import aiohttp
from fastapi import Request, Response
from fastapi.responses import StreamingResponse
from starlette.background import BackgroundTask
from starlette.routing import Route
from yarl import URL

from sanad.gateway import headers
from sanad.gateway.openapi_catalog import OpenApiCatalog
from sanad.gateway.ratelimit import RateLimiter
from sanad.gateway.routes import route
from sanad.gateway.settings import GatewaySettings
from sanad.gateway.upstream import Upstreams
from sanad.shared.auth import Principal, authenticate
from sanad.shared.logging import get_logger
from sanad.shared.problems import Problem

log = get_logger(__name__)
# Every method reaches the route, so an undocumented one (TRACE too) gets the right 405.
METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE"]
# Answers up to this size (declared by Content-Length) are relayed whole, larger ones streamed.
SMALL_BODY = 64 * 1024


def not_found() -> Problem:
    return Problem(404, "Not Found", "No service answers this path.", "not-found")


def too_large(limit: int) -> Problem:
    return Problem(
        413,
        "Content Too Large",
        f"The request body exceeds {limit} bytes.",
        "body-too-large",
        extra={"max_bytes": limit},
    )


def unavailable(service: str, *, timed_out: bool = False) -> Problem:
    if timed_out:
        return Problem(
            504,
            "Gateway Timeout",
            f"The {service} service did not answer in time.",
            "upstream-timeout",
            extra={"service": service},
        )
    return Problem(
        503,
        "Service Unavailable",
        f"The {service} service is unavailable.",
        "service-unavailable",
        headers={"Retry-After": "5"},
        extra={"service": service},
    )


async def read_body(request: Request, limit: int) -> bytes:
    """The whole body, refused (413) as soon as it is known to exceed ``limit``."""
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise Problem.invalid("header.content-length", "must be a number of bytes")
        if int(declared) > limit:
            raise too_large(limit)
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise too_large(limit)
    return bytes(body)


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def method_not_allowed(method: str, allowed: frozenset[str]) -> Problem:
    allow = ", ".join(sorted(allowed))
    return Problem(
        405,
        "Method Not Allowed",
        f"{method} is not allowed here; allowed: {allow}.",
        "method-not-allowed",
        headers={"Allow": allow},
    )


def proxy_route(
    settings: GatewaySettings, upstreams: Upstreams, limiter: RateLimiter, catalog: OpenApiCatalog
) -> Route:
    """The catch-all, as a plain Starlette route: FastAPI's per-request machinery (solving
    dependencies, validating and serializing) has nothing to do on a relayed request and was
    a tenth of the gateway's CPU."""

    async def forward(request: Request) -> Response:
        ip = client_ip(request)
        path = request.url.path
        # 405 (with what is allowed) before anything else: the gateway's own paths too.
        index = await catalog.operations(request.app.openapi)
        allowed = index.allowed(path)
        if allowed is not None and request.method not in allowed:
            # Still counted against the address, as every request is.
            await limiter.hit("ip", ip, settings.rate_limit_per_ip)
            raise method_not_allowed(request.method, allowed)
        matched = route(request.method, path)
        # The token is checked (offline; a known token from the cache) before counting, so
        # the address and the user are counted in one Redis round trip; a refusal keeps the
        # order it always had: the address's limit, 404, the token, then the user's limit.
        principal: Principal | None = None
        refused: Problem | None = None
        if matched is not None and not matched.public:
            try:
                principal = await authenticate(request)
            except Problem as exc:
                refused = exc
        hits = [("ip", ip, settings.rate_limit_per_ip)]
        if principal is not None:
            hits.append(("user", principal.subject, settings.rate_limit_per_user))
        await limiter.hit_all(hits)
        if matched is None:
            raise not_found()
        if refused is not None:
            raise refused
        body = await read_body(request, settings.max_body_bytes)

        # The path as the client encoded it, so the service decodes exactly what we routed.
        raw_path: bytes = request.scope.get("raw_path") or path.encode()
        target = upstreams.urls[matched.service] + raw_path.split(b"?")[0].decode("latin-1")
        if request.url.query:
            target += "?" + request.url.query
        outgoing = headers.upstream_request_headers(
            request.headers.items(),
            principal=principal,
            request_id=request.state.request_id,
            client_ip=ip,
            scheme=request.url.scheme,
        )
        try:
            answer = await upstreams.client.request(
                request.method,
                # Already encoded: sent exactly as the client wrote it, never re-quoted.
                URL(target, encoded=True),
                headers=outgoing,
                data=body or None,
                allow_redirects=False,
            )
        except TimeoutError as exc:
            # A pooled connection or a new one not had in time: the service is unavailable;
            # its answer not coming in time: it timed out.
            log.warning("upstream_timeout", service=matched.service, error_type=type(exc).__name__)
            timed_out = not isinstance(exc, aiohttp.ConnectionTimeoutError)
            raise unavailable(matched.service, timed_out=timed_out) from None
        except aiohttp.ClientError as exc:
            log.warning("upstream_down", service=matched.service, error_type=type(exc).__name__)
            raise unavailable(matched.service) from None
        # Raw pairs, not a dict: repeated headers (Set-Cookie) must all pass.
        raw_headers = [
            (name.encode("latin-1"), value.encode("latin-1"))
            for name, value in headers.downstream_response_headers(
                [(n.decode("latin-1"), v.decode("latin-1")) for n, v in answer.raw_headers],
                upstreams.urls[matched.service],
            )
        ]
        response: Response
        if answer.content_length is not None and answer.content_length <= SMALL_BODY:
            # A small answer of known size (most are) is read and sent whole: streaming it
            # would cost a task per response for nothing.
            try:
                # Raw, as the service sent it (any content-encoding kept, like the stream).
                content = await answer.read()
            except (aiohttp.ClientError, TimeoutError) as exc:
                log.warning("upstream_down", service=matched.service, error_type=type(exc).__name__)
                raise unavailable(matched.service) from None
            finally:
                answer.release()
            response = Response(content, status_code=answer.status)
        else:
            response = StreamingResponse(
                answer.content.iter_any(),
                status_code=answer.status,
                background=BackgroundTask(answer.release),
            )
        response.raw_headers = raw_headers
        return response

    return Route("/{path:path}", forward, methods=METHODS, include_in_schema=False)
