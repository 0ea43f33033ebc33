"""The program catalog: public reads through the Redis cache, admin changes that drop it."""

from __future__ import annotations

import json
from typing import Any

from sanad.applications import repository
from sanad.applications.adapters.program_cache import ProgramCache
from sanad.applications.domain.catalog import Program, ProgramDefinition
from sanad.shared.db import SessionFactory
from sanad.shared.problems import FieldError, Problem


def program_not_found(code: str) -> Problem:
    return Problem(
        404,
        "Not Found",
        f"There is no program {code!r}.",
        "program-not-found",
        errors=[FieldError("path.code", "is not a program in the catalog", "unknown")],
    )


def _dump(program: Program) -> dict[str, Any]:
    return program.model_dump(mode="json")


async def list_programs(sessions: SessionFactory, cache: ProgramCache) -> str:
    """The catalog as JSON text (cached as such)."""
    generation = await cache.generation()
    if (cached := await cache.get(generation, "list")) is not None:
        return cached
    async with sessions() as session:
        programs = await repository.list_programs(session)
    text = json.dumps({"items": [_dump(p) for p in programs]}, ensure_ascii=False)
    await cache.put(generation, "list", text)
    return text


async def get_program(sessions: SessionFactory, cache: ProgramCache, code: str) -> str:
    generation = await cache.generation()
    name = "program:" + code
    if (cached := await cache.get(generation, name)) is not None:
        return cached
    async with sessions() as session:
        program = await repository.load_program(session, code)
    if program is None:
        raise program_not_found(code)
    text = json.dumps(_dump(program), ensure_ascii=False)
    await cache.put(generation, name, text)
    return text


async def put_program(
    sessions: SessionFactory,
    cache: ProgramCache,
    code: str,
    definition: ProgramDefinition,
    *,
    admin_id: str,
) -> tuple[Program, bool]:
    """Create or replace a program; (the program, whether it was created)."""
    async with sessions() as session, session.begin():
        existing = await repository.load_program(session, code, for_update=True)
        program = await repository.save_program(session, code, definition, admin_id)
    await cache.invalidate()
    return program, existing is None
