"""The program catalog: public reads (cached), admin writes."""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Body, Response

from sanad.applications.api.deps import Caller, Ctx, Sessions, parse
from sanad.applications.domain.catalog import ProgramDefinition
from sanad.applications.service import catalog
from sanad.shared.auth import Role, require_role
from sanad.shared.problems import Problem

router = APIRouter(prefix="/v1/programs", tags=["programs"])
CODE = re.compile(r"[A-Z][A-Z0-9-]{1,31}")
# Browsers and proxies may keep a read this long; the service's own cache is dropped on change.
PUBLIC_CACHE = "public, max-age=60"


def _json(text: str, status: int = 200, cache: bool = True) -> Response:
    headers = {"Cache-Control": PUBLIC_CACHE} if cache else {}
    return Response(text, status_code=status, media_type="application/json", headers=headers)


@router.get("", operation_id="list_programs")
async def list_programs(sessions: Sessions, ctx: Ctx) -> Response:
    """Every program, in Arabic and English: target groups, conditions, required documents,
    windows. Public."""
    return _json(await catalog.list_programs(sessions, ctx.cache))


@router.get("/{code}", operation_id="get_program")
async def get_program(code: str, sessions: Sessions, ctx: Ctx) -> Response:
    return _json(await catalog.get_program(sessions, ctx.cache, code))


@router.put("/{code}", operation_id="put_program")
async def put_program(
    code: str,
    principal: Caller,
    sessions: Sessions,
    ctx: Ctx,
    response: Response,
    body: Annotated[Any, Body()],
) -> dict[str, Any]:
    """Create or replace a program (admins)."""
    require_role(principal, Role.ADMIN)
    if not CODE.fullmatch(code):
        raise Problem.invalid(
            "path.code", "must be upper-case letters, digits and dashes (e.g. SSP-DEV)", "pattern"
        )
    definition = parse(ProgramDefinition, body)
    program, created = await catalog.put_program(
        sessions, ctx.cache, code, definition, admin_id=principal.subject
    )
    response.status_code = 201 if created else 200
    return program.model_dump(mode="json")
