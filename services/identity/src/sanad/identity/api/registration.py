"""Registration routes: register, resend the code, verify it."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Literal

from fastapi import APIRouter, Request
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from sanad.identity.api.deps import IdentityDep, client_ip
from sanad.identity.api.rules import (
    MOBILE_RULE,
    NATIONAL_ID_RULE,
    OTP,
    OTP_RULE,
    PASSWORD_RULE,
)
from sanad.identity.domain.password_policy import MAX_LENGTH, MIN_LENGTH
from sanad.identity.service import registration
from sanad.identity.service.registration import OtpSent
from sanad.shared import national_id
from sanad.shared.openapi import problems

router = APIRouter(prefix="/v1/auth/register", tags=["registration"])


class RegisterRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    national_id: str = Field(
        max_length=32,
        examples=["1000000008"],
        description=NATIONAL_ID_RULE,
        json_schema_extra={"pattern": national_id.PATTERN},
    )
    date_of_birth: date
    mobile: str = Field(max_length=32, examples=["0551234567"], description=MOBILE_RULE)
    password: str = Field(
        max_length=1024,
        description=PASSWORD_RULE,
        json_schema_extra={"minLength": MIN_LENGTH, "maxLength": MAX_LENGTH},
    )
    email: str | None = Field(None, max_length=254)
    preferred_language: Literal["ar", "en"] = "ar"


class RegistrationPending(BaseModel):
    registration_id: uuid.UUID
    status: Literal["pending"] = "pending"
    otp_expires_at: AwareDatetime
    otp_ttl_seconds: int

    @classmethod
    def of(cls, sent: OtpSent) -> RegistrationPending:
        return cls(
            registration_id=sent.registration_id,
            otp_expires_at=sent.expires_at,
            otp_ttl_seconds=sent.ttl_seconds,
        )


class ResendRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    registration_id: uuid.UUID


class VerifyRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    registration_id: uuid.UUID
    code: str = Field(max_length=16, description=OTP_RULE, json_schema_extra={"pattern": OTP})


class Registered(BaseModel):
    citizen_id: uuid.UUID
    status: Literal["active"] = "active"


@router.post(
    "", status_code=202, response_model=RegistrationPending, responses=problems(409, 429, 503)
)
async def register(
    body: RegisterRequest, request: Request, identity: IdentityDep
) -> RegistrationPending:
    sent = await registration.register(
        identity,
        national_id=body.national_id,
        date_of_birth=body.date_of_birth,
        mobile=body.mobile,
        password=body.password,
        email=body.email,
        language=body.preferred_language,
        client_ip=client_ip(request, identity.settings.trusted_proxies),
    )
    return RegistrationPending.of(sent)


@router.post(
    "/resend",
    status_code=202,
    response_model=RegistrationPending,
    responses=problems(404, 409, 429),
)
async def resend(
    body: ResendRequest, request: Request, identity: IdentityDep
) -> RegistrationPending:
    sent = await registration.resend(
        identity,
        body.registration_id,
        client_ip=client_ip(request, identity.settings.trusted_proxies),
    )
    return RegistrationPending.of(sent)


@router.post(
    "/verify", status_code=201, response_model=Registered, responses=problems(404, 409, 429)
)
async def verify(body: VerifyRequest, identity: IdentityDep) -> Registered:
    citizen_id = await registration.verify(identity, body.registration_id, body.code)
    return Registered(citizen_id=citizen_id)
