"""A fake SMS provider: the notifications service talks to it as if it were the real one.

Run: ``python -m sanad.platform.sinks.sms_sink --host 127.0.0.1 --port 8025 [--api-key KEY]``

* ``POST /api/v1/messages`` - the provider API (Bearer API key), answers 202 with segment info.
  An ``Idempotency-Key`` header seen before (the last ``MAX_STORED`` keys are remembered)
  answers 202 with the original message's id and stores nothing new, as real providers do,
  so a client that retries after losing the answer does not send the SMS twice.
* ``GET /messages[?to=+9665...]`` / ``DELETE /messages`` - what was "sent", for tests and people;
  ``GET /stats`` - how many are stored and how many calls were idempotent replays.
* ``POST /control/failures`` ``{"status", "count", "to"?}`` / ``DELETE /control/failures`` - make
  the next calls (only those to ``to``, if given) fail, so tests can exercise retries (5xx) and
  permanent rejections (4xx) without disturbing other senders.
* ``POST /control/latency`` ``{"seconds", "count", "to"?}`` / ``DELETE /control/latency`` - the
  next accepted calls are stored at once but answered ``seconds`` late: the "provider took it,
  the answer was lost to a client timeout" case.

Its small HTTP helpers (problem+json, the SIGTERM-safe uvicorn runner) are reused by
``mail_catcher``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hmac
import json
import os
import re
import signal
import uuid
from collections import OrderedDict, deque
from collections.abc import Callable, Generator
from dataclasses import dataclass
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any, NamedTuple

import uvicorn
from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

SERVICE = "sms-sink"
DEFAULT_API_KEY = "sms-dev-key"
PROBLEM_JSON = "application/problem+json"
PROBLEM_BASE = "https://sanad.example/problems/"  # as in sanad.shared.problems
MAX_BODY_CHARS = 1600
MAX_REQUEST_BYTES = 64 * 1024
MAX_STORED = 10_000  # a long-running dev platform must not grow without bound
MAX_LATENCY = 30.0
IDEMPOTENCY_KEY = "Idempotency-Key"
# Printable ASCII without spaces, as the IETF Idempotency-Key draft and providers allow.
IDEMPOTENCY_KEY_VALUE = re.compile(r"[!-~]{1,255}")
# [0-9], not \d: \d would also accept Arabic-Indic digits, which no real provider takes.
E164 = re.compile(r"\+[1-9][0-9]{7,14}")
# Alphanumeric sender IDs are limited to 11 characters by the GSM spec; a number is E.164.
SENDER = re.compile(r"[A-Za-z0-9 ]{1,11}")

# --- segment counting (3GPP TS 23.038 / 23.040) -------------------------------------------

# The GSM 03.38 default alphabet (0x1B, the escape to the extension table, left out).
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# Extension-table characters cost two septets (escape + code).
GSM7_EXTENSION = frozenset("\f^{}\\[]~|€")


class Segments(NamedTuple):
    segments: int
    encoding: str  # "GSM-7" or "UCS-2"


def _pack(costs: list[int], single: int, per_part: int) -> int:
    """How many parts ``costs`` (units per character) need; a character is never split."""
    if sum(costs) <= single:
        return 1
    # Multipart: each part loses room to the concatenation header, and an escape pair
    # (GSM-7) or a surrogate pair (UCS-2) must stay in one part, so pack greedily.
    parts, used = 1, 0
    for cost in costs:
        if used + cost > per_part:
            parts, used = parts + 1, 0
        used += cost
    return parts


def count_segments(text: str) -> Segments:
    """Segments and encoding a real SMSC would use for ``text`` (an empty text is one PDU)."""
    if all(ch in GSM7_BASIC or ch in GSM7_EXTENSION for ch in text):
        costs = [2 if ch in GSM7_EXTENSION else 1 for ch in text]
        return Segments(_pack(costs, single=160, per_part=153), "GSM-7")
    # UCS-2 (really UTF-16 on the wire): characters beyond the BMP take two code units.
    costs = [2 if ord(ch) > 0xFFFF else 1 for ch in text]
    return Segments(_pack(costs, single=70, per_part=67), "UCS-2")


# --- HTTP app -----------------------------------------------------------------------------


def now_iso() -> str:
    return datetime.now(UTC).isoformat()


def received_since(since: datetime | None) -> Callable[[str], bool] | None:
    """Whether a ``received_at`` (``now_iso``) is at or after ``since`` (UTC if naive)."""
    if since is None:
        return None
    bound = since if since.tzinfo is not None else since.replace(tzinfo=UTC)
    return lambda received_at: datetime.fromisoformat(received_at) >= bound


def problem(
    status: int,
    title: str,
    detail: str,
    slug: str,
    *,
    errors: list[dict[str, str]] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    """An RFC 9457 problem document."""
    body: dict[str, Any] = {
        "type": PROBLEM_BASE + slug,
        "title": title,
        "status": status,
        "detail": detail,
    }
    if errors is not None:
        body["errors"] = errors
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def validate_message(payload: Any) -> tuple[dict[str, str], list[dict[str, str]]]:
    """The cleaned message fields, and every field error at once (not just the first)."""
    if not isinstance(payload, dict):
        return {}, [{"field": "(body)", "message": "must be a JSON object"}]
    errors: list[dict[str, str]] = []
    to, sender, body = payload.get("to"), payload.get("sender", "SANAD"), payload.get("body")
    if not isinstance(to, str) or not E164.fullmatch(to):
        errors.append({"field": "to", "message": "must be an E.164 number such as +9665XXXXXXXX"})
    if not isinstance(sender, str) or not (SENDER.fullmatch(sender) or E164.fullmatch(sender)):
        errors.append(
            {"field": "sender", "message": "must be 1-11 letters/digits or an E.164 number"}
        )
    if not isinstance(body, str) or not body.strip():
        errors.append({"field": "body", "message": "must be a non-empty string"})
    elif len(body) > MAX_BODY_CHARS:
        errors.append({"field": "body", "message": f"must be at most {MAX_BODY_CHARS} chars"})
    if errors:
        return {}, errors
    return {"to": str(to), "sender": str(sender), "body": str(body)}, []


def normalise_number(value: str) -> str:
    """An unencoded '+' in a query string arrives as a space; put it back."""
    stripped = value.lstrip(" ")
    if stripped != value and not stripped.startswith("+"):
        stripped = "+" + stripped
    return stripped.strip()


def int_in(value: Any, low: int, high: int) -> int | None:
    """``value`` if it is a JSON integer (not a bool) within [low, high]."""
    if isinstance(value, int) and not isinstance(value, bool) and low <= value <= high:
        return value
    return None


@dataclass
class Plan:
    """Something planned for the next ``remaining`` calls (only those to ``to``, if set)."""

    remaining: int = 0
    to: str | None = None

    def take(self, to: str | None) -> bool:
        """Whether this call is one of the planned ones (and use it up)."""
        if self.remaining <= 0 or (self.to is not None and self.to != to):
            return False
        self.remaining -= 1
        return True


@dataclass
class FailurePlan(Plan):
    status: int = 0


@dataclass
class LatencyPlan(Plan):
    seconds: float = 0.0


class Remembered:
    """Accepted messages by idempotency key, the oldest forgotten first (bounded memory)."""

    def __init__(self, capacity: int = MAX_STORED) -> None:
        self._capacity = capacity
        self._by_key: OrderedDict[str, dict[str, Any]] = OrderedDict()

    def get(self, key: str | None) -> dict[str, Any] | None:
        return None if key is None else self._by_key.get(key)

    def add(self, key: str | None, message: dict[str, Any]) -> None:
        if key is None:
            return
        self._by_key[key] = message
        while len(self._by_key) > self._capacity:
            self._by_key.popitem(last=False)

    def clear(self) -> None:
        self._by_key.clear()


async def read_json(request: Request) -> tuple[Any, JSONResponse | None]:
    raw = await request.body()
    if len(raw) > MAX_REQUEST_BYTES:
        return None, problem(413, "Request too large", "at most 64 KiB", "too-large")
    try:
        return json.loads(raw), None
    except (ValueError, RecursionError):  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        return None, problem(
            400,
            "Malformed request",
            "the body is not valid JSON",
            "validation-error",
            errors=[{"field": "(body)", "message": "must be valid JSON"}],
        )


def install_problem_handlers(app: FastAPI) -> None:
    """404/405 and unexpected errors answer problem+json too, never a traceback."""

    async def http_error(_request: Request, exc: Exception) -> Response:
        status = exc.status_code if isinstance(exc, StarletteHTTPException) else 500
        title = HTTPStatus(status).phrase if status in set(HTTPStatus) else "HTTP error"
        return problem(status, title, str(getattr(exc, "detail", "")), "http-error")

    async def unexpected(_request: Request, _exc: Exception) -> Response:
        return problem(500, "Internal error", "the sink failed unexpectedly", "internal")

    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(Exception, unexpected)


def accepted(message: dict[str, Any], *, replayed: bool = False) -> JSONResponse:
    return JSONResponse(
        {"id": message["id"], "segments": message["segments"], "encoding": message["encoding"]},
        status_code=202,
        headers={"Idempotent-Replayed": "true"} if replayed else None,
    )


def read_plan(
    payload: Any, field: str, low: float, high: float, *, integer: bool
) -> tuple[float | None, int | None, str | None, list[dict[str, str]]]:
    """``field`` (within [low, high]), ``count`` and ``to`` of a control request, or errors."""
    body = payload if isinstance(payload, dict) else {}
    raw = body.get(field)
    value: float | None
    if integer:
        value = int_in(raw, int(low), int(high))
    else:
        number = raw if isinstance(raw, int | float) and not isinstance(raw, bool) else None
        value = float(number) if number is not None and low <= number <= high else None
    count = int_in(body.get("count", 1), 1, 1000)
    to = body.get("to")
    errors = []
    if to is not None and not (isinstance(to, str) and E164.fullmatch(normalise_number(to))):
        errors.append({"field": "to", "message": "must be an E.164 number"})
    if value is None:
        kind = "an integer" if integer else "a number"
        errors.append({"field": field, "message": f"must be {kind} {low:g}-{high:g}"})
    if count is None:
        errors.append({"field": "count", "message": "must be an integer 1-1000"})
    return value, count, normalise_number(to) if isinstance(to, str) else None, errors


def create_app(api_key: str) -> FastAPI:
    app = FastAPI(title="Sanad SMS sink", docs_url=None, redoc_url=None, openapi_url=None)
    # Handlers are all async, so they run on the one event loop and need no lock.
    messages: deque[dict[str, Any]] = deque(maxlen=MAX_STORED)
    remembered = Remembered()
    failures = FailurePlan()
    latency = LatencyPlan()
    expected = api_key.encode()
    counters = {"replayed": 0}

    install_problem_handlers(app)

    @app.post("/api/v1/messages", status_code=202)
    async def send(request: Request) -> Response:
        payload, error = await read_json(request)
        wanted = payload.get("to") if isinstance(payload, dict) else None
        # A planned outage hits the call before auth, as a real one would.
        if failures.take(wanted if isinstance(wanted, str) else None):
            injected = failures.status
            retry = {"Retry-After": "1"} if injected in (429, 503) else None
            return problem(
                injected,
                "Injected failure",
                f"failure injected via /control/failures ({failures.remaining} left)",
                "injected-failure",
                headers=retry,
            )
        scheme, _, token = request.headers.get("authorization", "").strip().partition(" ")
        # compare_digest: no timing hint about the key; the scheme is case-insensitive.
        if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip().encode(), expected):
            return problem(
                401,
                "Unauthorized",
                "a valid 'Authorization: Bearer <api key>' is required",
                "unauthorized",
                headers={"WWW-Authenticate": "Bearer"},
            )
        if error is not None:
            return error
        fields, errors = validate_message(payload)
        key = request.headers.get(IDEMPOTENCY_KEY)
        if key is not None and not IDEMPOTENCY_KEY_VALUE.fullmatch(key):
            errors.append(
                {"field": IDEMPOTENCY_KEY, "message": "must be 1-255 printable ASCII characters"}
            )
        if errors:
            detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
            return problem(400, "Invalid message", detail, "validation-error", errors=errors)
        original = remembered.get(key)
        if original is not None:  # a retry of a message already taken: not sent again
            counters["replayed"] += 1
            return accepted(original, replayed=True)
        segments = count_segments(fields["body"])
        stored = {
            "id": str(uuid.uuid4()),
            **fields,
            "segments": segments.segments,
            "encoding": segments.encoding,
            "idempotency_key": key,
            "received_at": now_iso(),
        }
        messages.append(stored)
        remembered.add(key, stored)
        if latency.take(fields["to"]):
            await asyncio.sleep(latency.seconds)  # taken already; only the answer is late
        return accepted(stored)

    @app.get("/stats")
    async def stats() -> dict[str, int]:
        return {"stored": len(messages), "replayed": counters["replayed"]}

    @app.get("/messages")
    async def list_messages(
        to: str | None = None, since: datetime | None = None
    ) -> dict[str, list[dict[str, Any]]]:
        """Oldest first; ``to``: one number's; ``since``: received at or after."""
        wanted = normalise_number(to) if to else None
        after = received_since(since)
        return {
            "messages": [
                dict(m)
                for m in messages
                if (wanted is None or m["to"] == wanted)
                and (after is None or after(m["received_at"]))
            ]
        }

    @app.delete("/messages", status_code=204)
    async def clear_messages() -> Response:
        messages.clear()
        remembered.clear()
        return Response(status_code=204)

    @app.post("/control/failures")
    async def plan_failures(request: Request) -> Response:
        payload, error = await read_json(request)
        if error is not None:
            return error
        status, count, to, errors = read_plan(payload, "status", 400, 599, integer=True)
        if errors or status is None or count is None:
            return problem(
                400, "Invalid failure plan", "see errors", "validation-error", errors=errors
            )
        failures.status, failures.remaining, failures.to = int(status), count, to
        return JSONResponse(
            {"status": failures.status, "remaining": failures.remaining, "to": failures.to}
        )

    @app.get("/control/failures")
    async def show_failures() -> dict[str, int]:
        return {"status": failures.status, "remaining": failures.remaining}

    @app.delete("/control/failures", status_code=204)
    async def clear_failures() -> Response:
        failures.status, failures.remaining, failures.to = 0, 0, None
        return Response(status_code=204)

    @app.post("/control/latency")
    async def plan_latency(request: Request) -> Response:
        payload, error = await read_json(request)
        if error is not None:
            return error
        seconds, count, to, errors = read_plan(payload, "seconds", 0, MAX_LATENCY, integer=False)
        if errors or seconds is None or count is None:
            return problem(
                400, "Invalid latency plan", "see errors", "validation-error", errors=errors
            )
        latency.seconds, latency.remaining, latency.to = seconds, count, to
        return JSONResponse(
            {"seconds": latency.seconds, "remaining": latency.remaining, "to": latency.to}
        )

    @app.delete("/control/latency", status_code=204)
    async def clear_latency() -> Response:
        latency.seconds, latency.remaining, latency.to = 0.0, 0, None
        return Response(status_code=204)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app


