"""The citizen's applications: draft, form, documents, submit, appeal; reading them."""

from __future__ import annotations

import re
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Body, File, Form, Header, Query, Request, Response, UploadFile
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.ext.asyncio import AsyncEngine

from sanad.applications.api.deps import Caller, Ctx, Sessions, context_of, parse
from sanad.applications.domain.form import ApplicationForm
from sanad.applications.domain.states import Status
from sanad.applications.service import applications, decisions, views
from sanad.applications.service.applications import Limits, citizen_id_of
from sanad.shared.app import Runtime, runtime_of
from sanad.shared.auth import Principal, authenticate
from sanad.shared.etags import JSON, json_answer
from sanad.shared.lean_routes import LeanRoute, no_query
from sanad.shared.problems import Problem
from sanad.shared.text import FreeText

router = APIRouter(prefix="/v1/applications", tags=["applications"])

IDEMPOTENCY_KEY = r"^[A-Za-z0-9._:-]{1,200}$"
Reason = FreeText  # multi-line, no bidi/zero-width characters (sanad.shared.text)


def engine_of(runtime: Runtime) -> AsyncEngine:
    assert runtime.engine is not None
    return runtime.engine


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StartBody(Strict):
    program_code: str = Field(max_length=32)


class SubmitBody(Strict):
    declaration_accepted: bool = False


class AppealBody(Strict):
    reason: Reason


@router.post("", status_code=201, operation_id="start_application")
async def start(
    principal: Caller,
    sessions: Sessions,
    ctx: Ctx,
    response: Response,
    body: Annotated[Any, Body()],
) -> dict[str, Any]:
    """A DRAFT application to a program; one open application per program."""
    data = parse(StartBody, body)
    created = await applications.start(sessions, ctx.clock, principal, data.program_code)
    response.headers["Location"] = f"{router.prefix}/{created.application_id}"
    return await applications.read(sessions, ctx.clock, principal, created.application_id)


@router.get("", operation_id="list_my_applications")
async def list_mine(
    request: Request,
    principal: Caller,
    status: Status | None = None,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=100)] = 20,
) -> Response:
    """My requests, newest first (from the status read model: one query)."""
    return await _list_mine(request, principal, status, page, page_size)


async def _list_mine(
    request: Request, principal: Principal, status: Status | None, page: int, page_size: int
) -> Response:
    runtime = runtime_of(request)
    body = await views.list_mine(
        engine_of(runtime),
        runtime.require_sessions(),
        (await context_of(request)).clock,
        citizen_id_of(principal),
        status=status,
        page=page,
        page_size=page_size,
    )
    return Response(body, media_type=JSON)


@router.get(
    "/{application_id}",
    operation_id="get_application",
    responses={304: {"description": "Not Modified: unchanged since the ETag sent"}},
)
async def get_application(
    application_id: UUID,
    request: Request,
    principal: Caller,
    if_none_match: Annotated[str | None, Header(alias="If-None-Match")] = None,
) -> Response:
    """The application with its full status history, eligibility result and next step
    (from the status read model: one query). Send its ETag back in ``If-None-Match`` to
    get 304 while it has not changed."""
    return await _read(request, principal, application_id, if_none_match)


async def _read(
    request: Request, principal: Principal, application_id: UUID, if_none_match: str | None
) -> Response:
    runtime = runtime_of(request)
    found = await views.read(
        engine_of(runtime),
        runtime.require_sessions(),
        (await context_of(request)).clock,
        principal,
        application_id,
    )
    return json_answer(found.body, found.etag, if_none_match)


# The status reads every front end polls, without FastAPI's route machinery
# (``sanad.shared.lean_routes``): the same checks and answers. "My requests" with a query
# string goes to the documented route, which validates it.
async def list_mine_lean(request: Request) -> Response:
    return await _list_mine(request, await authenticate(request), None, 1, 20)


async def get_application_lean(request: Request) -> Response:
    principal = await authenticate(request)
    application_id = request.path_params["application_id"]
    return await _read(request, principal, application_id, request.headers.get("if-none-match"))


