"""The program catalog (public), "check my eligibility" per program, and starting an
application."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from starlette.responses import Response

from sanad.portal.pages.forms import form_values
from sanad.portal.problems import from_response
from sanad.portal.security import check_csrf
from sanad.portal.web import SignInNeeded, gateway_of, redirect, render, session_of

router = APIRouter(dependencies=[Depends(check_csrf)])


async def program_or_page(
    request: Request, code: str
) -> tuple[dict[str, Any] | None, Response | None]:
    answer = await gateway_of(request).request("GET", f"/v1/programs/{quote(code, safe='')}")
    if answer.status_code == 200:
        program: dict[str, Any] = answer.json()
        return program, None
    return None, render(
        request,
        "programs.html",
        status=answer.status_code,
        errors=from_response(answer),
        programs=[],
    )


@router.get("/programs", response_class=HTMLResponse)
async def catalog(request: Request) -> Response:
    await session_of(request).ensure_fresh()
    answer = await gateway_of(request).request("GET", "/v1/programs")
    if answer.status_code != 200:
        return render(
            request, "programs.html", status=503, errors=from_response(answer), programs=[]
        )
    return render(request, "programs.html", programs=answer.json()["items"])


@router.get("/programs/{code}", response_class=HTMLResponse)
async def program_page(request: Request, code: str) -> Response:
    await session_of(request).ensure_fresh()
    program, refused = await program_or_page(request, code)
    if refused is not None:
        return refused
    return render(request, "program.html", program=program, check=None)


@router.get("/programs/{code}/eligibility", response_class=HTMLResponse)
async def check(request: Request, code: str, category: str = "") -> Response:
    session = session_of(request)
    await session.ensure_fresh()
    if session.role != "citizen":
        raise SignInNeeded()
    program, refused = await program_or_page(request, code)
    if refused is not None:
        return refused
    params = {"program": code} | ({"category": category} if category else {})
    answer = await session.call("GET", "/v1/eligibility/check", params=params)
    if answer.status_code != 200:
        return render(
            request,
            "program.html",
            status=answer.status_code,
            errors=from_response(answer),
            program=program,
            check=None,
            values={"category": category},
        )
    return render(
        request,
        "program.html",
        program=program,
        check=answer.json(),
        values={"category": category},
    )


@router.post("/programs/{code}/apply")
async def apply(request: Request, code: str) -> Response:
    session = session_of(request)
    await session.ensure_fresh()
    if session.role != "citizen":
        raise SignInNeeded()
    await form_values(request)
    answer = await session.call("POST", "/v1/applications", json={"program_code": code})
    if answer.status_code == 201:
        return redirect(f"/applications/{answer.json()['application_id']}?notice=started")
    if answer.status_code == 409 and answer.json().get("open_application_id"):
        return redirect(f"/applications/{answer.json()['open_application_id']}")
    program, refused = await program_or_page(request, code)
    if refused is not None:
        return refused
    return render(
        request,
        "program.html",
        status=answer.status_code,
        errors=from_response(answer),
        program=program,
        check=None,
    )
