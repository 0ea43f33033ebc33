"""HTTP API: a citizen reads and changes their own profile; caseworkers and auditors read any.

Writes are conditional: ``PUT /v1/profile/{section}`` requires ``If-Match`` (428 without it,
412 when stale); the dependent routes check it when sent. Every answer carries the profile's
``ETag``.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Annotated, Any, get_args
from uuid import UUID

from fastapi import APIRouter, Body, Depends, Header, Request, Response
from pydantic import ValidationError
from pydantic_core import to_json
from sqlalchemy.ext.asyncio import AsyncEngine

from sanad.profile import service
from sanad.profile.domain.dependents import DependentInput
from sanad.profile.domain.household import PersonFacts
from sanad.profile.domain.profile import DependentNotFound, Profile, RuleBroken
from sanad.profile.domain.sections import SECTION_INPUTS
from sanad.profile.settings import ProfileSettings
from sanad.shared.app import runtime_of
from sanad.shared.auth import Principal, Role, authenticate, forbidden, require_self_or_staff
from sanad.shared.db import SessionFactory
from sanad.shared.etags import json_answer
from sanad.shared.events import profile as wire
from sanad.shared.events.profile import SectionName
from sanad.shared.lean_routes import LeanRoute
from sanad.shared.logging import security_event
from sanad.shared.openapi import ETAG_HEADER, etag_response, problems
from sanad.shared.problems import FieldError, Problem

router = APIRouter(prefix="/v1/profile", tags=["profile"])

Caller = Annotated[Principal, Depends(authenticate)]
IfMatch = Annotated[
    str | None,
    Header(
        alias="If-Match",
        description="The `ETag` of the profile as last read: the change is made only if "
        "nobody changed the profile since (412 otherwise).",
    ),
]
IfNoneMatch = Annotated[
    str | None,
    Header(
        alias="If-None-Match",
        description="The `ETag` of the profile as last read: 304 and no body if it has "
        "not changed since.",
    ),
]
# Every answer carries the profile's ETag.
READ: dict[int | str, dict[str, Any]] = {200: etag_response()}
CHANGED: dict[int | str, dict[str, Any]] = {200: etag_response(), **problems(412)}
SECTION_NAMES: tuple[str, ...] = get_args(SectionName)
# Who may read any citizen's profile (read-only); admins are deliberately not among them.
PROFILE_READERS = (Role.CASEWORKER, Role.AUDITOR)


async def sessions_of(request: Request) -> SessionFactory:
    return runtime_of(request).require_sessions()


def engine_of(request: Request) -> AsyncEngine:
    engine = runtime_of(request).engine
    assert engine is not None
    return engine


def profile_answer(profile: Profile, if_none_match: str | None) -> Response:
    """The whole profile encoded once by its wire model, with its ETag (304 if unchanged)."""
    return json_answer(to_json(profile.to_view()), profile.etag, if_none_match)


NOT_MODIFIED: dict[int | str, dict[str, Any]] = {
    304: {
        "description": "Not Modified: the profile is still the version named in If-None-Match",
        "headers": dict(ETAG_HEADER),
    }
}


def settings_of(request: Request) -> ProfileSettings:
    settings = runtime_of(request).settings
    assert isinstance(settings, ProfileSettings)
    return settings


Sessions = Annotated[SessionFactory, Depends(sessions_of)]


def own_citizen_id(principal: Principal) -> UUID:
    """Only citizens have a profile of their own; their token's subject is their id."""
    if principal.role is not Role.CITIZEN:
        raise forbidden("Only citizens have a profile; staff read one by citizen id.")
    try:
        return UUID(principal.subject)
    except ValueError:
        raise service.not_found() from None


def rule_broken(exc: RuleBroken) -> Problem:
    return Problem.invalid(exc.field, exc.message, exc.code)


