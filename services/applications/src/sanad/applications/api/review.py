"""The caseworker console: the queue, one application in full, a decision."""

from __future__ import annotations

from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Body, Query

from sanad.applications.api.applications import Reason, Strict
from sanad.applications.api.deps import Caller, Ctx, Sessions, parse
from sanad.applications.service import decisions

router = APIRouter(prefix="/v1/review", tags=["review"])


class DecisionBody(Strict):
    decision: Literal["APPROVED", "REJECTED"]
    reason: Reason


@router.get("/queue", operation_id="review_queue")
async def queue(
    principal: Caller,
    sessions: Sessions,
    ctx: Ctx,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=100)] = 20,
) -> dict[str, Any]:
    """Applications UNDER_REVIEW and APPEALED, the longest waiting first."""
    return await decisions.queue(sessions, ctx.clock, principal, page=page, page_size=page_size)


@router.get("/{application_id}", operation_id="review_application")
async def review(
    application_id: UUID, principal: Caller, sessions: Sessions, ctx: Ctx
) -> dict[str, Any]:
    """The application, its documents, every evaluation (the appeal's re-evaluation too)."""
    return await decisions.review(sessions, ctx.clock, principal, application_id)


@router.post("/{application_id}/decision", operation_id="decide")
async def decide(
    application_id: UUID,
    principal: Caller,
    sessions: Sessions,
    ctx: Ctx,
    body: Annotated[Any, Body()],
) -> dict[str, Any]:
    data = parse(DecisionBody, body)
    return await decisions.decide_review(
        sessions, ctx.clock, principal, application_id, data.decision, data.reason
    )
