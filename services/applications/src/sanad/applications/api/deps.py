"""What every route reaches: the caller, the sessions, the clock, the store, the cache."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request
from pydantic import BaseModel, ValidationError

from sanad.applications.adapters.program_cache import ProgramCache
from sanad.applications.adapters.storage import DocumentStore
from sanad.applications.settings import ApplicationsSettings
from sanad.shared.app import runtime_of
from sanad.shared.auth import Principal, authenticate
from sanad.shared.clock import Clock
from sanad.shared.db import SessionFactory
from sanad.shared.problems import FieldError, Problem


@dataclass
class Context:
    """Set on ``app.state.applications`` by ``create_app``."""

    settings: ApplicationsSettings
    clock: Clock
    store: DocumentStore
    cache: ProgramCache


async def context_of(request: Request) -> Context:
    context: Context = request.app.state.applications
    return context


async def sessions_of(request: Request) -> SessionFactory:
    return runtime_of(request).require_sessions()


Caller = Annotated[Principal, Depends(authenticate)]
Ctx = Annotated[Context, Depends(context_of)]
Sessions = Annotated[SessionFactory, Depends(sessions_of)]

# A payment destination's tag (payment.iban.iban): the client wrote payment.iban.
_TAGS = {"iban", "card"}


def _field(loc: tuple[int | str, ...], prefix: str) -> str:
    parts = [str(part) for part in loc]
    if len(parts) >= 3 and parts[0] == "payment" and parts[1] in _TAGS:
        parts = [parts[0], *parts[2:]]
    return ".".join([prefix, *parts])


def invalid(exc: ValidationError, prefix: str = "body") -> Problem:
    errors = [
        FieldError(
            _field(tuple(err["loc"]), prefix),
            err["msg"].removeprefix("Value error, "),
            err["type"],
        )
        for err in exc.errors()
    ]
    return Problem(
        422,
        "Invalid request",
        "; ".join(f"{e.field}: {e.message}" for e in errors),
        "validation-error",
        errors=errors,
    )


M = TypeVar("M", bound=BaseModel)


def parse(model: type[M], body: Any) -> M:
    if not isinstance(body, dict):
        raise Problem.invalid("body", "must be a JSON object", "object_type")
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        raise invalid(exc) from None