# --- process ------------------------------------------------------------------------------


class QuietServer(uvicorn.Server):
    """uvicorn re-raises SIGTERM after its graceful shutdown, ending the process with -15.

    We stop it from the event loop's own signal handlers instead, so SIGTERM exits 0.
    """

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


def stop_on_signals(server: uvicorn.Server) -> None:
    def stop() -> None:
        # A second signal forces exit without waiting for open connections.
        server.force_exit = server.should_exit
        server.should_exit = True

    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop)


async def start_http(
    app: FastAPI, host: str, port: int
) -> tuple[uvicorn.Server, asyncio.Task[None], int]:
    """Start uvicorn on the running loop; return it, its task and the bound port."""
    config = uvicorn.Config(
        app, host=host, port=port, log_level="warning", access_log=False, lifespan="off"
    )
    server = QuietServer(config)
    stop_on_signals(server)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            await task  # re-raises why it could not start (uvicorn exits 1 on a taken port)
            raise SystemExit(1)
        await asyncio.sleep(0.02)
    bound = int(server.servers[0].sockets[0].getsockname()[1])
    return server, task, bound


def log_line(service: str, event: str, **fields: Any) -> None:
    """The single JSON line the platform's log shows on start."""
    line = {"timestamp": now_iso(), "level": "info", "service": service, "event": event}
    print(json.dumps({**line, **fields}), flush=True)


async def serve(host: str, port: int, api_key: str) -> None:
    _server, task, bound = await start_http(create_app(api_key), host, port)
    log_line(SERVICE, "sms_sink.started", host=host, port=bound, pid=os.getpid())
    await task


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8025)
    parser.add_argument(
        "--api-key", default=os.environ.get("SANAD_SMS_SINK_API_KEY") or DEFAULT_API_KEY
    )
    args = parser.parse_args(argv)
    asyncio.run(serve(args.host, args.port, args.api_key))


if __name__ == "__main__":
    main()
