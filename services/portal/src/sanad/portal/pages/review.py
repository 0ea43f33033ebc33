"""The caseworker console: the review queue (under review and appealed, longest waiting
first), one case with the household, documents, the evaluations and the appeal, and the
decision with its reason."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from starlette.responses import Response

from sanad.portal.pages.applications import application_list, programs_by_code
from sanad.portal.pages.forms import form_values
from sanad.portal.problems import FormErrors, from_response
from sanad.portal.security import check_csrf
from sanad.portal.session import Session
from sanad.portal.web import SignInNeeded, redirect, render, session_of

router = APIRouter(dependencies=[Depends(check_csrf)])


async def caseworker(request: Request) -> Session:
    session = session_of(request)
    await session.ensure_fresh()
    if session.role != "caseworker":
        raise SignInNeeded()
    return session


@router.get("/review", response_class=HTMLResponse)
async def queue(request: Request) -> Response:
    return await application_list(
        request, await caseworker(request), "/v1/review/queue", "review_queue.html"
    )


async def case_page(
    request: Request,
    application_id: str,
    *,
    status: int = 200,
    errors: FormErrors | None = None,
    values: dict[str, str] | None = None,
) -> Response:
    session = await caseworker(request)
    answer = await session.call("GET", f"/v1/review/{quote(application_id, safe='')}")
    if answer.status_code != 200:
        return render(
            request,
            "review_queue.html",
            status=answer.status_code,
            errors=from_response(answer),
            items=[],
            programs={},
        )
    case: dict[str, Any] = answer.json()
    household = await session.call(
        "GET", f"/v1/profile/citizens/{quote(str(case['citizen_id']), safe='')}"
    )
    programs = await programs_by_code(request)
    return render(
        request,
        "review_case.html",
        status=status,
        errors=errors,
        values=values or {},
        application=case,
        profile=household.json() if household.status_code == 200 else None,
        program=programs.get(case["program_code"], {"code": case["program_code"]}),
    )


@router.get("/review/{application_id}", response_class=HTMLResponse)
async def case(request: Request, application_id: str) -> Response:
    return await case_page(request, application_id)


@router.post("/review/{application_id}/decision")
async def decide(request: Request, application_id: str) -> Response:
    session = await caseworker(request)
    values = await form_values(request)
    answer = await session.call(
        "POST",
        f"/v1/review/{quote(application_id, safe='')}/decision",
        json={"decision": values.get("decision", ""), "reason": values.get("reason", "")},
    )
    if answer.status_code == 200:
        return redirect("/review?notice=decided")
    return await case_page(
        request,
        application_id,
        status=answer.status_code,
        errors=from_response(answer),
        values=values,
    )
