"""Changing the caller's mobile: start (registry check, a code to each number), confirm."""

from __future__ import annotations

import uuid
from typing import Literal

from fastapi import APIRouter, Request
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from sanad.identity.api.deps import CallerDep, IdentityDep, client_ip
from sanad.identity.api.rules import MOBILE_RULE, OTP, OTP_RULE
from sanad.identity.service import mobile
from sanad.shared.openapi import problems

router = APIRouter(prefix="/v1/auth/mobile", tags=["mobile"])


class ChangeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    mobile: str = Field(max_length=32, examples=["0551234567"], description=MOBILE_RULE)


class ChangePending(BaseModel):
    change_id: uuid.UUID
    status: Literal["pending"] = "pending"
    otp_expires_at: AwareDatetime
    otp_ttl_seconds: int


class ConfirmRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    change_id: uuid.UUID
    old_code: str = Field(max_length=16, description=OTP_RULE, json_schema_extra={"pattern": OTP})
    new_code: str = Field(max_length=16, description=OTP_RULE, json_schema_extra={"pattern": OTP})


class Changed(BaseModel):
    mobile: str


@router.post("", status_code=202, response_model=ChangePending, responses=problems(409, 429, 503))
async def start_change(
    body: ChangeRequest, request: Request, principal: CallerDep, identity: IdentityDep
) -> ChangePending:
    started = await mobile.start(
        identity,
        principal.subject,
        body.mobile,
        client_ip=client_ip(request, identity.settings.trusted_proxies),
    )
    return ChangePending(
        change_id=started.change_id,
        otp_expires_at=started.expires_at,
        otp_ttl_seconds=started.ttl_seconds,
    )


@router.post("/verify", response_model=Changed, responses=problems(404, 409, 429))
async def confirm_change(
    body: ConfirmRequest, principal: CallerDep, identity: IdentityDep
) -> Changed:
    new_mobile = await mobile.confirm(
        identity, principal.subject, body.change_id, body.old_code, body.new_code
    )
    return Changed(mobile=new_mobile)
