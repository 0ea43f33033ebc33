"""Each service's OpenAPI document, made to say what the service really answers.

FastAPI documents the success answer and a 422 in its own shape. Every Sanad error is
``application/problem+json`` (``sanad.shared.problems``), so this adds, per operation:
- one shared ``Problem`` schema for every error answer, the 422 included;
- ``401``/``403`` and a ``bearerAuth`` security requirement where the operation
  authenticates its caller (a ``Depends(authenticate)`` anywhere in its dependencies), and
  ``503`` (the token keys could not be fetched);
- ``404`` where the path names a resource (path parameters) or the caller's own one;
- ``408``/``413``/``415`` where the operation takes a body (``RequestGuard``, ``media``);
- what a route declares with ``responses=problems(409, 412, …)``.
The gateway adds its own (429, 503, 504) when it merges the documents.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute, iter_route_contexts
from starlette.routing import BaseRoute

from sanad.shared.auth import authenticate
from sanad.shared.problems import PROBLEM_JSON

PROBLEM_REF = "#/components/schemas/Problem"
SECURITY_SCHEME = "bearerAuth"

PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "description": "RFC 9457 problem details. Members beyond these may be present "
    "(`max_bytes`, `service`, …).",
    "type": "object",
    "required": ["type", "title", "status"],
    "properties": {
        "type": {"type": "string", "description": "a URI naming the kind of problem"},
        "title": {"type": "string"},
        "status": {"type": "integer", "minimum": 400, "maximum": 599},
        "detail": {"type": "string"},
        "instance": {"type": "string", "description": "the request path"},
        "request_id": {"type": "string", "description": "the X-Request-ID of the request"},
        "errors": {
            "type": "array",
            "items": {"$ref": "#/components/schemas/FieldError"},
            "description": "one per offending field",
        },
    },
    "additionalProperties": True,
}
FIELD_ERROR_SCHEMA: dict[str, Any] = {
    "title": "FieldError",
    "type": "object",
    "required": ["field", "message", "code"],
    "properties": {
        "field": {"type": "string", "description": "dotted path, e.g. body.national_id"},
        "message": {"type": "string"},
        "code": {"type": "string"},
    },
}
RETRY_AFTER = {
    "Retry-After": {
        "description": "seconds to wait before trying again",
        "schema": {"type": "string"},
    }
}
ETAG_HEADER = {
    "ETag": {
        "description": "the resource's current version; send it back as `If-Match` to "
        "change the resource only if nobody changed it since",
        "required": True,
        "schema": {"type": "string"},
    }
}
DESCRIPTIONS = {
    400: "The body could not be read as its media type (not UTF-8 JSON, say).",
    401: "No valid access token (`WWW-Authenticate: Bearer`).",
    403: "The caller's role or identity may not do this.",
    404: "No such resource (or not the caller's).",
    408: "The body stopped arriving; the connection is closed.",
    409: "The resource's state does not allow this.",
    412: "`If-Match` does not match the resource's current `ETag`.",
    413: "The body is larger than the service accepts (`max_bytes`).",
    415: "The body's `Content-Type` is not one this operation reads.",
    422: "A field is invalid; `errors` names each one.",
    428: "`If-Match` is required.",
    429: "Too many requests; see `Retry-After`.",
    503: "A part this answer needs is unavailable; see `Retry-After` when given.",
    504: "The service did not answer in time.",
}


def problem_response(status: int, description: str | None = None) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": description or DESCRIPTIONS.get(status) or HTTPStatus(status).phrase,
        "content": {PROBLEM_JSON: {"schema": {"$ref": PROBLEM_REF}}},
    }
    if status in (429, 503):
        response["headers"] = dict(RETRY_AFTER)
    return response


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for a route: the problems it may answer beyond the generic ones."""
    return {status: problem_response(status) for status in statuses}


def etag_response(description: str = "Successful Response") -> dict[str, Any]:
    """A success answer that carries the resource's ``ETag``."""
    return {"description": description, "headers": dict(ETAG_HEADER)}


def _authenticates(dependant: Dependant) -> bool:
    if dependant.call is authenticate:
        return True
    return any(dep.call is authenticate or _authenticates(dep) for dep in dependant.dependencies)


def add_problem(operation: dict[str, Any], status: int) -> None:
    responses = operation.setdefault("responses", {})
    existing = responses.get(str(status))
    if existing is None:
        responses[str(status)] = problem_response(status)
    else:  # keep its description and headers, but say it is a problem
        existing["content"] = {PROBLEM_JSON: {"schema": {"$ref": PROBLEM_REF}}}


def install_components(document: dict[str, Any]) -> None:
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    schemas["Problem"] = PROBLEM_SCHEMA
    schemas["FieldError"] = FIELD_ERROR_SCHEMA
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)


def describe_operations(document: dict[str, Any], routes: Iterable[BaseRoute]) -> None:
    paths = document.get("paths", {})
    # Routers included in the application are reached through their route contexts
    # (prefixes and the application's dependencies applied).
    for route in iter_route_contexts(list(routes)):
        if not isinstance(route.original_route, APIRoute) or not route.include_in_schema:
            continue
        item = paths.get(route.path_format)
        if item is None:
            continue
        authenticated = _authenticates(route.dependant)
        for method in route.methods or ():
            operation = item.get(method.lower())
            if operation is None:
                continue
            statuses: set[int] = {
                int(code)
                for code in operation.get("responses", {})
                if code.isdigit() and int(code) >= 400
            }
            if route.dependant.path_params or authenticated:
                statuses.add(404)
            if route.body_field is not None:
                statuses |= {400, 408, 413, 415, 422}
            if authenticated:
                statuses |= {401, 403, 503}
                operation["security"] = [{SECURITY_SCHEME: []}]
            for status in sorted(statuses):
                add_problem(operation, status)
    components = document.setdefault("components", {})
    components.setdefault("securitySchemes", {})[SECURITY_SCHEME] = {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "An access token from `POST /v1/auth/login`.",
    }


def install_openapi(
    app: FastAPI, *, extra: Sequence[Callable[[dict[str, Any]], None]] = ()
) -> None:
    """Replace ``app.openapi`` with the document described above (built once)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(title=app.title, version=app.version, routes=app.routes)
            install_components(document)
            describe_operations(document, app.routes)
            for step in extra:
                step(document)
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
