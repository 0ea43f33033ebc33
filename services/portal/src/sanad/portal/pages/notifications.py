"""The messages Sanad sent the citizen (SMS and email): what, when, and whether it went."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from starlette.responses import Response

from sanad.portal.pages.applications import citizen
from sanad.portal.problems import from_response
from sanad.portal.web import render

router = APIRouter()


@router.get("/notifications", response_class=HTMLResponse)
async def received(request: Request) -> Response:
    session = await citizen(request)
    answer = await session.call("GET", "/v1/notifications", params={"limit": 50})
    if answer.status_code != 200:
        return render(
            request,
            "notifications.html",
            status=answer.status_code,
            errors=from_response(answer),
            items=[],
        )
    return render(request, "notifications.html", items=answer.json()["items"])
