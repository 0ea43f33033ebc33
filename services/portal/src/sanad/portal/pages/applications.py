"""Applying and following: the form with the payment destination, documents uploaded with
progress, the declaration and submit; "my requests" with each status change, its reasons
and deadlines; the appeal."""

from __future__ import annotations

import secrets
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, JSONResponse
from starlette.responses import Response

from sanad.portal import i18n
from sanad.portal.i18n import N_
from sanad.portal.pages.forms import checked, form_values, upload
from sanad.portal.problems import FormErrors, from_response
from sanad.portal.security import check_csrf
from sanad.portal.session import Session
from sanad.portal.web import (
    SignInNeeded,
    gateway_of,
    redirect,
    render,
    session_of,
    settings_of,
)

router = APIRouter(dependencies=[Depends(check_csrf)])

EDITABLE = ("DRAFT", "NEEDS_COMPLETION")
NO_FILE = N_("Choose a file to upload.")
FILE_TOO_LARGE = N_("The file is too large.")


async def citizen(request: Request) -> Session:
    session = session_of(request)
    await session.ensure_fresh()
    if session.role != "citizen":
        raise SignInNeeded()
    return session


async def programs_by_code(request: Request) -> dict[str, dict[str, Any]]:
    answer = await gateway_of(request).request("GET", "/v1/programs")
    if answer.status_code != 200:
        return {}
    return {p["code"]: p for p in answer.json()["items"]}


def path_of(application_id: str) -> str:
    return f"/v1/applications/{quote(application_id, safe='')}"


def form_body(values: dict[str, str]) -> dict[str, Any]:
    body: dict[str, Any] = {}
    for name in ("monthly_income", "family_size", "employment_status", "category"):
        if values.get(name):
            body[name] = values[name]
    method = values.get("payment.method", "")
    if method == "iban" and values.get("payment.iban"):
        body["payment"] = {"method": "iban", "iban": values["payment.iban"]}
    elif method == "card" and values.get("payment.card_number"):
        body["payment"] = {"method": "card", "card_number": values["payment.card_number"]}
    return body


def form_values_of(application: dict[str, Any]) -> dict[str, str]:
    form = application.get("form") or {}
    values = {
        name: str(form[name])
        for name in ("monthly_income", "family_size", "employment_status", "category")
        if form.get(name) is not None
    }
    if form.get("payment"):
        values["payment.method"] = form["payment"]["method"]
    return values


@router.get("/applications", response_class=HTMLResponse)
async def mine(request: Request) -> Response:
    return await application_list(
        request, await citizen(request), "/v1/applications", "applications.html"
    )


async def application_list(
    request: Request, session: Session, path: str, template: str
) -> Response:
    """A page listing applications (a citizen's, or the review queue) with their programs;
    the gateway's problem shown on the page if it refuses."""
    answer = await session.call("GET", path, params={"page_size": 100})
    if answer.status_code != 200:
        return render(
            request,
            template,
            status=answer.status_code,
            errors=from_response(answer),
            items=[],
            programs={},
        )
    return render(
        request, template, items=answer.json()["items"], programs=await programs_by_code(request)
    )


async def application_page(
    request: Request,
    application_id: str,
    *,
    status: int = 200,
    errors: FormErrors | None = None,
    values: dict[str, str] | None = None,
) -> Response:
    session = await citizen(request)
    answer = await session.call("GET", path_of(application_id))
    if answer.status_code != 200:
        return render(
            request,
            "applications.html",
            status=answer.status_code,
            errors=from_response(answer),
            items=[],
            programs={},
        )
    application = answer.json()
    programs = await programs_by_code(request)
    shown = form_values_of(application) | (values or {})
    return render(
        request,
        "application.html",
        status=status,
        errors=errors,
        values=shown,
        application=application,
        program=programs.get(application["program_code"], {"code": application["program_code"]}),
        editable=application["status"] in EDITABLE,
        idempotency_key=secrets.token_urlsafe(16),
    )