LEAN_ROUTES = [
    LeanRoute(router.prefix, list_mine_lean, accepts=no_query),
    LeanRoute(router.prefix + "/{application_id:uuid}", get_application_lean),
]


@router.put("/{application_id}", operation_id="save_form")
async def save_form(
    application_id: UUID,
    principal: Caller,
    sessions: Sessions,
    ctx: Ctx,
    body: Annotated[Any, Body()],
) -> dict[str, Any]:
    """Replace the form (while DRAFT or NEEDS_COMPLETION)."""
    form = parse(ApplicationForm, body)
    await applications.save_form(sessions, ctx.clock, principal, application_id, form)
    return await applications.read(sessions, ctx.clock, principal, application_id)


@router.post("/{application_id}/documents", status_code=201, operation_id="upload_document")
async def upload_document(
    application_id: UUID,
    principal: Caller,
    sessions: Sessions,
    ctx: Ctx,
    response: Response,
    kind: Annotated[str, Form(max_length=40)],
    file: Annotated[UploadFile, File()],
) -> dict[str, Any]:
    """A PDF, JPEG or PNG (judged by content), at most 10 MB, at most 20 per application."""
    limit = ctx.settings.max_document_bytes
    content = await file.read(limit + 1)
    document = await applications.upload_document(
        sessions,
        ctx.store,
        ctx.clock,
        principal,
        application_id,
        kind=kind,
        content=content,
        filename=file.filename,
        limits=Limits(limit, ctx.settings.max_documents),
    )
    response.headers["Location"] = (
        f"{router.prefix}/{application_id}/documents/{document['document_id']}"
    )
    return document


@router.get("/{application_id}/documents", operation_id="list_documents")
async def list_documents(
    application_id: UUID, principal: Caller, sessions: Sessions
) -> list[dict[str, Any]]:
    return await applications.list_documents(sessions, principal, application_id)


@router.delete(
    "/{application_id}/documents/{document_id}", status_code=204, operation_id="remove_document"
)
async def remove_document(
    application_id: UUID, document_id: UUID, principal: Caller, sessions: Sessions, ctx: Ctx
) -> None:
    await applications.remove_document(
        sessions, ctx.store, ctx.clock, principal, application_id, document_id
    )


@router.post(
    "/{application_id}/submit",
    operation_id="submit_application",
    response_model=dict[str, Any],
)
async def submit(
    application_id: UUID,
    request: Request,
    principal: Caller,
    sessions: Sessions,
    ctx: Ctx,
    body: Annotated[Any, Body()],
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> Response:
    """Submit with the declaration accepted; a retry with the same Idempotency-Key
    submits once and answers the application as it is (as ``GET`` answers it, with its
    ETag: the view the submit stored, not assembled again from the tables)."""
    data = parse(SubmitBody, body)
    if idempotency_key is not None and not _valid_key(idempotency_key):
        raise Problem.invalid(
            "header.idempotency-key", "must be 1-200 letters, digits or . _ : -", "pattern"
        )
    done = await applications.submit(
        sessions,
        ctx.clock,
        principal,
        application_id,
        declaration_accepted=data.declaration_accepted,
        idempotency_key=idempotency_key,
    )
    answer = await _read(request, principal, application_id, None)
    if done.replayed:
        answer.headers["Idempotent-Replayed"] = "true"
    return answer


def _valid_key(key: str) -> bool:
    return re.fullmatch(IDEMPOTENCY_KEY, key) is not None


@router.post("/{application_id}/appeal", status_code=201, operation_id="appeal")
async def appeal(
    application_id: UUID,
    principal: Caller,
    sessions: Sessions,
    ctx: Ctx,
    body: Annotated[Any, Body()],
) -> dict[str, Any]:
    """Appeal a rejection, within the program's appeal window, once."""
    data = parse(AppealBody, body)
    await decisions.appeal(sessions, ctx.clock, principal, application_id, data.reason)
    return await applications.read(sessions, ctx.clock, principal, application_id)
