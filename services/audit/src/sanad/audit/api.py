"""HTTP API (through the gateway under /v1/audit), auditors only: the CLI's commands.

Each answers the report as JSON (``ok``, ``discrepancies``, ``checks`` with counts and first
examples, ``figures``), or as Markdown with ``Accept: text/markdown``; the
``X-Audit-Discrepancies`` header carries the count, as the CLI's exit code does.
"""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Body, Depends, Request
from fastapi.responses import Response
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from sanad.audit import service
from sanad.audit.domain.records import Scope
from sanad.audit.domain.report import Report
from sanad.shared.app import runtime_of
from sanad.shared.auth import Principal, Role, authenticate, require_role
from sanad.shared.logging import get_logger, security_event

router = APIRouter(prefix="/v1/audit", tags=["audit"])
log = get_logger(__name__)


async def auditor(principal: Annotated[Principal, Depends(authenticate)]) -> Principal:
    require_role(principal, Role.AUDITOR)
    return principal


Auditor = Annotated[Principal, Depends(auditor)]


class ScopeBody(BaseModel):
    """Whose events to audit: everyone's when both lists are empty."""

    model_config = ConfigDict(extra="forbid")

    citizens: list[UUID] = Field(default_factory=list, max_length=1000)
    applications: list[UUID] = Field(default_factory=list, max_length=1000)
    since: AwareDatetime | None = None

    def scope(self) -> Scope:
        return Scope.of(
            [str(c) for c in self.citizens], [str(a) for a in self.applications], self.since
        )


Body_ = Annotated[ScopeBody, Body(default_factory=ScopeBody)]


def answer(request: Request, report: Report, principal: Principal) -> Response:
    security_event(
        "audit_run",
        command=report.command,
        auditor=principal.subject,
        discrepancies=report.discrepancies,
    )
    headers = {"X-Audit-Discrepancies": str(report.discrepancies)}
    if "text/markdown" in request.headers.get("accept", ""):
        return Response(report.to_markdown(), media_type="text/markdown", headers=headers)
    return Response(report.to_bytes(), media_type="application/json", headers=headers)


def settings_of(request: Request) -> Any:
    return runtime_of(request).settings


@router.post("/replay", summary="Rebuild the projections from every event topic")
async def replay(request: Request, principal: Auditor, body: Body_) -> Response:
    report, _ = await service.replay(settings_of(request), body.scope())
    return answer(request, report, principal)


@router.post("/verify", summary="Check envelopes, ids, order, causes and decisions")
async def verify(request: Request, principal: Auditor, body: Body_) -> Response:
    return answer(request, await service.verify(settings_of(request), body.scope()), principal)


@router.post("/reproduce", summary="Re-run every recorded evaluation")
async def reproduce(request: Request, principal: Auditor, body: Body_) -> Response:
    report = await service.reproduce(settings_of(request), body.scope())
    return answer(request, report, principal)


@router.post("/compare", summary="Replay, then compare with the live services")
async def compare(request: Request, principal: Auditor, body: Body_) -> Response:
    return answer(request, await service.compare(settings_of(request), body.scope()), principal)


@router.get("/timeline/{case_id}", summary="One application's or citizen's events, in order")
async def timeline(request: Request, principal: Auditor, case_id: UUID) -> Response:
    return answer(request, await service.timeline(settings_of(request), case_id), principal)
