"""RFC 9457 ``application/problem+json`` errors for every FastAPI service.

Validation errors list each offending field (``errors[].field`` is a dotted path such as
``body.national_id``); a dependency that is away (Postgres, Redis, Kafka unreachable)
answers 503 with ``Retry-After``; other unexpected errors answer 500 without internals.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.routing import iter_route_contexts
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect
from starlette.routing import Match

from sanad.shared.logging import get_logger
from sanad.shared.outages import RAISED_BY_OUTAGES, dependency_down

PROBLEM_JSON = "application/problem+json"
PROBLEM_BASE = "https://sanad.example/problems/"
# Seconds a client waits before trying again when a dependency is away: a restart of
# Postgres or Kafka takes a few seconds.
OUTAGE_RETRY_AFTER = 5
log = get_logger(__name__)


@dataclass
class FieldError:
    field: str
    message: str
    code: str = "invalid"


@dataclass
class Problem(Exception):
    """A domain error a service raises; rendered as problem+json."""

    status: int
    title: str
    detail: str | None = None
    type: str | None = None
    errors: list[FieldError] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def invalid(cls, field_name: str, message: str, code: str = "invalid") -> Problem:
        return cls(
            status=422,
            title="Invalid request",
            detail=f"{field_name}: {message}",
            type="validation-error",
            errors=[FieldError(field_name, message, code)],
        )


class ProblemException(StarletteHTTPException):
    """A ``Problem`` raised where only an ``HTTPException`` passes through untouched: from
    inside a body read (FastAPI turns any other error there into a 400)."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.status, problem.detail, problem.headers or None)
        self.problem = problem


def allowed_methods(request: Request) -> list[str]:
    """Every method some route of this application accepts at the request's path.

    Starlette's own 405 names only the first route that matched the path, so a path served
    by two routes (``GET`` and ``PUT /{id}``) advertised half of its methods."""
    methods: set[str] = set()
    for route in iter_route_contexts(request.app.router.routes):
        match, _ = route.matches(request.scope)
        route_methods = getattr(route, "methods", None)
        if match is not Match.NONE and route_methods:
            methods |= set(route_methods)
    return sorted(methods)


def problem_response(
    request: Request,
    status: int,
    title: str,
    *,
    detail: str | None = None,
    type_: str | None = None,
    errors: list[FieldError] | None = None,
    headers: dict[str, str] | None = None,
    extra: dict[str, Any] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": PROBLEM_BASE + type_ if type_ else "about:blank",
        "title": title,
        "status": status,
        "instance": request.url.path,
    }
    if detail:
        body["detail"] = detail
    if errors:
        body["errors"] = [e.__dict__ for e in errors]
    request_id = getattr(request.state, "request_id", None)
    if request_id:
        body["request_id"] = request_id
    body.update(extra or {})
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _field_path(loc: tuple[Any, ...] | list[Any]) -> str:
    return ".".join(str(part) for part in loc)


def install_problem_handlers(app: FastAPI) -> None:
    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem) -> JSONResponse:
        return problem_response(
            request,
            exc.status,
            exc.title,
            detail=exc.detail,
            type_=exc.type,
            errors=exc.errors,
            headers=exc.headers,
            extra=exc.extra,
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            FieldError(
                _field_path(err.get("loc", ())),
                err.get("msg", "invalid"),
                err.get("type", "invalid"),
            )
            for err in exc.errors()
        ]
        return problem_response(
            request,
            422,
            "Invalid request",
            detail="; ".join(f"{e.field}: {e.message}" for e in errors),
            type_="validation-error",
            errors=errors,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if isinstance(exc, ProblemException):
            return await _problem(request, exc.problem)
        if exc.status_code == 405:
            allow = ", ".join(allowed_methods(request))
            return problem_response(
                request,
                405,
                "Method Not Allowed",
                detail=f"{request.method} is not allowed here; allowed: {allow}.",
                type_="method-not-allowed",
                headers={"Allow": allow},
            )
        title = HTTPStatus(exc.status_code).phrase
        detail = exc.detail if isinstance(exc.detail, str) and exc.detail != title else None
        return problem_response(
            request, exc.status_code, title, detail=detail, headers=getattr(exc, "headers", None)
        )

    @app.exception_handler(ClientDisconnect)
    async def _gone(request: Request, exc: ClientDisconnect) -> Response:
        # Logged (info) by RequestGuard when it happens; nobody is left to answer.
        return Response(status_code=400)

    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        dependency = dependency_down(exc)
        if dependency is not None:
            return dependency_unavailable(request, dependency, exc)
        log.exception("unhandled_error", path=request.url.path, error_type=type(exc).__name__)
        return problem_response(
            request, 500, "Internal Server Error", detail="An unexpected error occurred."
        )

    # Starlette gives ``Exception``'s handler to its outermost middleware, which answers and
    # then re-raises to the server: uvicorn logged a traceback for every request during an
    # outage and closed the keep-alive connection after each 503 (a client reusing one got no
    # answer, in the Postgres restart fault test). The classes outages are raised as are
    # handled inside instead, and answered there; anything else still reaches the catch-all.
    for raised in RAISED_BY_OUTAGES:
        app.add_exception_handler(raised, _unexpected)
    app.add_exception_handler(Exception, _unexpected)


def dependency_unavailable(request: Request, dependency: str, exc: BaseException) -> JSONResponse:
    """503: a dependency is away, the request changed nothing, try again shortly."""
    log.warning(
        "dependency_unavailable",
        dependency=dependency,
        path=request.url.path,
        error_type=type(exc).__name__,
    )
    return problem_response(
        request,
        503,
        "Service Unavailable",
        detail=f"A dependency ({dependency}) is unavailable; try again shortly.",
        type_="dependency-unavailable",
        headers={"Retry-After": str(OUTAGE_RETRY_AFTER)},
        extra={"dependency": dependency},
    )