def invalid_body(exc: ValidationError) -> Problem:
    errors = [
        FieldError(
            ".".join(["body", *(str(part) for part in err["loc"])]),
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


def dependent_not_found(dependent_id: UUID) -> Problem:
    return Problem(
        404,
        "Not Found",
        f"No dependent {dependent_id} in your household.",
        "dependent-not-found",
        errors=[FieldError("path.dependent_id", "is not a dependent in your household", "unknown")],
    )


def with_etag(response: Response, profile: Profile) -> None:
    response.headers["ETag"] = profile.etag


async def _change(
    request: Request,
    principal: Principal,
    apply: Callable[[Profile], Profile],
    if_match: str | None,
    *,
    required: bool,
) -> Profile:
    try:
        return await service.change(
            await sessions_of(request),
            own_citizen_id(principal),
            apply,
            if_match=if_match,
            if_match_required=required,
        )
    except RuleBroken as exc:
        raise rule_broken(exc) from None


async def _change_household(
    request: Request,
    principal: Principal,
    national_id: str,
    apply: Callable[[Profile, PersonFacts], Profile],
    if_match: str | None,
) -> Profile:
    try:
        return await service.change_household(
            await sessions_of(request),
            settings_of(request).pseudonyms,
            own_citizen_id(principal),
            national_id,
            apply,
            if_match=if_match,
        )
    except RuleBroken as exc:
        security_event("dependent_refused", reason=exc.code, citizen_id=principal.subject)
        raise rule_broken(exc) from None


@router.get(
    "",
    operation_id="get_own_profile",
    response_model=wire.ProfileUpdated,
    responses={**READ, **NOT_MODIFIED},
)
async def get_own_profile(
    request: Request, principal: Caller, if_none_match: IfNoneMatch = None
) -> Response:
    """The whole profile, derived household figures and completeness per section. Send
    back its ETag in ``If-None-Match`` to get 304 when it has not changed."""
    profile = await service.read(engine_of(request), own_citizen_id(principal))
    return profile_answer(profile, if_none_match)


async def get_own_profile_lean(request: Request) -> Response:
    """``get_own_profile`` without FastAPI's route machinery (``sanad.shared.lean_routes``):
    the same checks and answer, for the read every front end polls."""
    principal = await authenticate(request)
    profile = await service.read(engine_of(request), own_citizen_id(principal))
    return profile_answer(profile, request.headers.get("if-none-match"))


# Answered first; the documented routes above stay the OpenAPI operations and the fallback.
LEAN_ROUTES = [LeanRoute(router.prefix, get_own_profile_lean)]


@router.get(
    "/citizens/{citizen_id}",
    operation_id="get_citizen_profile",
    response_model=wire.ProfileUpdated,
    responses={**READ, **NOT_MODIFIED},
)
async def get_citizen_profile(
    citizen_id: UUID, request: Request, principal: Caller, if_none_match: IfNoneMatch = None
) -> Response:
    """Any citizen's profile, for caseworkers and auditors (and the citizen themself)."""
    require_self_or_staff(principal, str(citizen_id), *PROFILE_READERS)
    profile = await service.read(engine_of(request), citizen_id)
    return profile_answer(profile, if_none_match)


@router.get("/dependents", operation_id="list_dependents", responses=READ)
async def list_dependents(
    principal: Caller, request: Request, response: Response
) -> list[wire.Dependent]:
    profile = await service.read(engine_of(request), own_citizen_id(principal))
    with_etag(response, profile)
    return list(profile.dependents)


@router.post(
    "/dependents",
    status_code=201,
    operation_id="add_dependent",
    responses={201: etag_response("Added; `Location` names it"), **problems(409, 412)},
)
async def add_dependent(
    body: DependentInput,
    principal: Caller,
    request: Request,
    response: Response,
    if_match: IfMatch = None,
) -> wire.Dependent:
    dependent_id = uuid.uuid4()
    limit = settings_of(request).max_household_size
    profile = await _change_household(
        request,
        principal,
        body.national_id,
        lambda p, facts: p.add_dependent(dependent_id, body, facts, max_household_size=limit),
        if_match,
    )
    with_etag(response, profile)
    response.headers["Location"] = f"{router.prefix}/dependents/{dependent_id}"
    return profile.dependent(dependent_id)


@router.get("/dependents/{dependent_id}", operation_id="get_dependent", responses=READ)
async def get_dependent(
    dependent_id: UUID, principal: Caller, request: Request, response: Response
) -> wire.Dependent:
    profile = await service.read(engine_of(request), own_citizen_id(principal))
    with_etag(response, profile)
    try:
        return profile.dependent(dependent_id)
    except DependentNotFound:
        raise dependent_not_found(dependent_id) from None


@router.put(
    "/dependents/{dependent_id}",
    operation_id="replace_dependent",
    responses={**CHANGED, **problems(409)},
)
async def replace_dependent(
    dependent_id: UUID,
    body: DependentInput,
    principal: Caller,
    request: Request,
    response: Response,
    if_match: IfMatch = None,
) -> wire.Dependent:
    try:
        profile = await _change_household(
            request,
            principal,
            body.national_id,
            lambda p, facts: p.replace_dependent(dependent_id, body, facts),
            if_match,
        )
    except DependentNotFound:
        raise dependent_not_found(dependent_id) from None
    with_etag(response, profile)
    return profile.dependent(dependent_id)


@router.delete(
    "/dependents/{dependent_id}",
    status_code=204,
    operation_id="remove_dependent",
    responses={204: etag_response("Removed"), **problems(412)},
)
async def remove_dependent(
    dependent_id: UUID,
    principal: Caller,
    request: Request,
    response: Response,
    if_match: IfMatch = None,
) -> None:
    try:
        profile = await _change(
            request, principal, lambda p: p.remove_dependent(dependent_id), if_match, required=False
        )
    except DependentNotFound:
        raise dependent_not_found(dependent_id) from None
    with_etag(response, profile)


@router.put("/{section}", operation_id="replace_section", responses={**CHANGED, **problems(428)})
async def replace_section(
    section: str,
    principal: Caller,
    request: Request,
    response: Response,
    body: Annotated[Any, Body()],
    if_match: IfMatch = None,
) -> wire.ProfileUpdated:
    """Replace one section (see the README for each section's fields)."""
    if section not in SECTION_INPUTS:
        hint = (
            " Dependents are changed one at a time under /v1/profile/dependents."
            if section == "dependents"
            else ""
        )
        raise Problem(
            404,
            "Not Found",
            f"There is no section {section!r}.{hint}",
            "unknown-section",
            errors=[
                FieldError("path.section", f"must be one of {', '.join(SECTION_NAMES)}", "unknown")
            ],
        )
    if not isinstance(body, dict):
        raise Problem.invalid("body", "must be a JSON object", "object_type")
    try:
        data = SECTION_INPUTS[section].model_validate(body)
    except ValidationError as exc:
        raise invalid_body(exc) from None
    profile = await _change(
        request, principal, lambda p: p.with_section(section, data), if_match, required=True
    )
    with_etag(response, profile)
    return profile.to_view()
