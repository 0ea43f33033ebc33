"""CORS for browser front ends, with a refused preflight answered as problem+json.

A web front end changes a profile with ``If-Match`` (the ``ETag`` it read), retries a
submit with ``Idempotency-Key``, follows ``Location`` and honours ``Retry-After``: those
request headers are allowed and those answer headers exposed to its scripts.
"""

from __future__ import annotations

from fastapi import FastAPI
from starlette.datastructures import Headers
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import JSONResponse, Response

from sanad.shared.problems import PROBLEM_BASE, PROBLEM_JSON

ALLOW_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]
ALLOW_HEADERS = [
    "Authorization",
    "Content-Type",
    "If-Match",
    "If-None-Match",
    "Idempotency-Key",
    "X-Request-ID",
    "Accept-Language",
]
EXPOSE_HEADERS = ["ETag", "Location", "Retry-After", "X-Request-ID", "Content-Disposition"]
MAX_AGE = 600


class ProblemCORSMiddleware(CORSMiddleware):
    """Starlette's CORS, except that a refused preflight answers 403 problem+json naming what
    was refused (origin, method or headers) instead of a 400 text body."""

    def preflight_response(self, request_headers: Headers) -> Response:
        response = super().preflight_response(request_headers)
        if response.status_code < 400:
            return response
        refused = bytes(response.body).decode().removeprefix("Disallowed CORS ")
        return JSONResponse(
            {
                "type": PROBLEM_BASE + "cors-refused",
                "title": "CORS preflight refused",
                "status": 403,
                "detail": f"This cross-origin request is not allowed: its {refused}.",
                "refused": [part.strip() for part in refused.split(",")],
            },
            status_code=403,
            media_type=PROBLEM_JSON,
            headers={"Vary": "Origin", "Cache-Control": "no-store"},
        )


def install_cors(app: FastAPI, origins: list[str]) -> None:
    app.add_middleware(
        ProblemCORSMiddleware,
        allow_origins=origins,
        allow_methods=ALLOW_METHODS,
        allow_headers=ALLOW_HEADERS,
        expose_headers=EXPOSE_HEADERS,
        max_age=MAX_AGE,
    )
