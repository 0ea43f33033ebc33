"""Lean routes: the hot reads answered without FastAPI's per-request machinery.

A documented FastAPI route costs, per request, its router's candidate walk, dependency
solving (one ``Depends`` per parameter, headers and query parsed into fields), two exit
stacks and the endpoint wrapper: measured on ``GET /v1/profile``, about a third of the
service's CPU for a read that is one indexed row. A ``LeanRoute`` placed first in the
application's routes takes only the plain requests of a hot read — ``GET``, the path (and
query, if it says so) in the shape the documented route accepts — and calls an endpoint that
takes the ``Request`` and returns a ``Response``. Everything else (another method, a path
parameter in another spelling, a query string to validate) does not match it, so FastAPI's
route answers exactly as before, 405/422 included.

The documented route stays where it is: it is the OpenAPI operation (``LeanRoute`` is not in
the schema) and the fallback. The middlewares (request id, body guard, ``no-store``) and the
exception handlers (problem+json for a ``Problem`` the endpoint raises) are the
application's, around both.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from fastapi import FastAPI
from starlette._utils import get_route_path
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Match, NoMatchFound, compile_path
from starlette.types import Receive, Scope, Send

LeanEndpoint = Callable[[Request], Awaitable[Response]]


class LeanRoute(BaseRoute):
    """``GET path`` → ``endpoint(request)``; only when ``accepts(scope)`` (any query by
    default). ``path`` uses Starlette's convertors (``{application_id:uuid}``): a value they
    do not match falls through to the documented route, which validates it."""

    def __init__(
        self,
        path: str,
        endpoint: LeanEndpoint,
        *,
        accepts: Callable[[Scope], bool] | None = None,
    ) -> None:
        self.path = path
        self.endpoint = endpoint
        self.accepts = accepts
        self.name = getattr(endpoint, "__name__", "lean")
        self.include_in_schema = False
        self.path_regex, self.path_format, self.param_convertors = compile_path(path)
        self._static = not self.param_convertors

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] != "http" or scope["method"] != "GET":
            return Match.NONE, {}
        route_path = get_route_path(scope)
        if self._static:
            if route_path != self.path:
                return Match.NONE, {}
            params: dict[str, Any] = {}
        else:
            found = self.path_regex.match(route_path)
            if found is None:
                return Match.NONE, {}
            params = {
                key: self.param_convertors[key].convert(value)
                for key, value in found.groupdict().items()
            }
        if self.accepts is not None and not self.accepts(scope):
            return Match.NONE, {}
        return Match.FULL, {"endpoint": self.endpoint, "path_params": params}

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = await self.endpoint(Request(scope, receive))
        await response(scope, receive, send)

    def url_path_for(self, name: str, /, **path_params: Any) -> Any:
        raise NoMatchFound(name, path_params)  # named by its documented route instead


def no_query(scope: Scope) -> bool:
    """For a read whose query parameters the documented route validates: lean only without."""
    return not scope.get("query_string")


def install_lean_routes(app: FastAPI, routes: Sequence[LeanRoute]) -> None:
    """Put ``routes`` before every other route of ``app`` (the first full match wins)."""
    app.router.routes[:0] = list(routes)
