"""No request of any service waits on Starlette's thread pool.

FastAPI runs a plain ``def`` endpoint or dependency in a worker thread: a hand-off to a
thread and back per call, with the GIL contended by the event loop meanwhile. Reading the
app's state needs none of it, and under load it was a tenth of applications' submit (py-spy:
``run_in_threadpool`` from ``solve_dependencies``). So every endpoint and dependency a
service declares is ``async def``.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi import APIRouter, Depends, FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.dependencies.utils import get_parameterless_sub_dependant
from fastapi.routing import APIRoute
from starlette.routing import BaseRoute

from sanad.platform.layout import SERVICES


def _in_threadpool(call: Callable[..., Any]) -> bool:
    target = call if inspect.isroutine(call) else type(call).__call__
    return not (inspect.iscoroutinefunction(target) or inspect.isasyncgenfunction(target))


def _sync_calls(dependant: Dependant) -> Iterator[str]:
    if dependant.call is not None and _in_threadpool(dependant.call):
        yield getattr(dependant.call, "__qualname__", repr(dependant.call))
    for inner in dependant.dependencies:
        yield from _sync_calls(inner)


def _routes(routes: list[BaseRoute], where: str = "") -> Iterator[tuple[str, list[str]]]:
    """Each API route with the calls it runs in the thread pool, included routers walked
    (FastAPI keeps an included router whole, with the dependencies it was included with)."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield f"{route.methods} {where}{route.path}", list(_sync_calls(route.dependant))
        included = getattr(route, "original_router", None)
        if included is not None:
            context = route.include_context  # type: ignore[attr-defined]
            yield (
                f"router included at {where}{context.prefix!r}",
                [
                    call
                    for depends in context.dependencies
                    for call in _sync_calls(
                        get_parameterless_sub_dependant(depends=depends, path="")
                    )
                ],
            )
            yield from _routes(included.routes, f"{where}{context.prefix}")


def _handlers(app: FastAPI) -> list[str]:
    """Exception handlers declared plain ``def`` run in the thread pool too."""
    return [
        f"exception handler for {key}: {handler.__qualname__}"
        for key, handler in app.exception_handlers.items()
        if _in_threadpool(handler)
    ]


@pytest.mark.parametrize("name", [service.name for service in SERVICES])
def test_every_endpoint_and_dependency_is_async(name: str) -> None:
    app: FastAPI = importlib.import_module(f"sanad.{name}.main").create_app()
    routes = list(_routes(app.router.routes))
    assert any(not where.startswith("router") for where, _ in routes), f"{name}: no API route"
    found = {f"{where}: {call}" for where, calls in routes for call in calls}
    found.update(_handlers(app))
    assert not found, f"{name} runs these in the thread pool: {sorted(found)}"


def test_the_walk_finds_a_plain_def_however_deep() -> None:
    """The check itself: a plain ``def`` under an include-level dependency, in a second router
    included at the same prefix, and as a route's own nested dependency, is each named."""

    def blocking() -> None: ...

    async def wraps(_: None = Depends(blocking)) -> None: ...

    first, second, third = APIRouter(), APIRouter(), APIRouter()

    @first.get("/a")
    async def a() -> None: ...

    @second.get("/b")
    async def b() -> None: ...

    @third.get("/c")
    async def c(_: None = Depends(wraps)) -> None: ...

    app = FastAPI()
    app.include_router(second, dependencies=[Depends(wraps)])
    app.include_router(first)
    app.include_router(third)
    found = [call for _, calls in _routes(app.router.routes) for call in calls]
    assert sorted(found) == sorted([f"{blocking.__qualname__}"] * 2)
