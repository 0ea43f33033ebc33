"""The citizen's own notifications and preferences (``/v1/notifications``)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, StrictBool

from sanad.notifications import repository
from sanad.shared.app import runtime_of
from sanad.shared.auth import Principal, Role, authenticate, require_role
from sanad.shared.problems import Problem

router = APIRouter(prefix="/v1/notifications", tags=["notifications"])


class NotificationPublic(BaseModel):
    id: UUID
    channel: Literal["sms", "email"]
    template: str
    language: Literal["ar", "en"]
    status: Literal["pending", "sending", "sent", "failed"]
    attempts: int
    segments: int | None  # SMS only
    created_at: datetime
    finished_at: datetime | None


class NotificationPage(BaseModel):
    items: list[NotificationPublic]
    total: int
    limit: int
    offset: int


class PreferencesBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email_enabled: StrictBool  # true or false, never 0/"no" (the schema says boolean)
    language: Literal["ar", "en"]


def citizen_id_of(principal: Principal) -> UUID:
    """Notifications belong to citizens: the token's subject is the citizen id."""
    require_role(principal, Role.CITIZEN)
    try:
        return UUID(principal.subject)
    except ValueError:
        raise Problem(403, "Forbidden", "The token does not name a citizen.", "forbidden") from None


Caller = Annotated[Principal, Depends(authenticate)]


@router.get("", response_model=NotificationPage, operation_id="list_my_notifications")
async def list_notifications(
    request: Request,
    principal: Caller,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Annotated[int, Query(ge=0, le=100_000)] = 0,
) -> NotificationPage:
    citizen_id = citizen_id_of(principal)
    async with runtime_of(request).require_sessions()() as session:
        total, rows = await repository.list_for_citizen(
            session, citizen_id, limit=limit, offset=offset
        )
    return NotificationPage(
        items=[NotificationPublic.model_validate(row, from_attributes=True) for row in rows],
        total=total,
        limit=limit,
        offset=offset,
    )


@router.get("/preferences", response_model=PreferencesBody, operation_id="get_my_preferences")
async def get_preferences(request: Request, principal: Caller) -> PreferencesBody:
    citizen_id = citizen_id_of(principal)
    async with runtime_of(request).require_sessions()() as session:
        found = await repository.preferences_of(session, citizen_id)
    if found is None:
        raise Problem(404, "Not Found", "No contact or preferences are on record yet.", "not-found")
    return PreferencesBody(email_enabled=found.email_enabled, language=found.language)


@router.put("/preferences", response_model=PreferencesBody, operation_id="put_my_preferences")
async def put_preferences(
    request: Request, principal: Caller, body: PreferencesBody
) -> PreferencesBody:
    citizen_id = citizen_id_of(principal)
    async with runtime_of(request).require_sessions()() as session, session.begin():
        await repository.put_preferences(session, citizen_id, body.email_enabled, body.language)
    return body
