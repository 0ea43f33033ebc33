"""The first page: the landing page, or the citizen's start page."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from starlette.responses import Response

from sanad.portal.web import redirect, render, session_of

router = APIRouter()


@router.get("/", response_class=HTMLResponse)
async def home(request: Request) -> Response:
    session = session_of(request)
    await session.ensure_fresh()
    if session.role == "caseworker":
        return redirect("/review")
    profile = None
    if session.role == "citizen":
        answer = await session.call("GET", "/v1/profile")
        profile = answer.json() if answer.status_code == 200 else None
    return render(request, "home.html", profile=profile)
