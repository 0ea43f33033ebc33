"""HTTP plumbing every service shares: request ids that become correlation ids, and the
bounds every request is held to (body size and read time) with answers nobody caches."""

from __future__ import annotations

import asyncio
import json
import re
import uuid

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sanad.shared.events import correlation_id_var
from sanad.shared.logging import get_logger
from sanad.shared.problems import PROBLEM_BASE, PROBLEM_JSON, Problem, ProblemException

log = get_logger(__name__)

REQUEST_ID_HEADER = "x-request-id"
_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


class RequestIdMiddleware:
    """Passes on a well-formed ``X-Request-ID`` or assigns one; binds it to logs and events."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = (
            dict(scope.get("headers") or []).get(REQUEST_ID_HEADER.encode(), b"").decode("latin-1")
        )
        request_id = incoming if _SAFE_REQUEST_ID.match(incoming) else str(uuid.uuid4())
        scope.setdefault("state", {})["request_id"] = request_id

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.append((REQUEST_ID_HEADER.encode(), request_id.encode()))
                message["headers"] = headers
            await send(message)

        token = correlation_id_var.set(request_id)
        try:
            with structlog.contextvars.bound_contextvars(correlation_id=request_id):
                await self.app(scope, receive, send_with_id)
        finally:
            correlation_id_var.reset(token)


def too_large(limit: int) -> Problem:
    return Problem(
        413,
        "Content Too Large",
        f"The request body exceeds {limit} bytes.",
        "body-too-large",
        extra={"max_bytes": limit},
    )


def body_timeout(seconds: float) -> Problem:
    return Problem(
        408,
        "Request Timeout",
        f"The request body stopped arriving (nothing for {seconds:g} s).",
        "body-timeout",
        headers={"Connection": "close"},
    )


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope.get("headers") or ():
        if key == name:
            return bytes(value)
    return None


def _problem_start_and_body(scope: Scope, problem: Problem) -> tuple[Message, Message]:
    """A problem answered by the guard itself, before the application saw the request."""
    body: dict[str, object] = {
        "type": PROBLEM_BASE + problem.type if problem.type else "about:blank",
        "title": problem.title,
        "status": problem.status,
        "instance": scope.get("path", ""),
    }
    if problem.detail:
        body["detail"] = problem.detail
    request_id = (scope.get("state") or {}).get("request_id")
    if request_id:
        body["request_id"] = request_id
    body.update(problem.extra)
    content = json.dumps(body).encode()
    headers = [
        (b"content-type", PROBLEM_JSON.encode()),
        (b"content-length", str(len(content)).encode()),
        # The unread body is still on the connection: it is not reused.
        (b"connection", b"close"),
        *((k.lower().encode(), v.encode()) for k, v in problem.headers.items()),
    ]
    start = {"type": "http.response.start", "status": problem.status, "headers": headers}
    return start, {"type": "http.response.body", "body": content}


class RequestGuard:
    """Pure ASGI, on every service (the gateway included):

    - a body declared larger than ``max_body_bytes`` (``Content-Length``) is answered 413
      problem+json at once, unread and unparsed; one that turns out larger while it is read
      (chunked) fails the read with the same 413;
    - while a body is being read, each piece must come within ``body_read_timeout`` seconds,
      or the read fails with 408 and the connection is closed (a slowloris that sends
      headers, then nothing);
    - a client that goes away mid-body is one ``info`` line, not an error;
    - every answer that does not say how it may be cached gets ``Cache-Control: no-store``
      (tokens, profiles, anything behind ``Authorization``).

    The request line and headers have their own deadline in the server
    (``sanad.shared.server``)."""

    def __init__(self, app: ASGIApp, *, max_body_bytes: int, body_read_timeout: float) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.body_read_timeout = body_read_timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _header(scope, b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_body_bytes:
            start, body = _problem_start_and_body(scope, too_large(self.max_body_bytes))
            await send(_no_store(start))
            await send(body)
            return

        limit, timeout = self.max_body_bytes, self.body_read_timeout
        received = 0
        body_done = False

        async def guarded_receive() -> Message:
            nonlocal received, body_done
            if body_done:
                # After the body, the server only reports a disconnect: no deadline.
                return await receive()
            try:
                async with asyncio.timeout(timeout):
                    message = await receive()
            except TimeoutError:
                log.info("request_body_timeout", path=scope.get("path"), received=received)
                raise ProblemException(body_timeout(timeout)) from None
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise ProblemException(too_large(limit))
                body_done = not message.get("more_body", False)
            elif message["type"] == "http.disconnect":
                body_done = True
                log.info("client_disconnected", path=scope.get("path"), received=received)
            return message

        async def send_no_store(message: Message) -> None:
            await send(_no_store(message))

        await self.app(scope, guarded_receive, send_no_store)


def _no_store(message: Message) -> Message:
    if message["type"] == "http.response.start":
        headers = message.get("headers") or []
        if not any(name.lower() == b"cache-control" for name, _ in headers):
            message["headers"] = [*headers, (b"cache-control", b"no-store")]
    return message