@router.get("/applications/{application_id}", response_class=HTMLResponse)
async def one(request: Request, application_id: str) -> Response:
    return await application_page(request, application_id)


@router.post("/applications/{application_id}/form")
async def save_form(request: Request, application_id: str) -> Response:
    session = await citizen(request)
    values = await form_values(request)
    answer = await session.call("PUT", path_of(application_id), json=form_body(values))
    if answer.status_code == 200:
        return redirect(f"/applications/{application_id}?notice=saved#documents")
    return await application_page(
        request,
        application_id,
        status=answer.status_code,
        errors=from_response(answer),
        values=values,
    )


def _wants_json(request: Request) -> bool:
    return request.headers.get("accept", "").startswith("application/json")


@router.post("/applications/{application_id}/documents")
async def upload_document(request: Request, application_id: str) -> Response:
    """A document, forwarded as it came; a script (``Accept: application/json``) gets the
    errors as JSON to show beside the file control without leaving the page."""
    session = await citizen(request)
    values = await form_values(request)
    file = await upload(request, "file")
    errors = FormErrors()
    answer_status = 422
    if file is None:
        errors.add("file", i18n.gettext(NO_FILE))
    else:
        limit = settings_of(request).max_upload_bytes
        content = await file.read(limit + 1)
        if len(content) > limit:
            errors.add("file", i18n.gettext(FILE_TOO_LARGE))
            answer_status = 413
        else:
            answer = await session.call(
                "POST",
                f"{path_of(application_id)}/documents",
                data={"kind": values.get("kind", "")},
                files={
                    "file": (
                        file.filename or "document",
                        content,
                        file.content_type or "application/octet-stream",
                    )
                },
            )
            if answer.status_code == 201:
                done = f"/applications/{application_id}?notice=uploaded#documents"
                if _wants_json(request):
                    return JSONResponse({"redirect": done})
                return redirect(done)
            errors = from_response(answer)
            answer_status = answer.status_code
            if not errors.fields and answer.status_code in (413, 415):
                errors = FormErrors(fields={"file": errors.general[0]})
    if _wants_json(request):
        return JSONResponse(
            {"errors": errors.fields, "general": errors.general}, status_code=answer_status
        )
    return await application_page(
        request, application_id, status=answer_status, errors=errors, values=values
    )


@router.post("/applications/{application_id}/documents/{document_id}/remove")
async def remove_document(request: Request, application_id: str, document_id: str) -> Response:
    session = await citizen(request)
    answer = await session.call(
        "DELETE", f"{path_of(application_id)}/documents/{quote(document_id, safe='')}"
    )
    if answer.status_code == 204:
        return redirect(f"/applications/{application_id}?notice=removed#documents")
    return await application_page(
        request, application_id, status=answer.status_code, errors=from_response(answer)
    )


@router.post("/applications/{application_id}/submit")
async def submit(request: Request, application_id: str) -> Response:
    session = await citizen(request)
    values = await form_values(request)
    headers = {}
    if values.get("idempotency_key"):
        headers["Idempotency-Key"] = f"portal-{values['idempotency_key']}"
    answer = await session.call(
        "POST",
        f"{path_of(application_id)}/submit",
        json={"declaration_accepted": checked(values, "declaration_accepted")},
        headers=headers,
    )
    if answer.status_code == 200:
        return redirect(f"/applications/{application_id}?notice=submitted")
    return await application_page(
        request, application_id, status=answer.status_code, errors=from_response(answer)
    )


@router.post("/applications/{application_id}/appeal")
async def appeal(request: Request, application_id: str) -> Response:
    session = await citizen(request)
    values = await form_values(request)
    answer = await session.call(
        "POST", f"{path_of(application_id)}/appeal", json={"reason": values.get("reason", "")}
    )
    if answer.status_code == 201:
        return redirect(f"/applications/{application_id}?notice=appealed")
    return await application_page(
        request,
        application_id,
        status=answer.status_code,
        errors=from_response(answer),
        values=values,
    )
