"""HTTP API (through the gateway under /v1/eligibility): the check before applying,
simulations, rule sets (read, publish, impact) and stored evaluations (read, replay)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Body, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from sanad.eligibility import service
from sanad.eligibility.domain.evaluation import Result
from sanad.shared.app import runtime_of
from sanad.shared.auth import Principal, Role, authenticate, forbidden, require_role
from sanad.shared.clock import Clock
from sanad.shared.db import SessionFactory
from sanad.shared.problems import Problem

router = APIRouter(prefix="/v1/eligibility", tags=["eligibility"])

Caller = Annotated[Principal, Depends(authenticate)]
ProgramCode = Annotated[str, Query(pattern=r"^[A-Z][A-Z0-9-]{1,39}$", description="SSP-DEV")]


async def sessions_of(request: Request) -> SessionFactory:
    return runtime_of(request).require_sessions()


async def clock_of(request: Request) -> Clock:
    clock: Clock = request.app.state.clock
    return clock


Sessions = Annotated[SessionFactory, Depends(sessions_of)]
Clocked = Annotated[Clock, Depends(clock_of)]


def shown(result: Result) -> dict[str, Any]:
    return result.to_json()


@router.get("/check", operation_id="check_eligibility")
async def check(
    principal: Caller,
    sessions: Sessions,
    clock: Clocked,
    program: ProgramCode,
    category: Annotated[str | None, Query(max_length=40, pattern=r"^[a-z_]+$")] = None,
) -> dict[str, Any]:
    """دراسة الأهلية: what the logged-in citizen would get from ``program`` today, from
    their current profile, without applying (criteria on the form and documents are
    ``not_applicable``; ``category`` fills the form's category for IQ-SPN).
    ``profile_version`` is the version of the profile the answer was computed on: this
    service learns of profile changes from events, a moment after they are saved."""
    if principal.role is not Role.CITIZEN:
        raise forbidden("Only citizens check their own eligibility; staff use /simulate.")
    try:
        citizen_id = UUID(principal.subject)
    except ValueError:
        raise forbidden("The token names no citizen.") from None
    result, profile_version = await service.check(sessions, citizen_id, program, category, clock)
    return shown(result) | {"profile_version": profile_version}


class SimulateBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    program: str = Field(pattern=r"^[A-Z][A-Z0-9-]{1,39}$")
    version: str | None = Field(None, max_length=40)
    on: date | None = None
    facts: dict[str, Any] = Field(default_factory=dict, max_length=100)


@router.post("/simulate", operation_id="simulate_eligibility")
async def simulate(
    body: SimulateBody, principal: Caller, sessions: Sessions, clock: Clocked
) -> dict[str, Any]:
    """Evaluate given facts (money as decimal strings in riyals) under the version in force
    on ``on`` (today by default) or the ``version`` named. A fact not given is unknown."""
    require_role(principal, Role.CASEWORKER, Role.ADMIN)
    return shown(
        await service.simulate(sessions, body.program, body.version, body.on, body.facts, clock)
    )


def program_path(program: str) -> str:
    if not program or len(program) > 40 or not program.replace("-", "").isalnum():
        raise Problem.invalid("path.program", "must be a program code such as SSP-DEV")
    return program


def document_body(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise Problem.invalid("body", "must be a JSON object: the rule set", "object_type")
    return body


@router.get("/rules/{program}", operation_id="list_rule_sets")
async def rules(
    program: str, principal: Caller, sessions: Sessions, clock: Clocked
) -> dict[str, Any]:
    """Every version of the program's rules, the one in force today, their parameters by
    date and their criteria in words."""
    return await service.rules(sessions, program_path(program), clock)


@router.post("/rules/{program}", status_code=201, operation_id="publish_rule_set")
async def publish(
    program: str,
    principal: Caller,
    sessions: Sessions,
    clock: Clocked,
    body: Annotated[Any, Body()],
) -> dict[str, Any]:
    """Publish a new version (admins). A version that does not compile is refused with the
    location of each fault (``body.criteria[2].expression``)."""
    require_role(principal, Role.ADMIN)
    return await service.publish(
        sessions, program_path(program), document_body(body), principal.subject, clock
    )


@router.post("/rules/{program}/impact", operation_id="rule_set_impact")
async def impact(
    program: str,
    principal: Caller,
    sessions: Sessions,
    clock: Clocked,
    body: Annotated[Any, Body()],
    after: Annotated[UUID | None, Query(description="the page's cursor: next_after")] = None,
    limit: Annotated[int, Query(ge=1, le=20_000)] = 5_000,
) -> dict[str, Any]:
    """Policy simulation (admins, auditors): a draft version against the one in force over
    one page of the households this service knows; nothing is stored. Follow
    ``next_after`` for the next page."""
    require_role(principal, Role.ADMIN, Role.AUDITOR)
    return await service.impact(
        sessions, program_path(program), document_body(body), after=after, limit=limit, clock=clock
    )


@router.get("/evaluations/{evaluation_id}", operation_id="get_evaluation")
async def get_evaluation(
    evaluation_id: UUID, principal: Caller, sessions: Sessions
) -> dict[str, Any]:
    """A stored evaluation: its facts, every criterion and the outcome (the citizen it is
    about, caseworkers, auditors, admins)."""
    row = await service.stored(sessions, evaluation_id)
    if principal.role is Role.CITIZEN and principal.subject != str(row.citizen_id):
        raise service.evaluation_not_found(evaluation_id)  # another's: not given away
    return service.view(row)


@router.post("/evaluations/{evaluation_id}/replay", operation_id="replay_evaluation")
async def replay(evaluation_id: UUID, principal: Caller, sessions: Sessions) -> dict[str, Any]:
    """Re-run a stored evaluation under its recorded rule-set version, date and inputs, and
    compare (auditors)."""
    require_role(principal, Role.AUDITOR)
    return await service.replay(sessions, evaluation_id)
