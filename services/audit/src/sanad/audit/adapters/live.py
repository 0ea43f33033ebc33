"""Reading the live services' own tables, read-only (the platform grants the audit role
SELECT on the applications, eligibility and cards schemas, nothing more): the state to
compare the replayed projections with, and the rule-set documents published through the
eligibility API (shipped ones come with the eligibility package)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import asyncpg
import orjson


async def rule_set_documents(conn: asyncpg.Connection) -> list[dict[str, Any]]:
    try:
        found = await conn.fetch("SELECT document FROM eligibility.rule_sets")
    except asyncpg.InsufficientPrivilegeError:
        return []
    return [_json(r["document"]) for r in found]


async def applications(conn: asyncpg.Connection, ids: Iterable[str]) -> dict[str, dict[str, Any]]:
    found = await conn.fetch(
        "SELECT application_id, citizen_id, program_code, status, submission_id,"
        " submission_number, decision->>'decision_id' AS decision_id"
        " FROM applications.applications WHERE application_id = ANY($1::uuid[])",
        list(ids),
    )
    return {str(r["application_id"]): dict(r) for r in found}


async def applications_of(conn: asyncpg.Connection, citizens: Iterable[str]) -> set[str]:
    """Submitted applications of these citizens (drafts have no event yet)."""
    found = await conn.fetch(
        "SELECT application_id FROM applications.applications"
        " WHERE citizen_id = ANY($1::uuid[]) AND submission_number > 0",
        list(citizens),
    )
    return {str(r["application_id"]) for r in found}


async def evaluations(conn: asyncpg.Connection, ids: Iterable[str]) -> dict[str, dict[str, Any]]:
    found = await conn.fetch(
        "SELECT evaluation_id, application_id, outcome, monthly_benefit, facts_hash, inputs"
        " FROM eligibility.evaluations WHERE evaluation_id = ANY($1::uuid[])",
        list(ids),
    )
    return {str(r["evaluation_id"]): dict(r) | {"inputs": _json(r["inputs"])} for r in found}


async def cards(conn: asyncpg.Connection, ids: Iterable[str]) -> dict[str, dict[str, Any]]:
    found = await conn.fetch(
        "SELECT card_id, citizen_id, application_id, program_code, status,"
        " right(card_number, 4) AS number_last4"
        " FROM cards.cards WHERE card_id = ANY($1::uuid[])",
        list(ids),
    )
    return {str(r["card_id"]): dict(r) for r in found}


def _json(value: Any) -> Any:
    return orjson.loads(value) if isinstance(value, str | bytes) else value


async def applications_of_all(conn: asyncpg.Connection) -> set[str]:
    found = await conn.fetch(
        "SELECT application_id FROM applications.applications WHERE submission_number > 0"
    )
    return {str(r["application_id"]) for r in found}
