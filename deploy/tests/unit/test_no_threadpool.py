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
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
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
            yield (
                f"{sorted(route.methods or {'ANY'})[0]} {where}{route.path}",
                list(_sync_calls(route.dependant)),
            )
        included = getattr(route, "original_router", None)
        if included is not None:
            context = route.include_context  # type: ignore[attr-defined]
            label = f"router {where}{context.prefix}"
            yield (
                label,
                [
                    d.dependency.__qualname__
                    for d in context.dependencies
                    if d.dependency is not None and _in_threadpool(d.dependency)
                ],
            )
            yield from _routes(included.routes, f"{where}{context.prefix}")


@pytest.mark.parametrize("name", [service.name for service in SERVICES])
def test_every_endpoint_and_dependency_is_async(name: str) -> None:
    app: FastAPI = importlib.import_module(f"sanad.{name}.main").create_app()
    routes = dict(_routes(app.router.routes))
    assert any(not where.startswith("router") for where in routes), f"{name}: no API route"
    found = {f"{where}: {call}" for where, calls in routes.items() for call in calls}
    assert not found, f"{name} runs these in the thread pool: {sorted(found)}"
