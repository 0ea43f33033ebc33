"""My card: the card face (PNG), its signed QR and the PDF, all fetched from the cards
service through the gateway with the holder's token (the browser never holds the token,
so the portal relays them)."""

from __future__ import annotations

import io
from typing import Any
from urllib.parse import quote

import segno
from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from starlette.responses import Response

from sanad.portal.pages.applications import citizen, programs_by_code
from sanad.portal.pages.forms import form_values
from sanad.portal.problems import from_response
from sanad.portal.security import check_csrf
from sanad.portal.web import redirect, render

router = APIRouter(dependencies=[Depends(check_csrf)])


def card_path(card_id: str, suffix: str = "") -> str:
    return f"/v1/cards/{quote(card_id, safe='')}{suffix}"


async def cards_page(request: Request, **kwargs: Any) -> Response:
    session = await citizen(request)
    answer = await session.call("GET", "/v1/cards/me")
    cards = answer.json()["items"] if answer.status_code == 200 else []
    mine = await session.call("GET", "/v1/applications", params={"status": "APPROVED"})
    approved = mine.json()["items"] if mine.status_code == 200 else []
    with_card = {c["program_code"] for c in cards if c["status"] != "revoked"}
    programs = await programs_by_code(request)
    requestable = [
        programs.get(a["program_code"], {"code": a["program_code"]})
        for a in approved
        if a["program_code"] not in with_card
    ]
    if answer.status_code != 200 and "errors" not in kwargs:
        kwargs["errors"] = from_response(answer)
    return render(request, "cards.html", cards=cards, requestable=requestable, **kwargs)


@router.get("/cards", response_class=HTMLResponse)
async def my_cards(request: Request) -> Response:
    return await cards_page(request)


@router.post("/cards/request")
async def request_card(request: Request) -> Response:
    session = await citizen(request)
    values = await form_values(request)
    answer = await session.call(
        "POST", "/v1/cards", json={"program_code": values.get("program_code", "")}
    )
    if answer.status_code in (200, 201):
        return redirect("/cards?notice=card_requested")
    return await cards_page(
        request, status=answer.status_code, errors=from_response(answer), values=values
    )


async def _relay(request: Request, path: str, media_type: str, filename: str = "") -> Response:
    session = await citizen(request)
    answer = await session.call("GET", path)
    if answer.status_code != 200:
        return Response(status_code=answer.status_code)
    headers = {"Cache-Control": "private, no-store"}
    if filename:
        headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return Response(answer.content, media_type=media_type, headers=headers)


@router.get("/cards/{card_id}/card.png")
async def card_image(request: Request, card_id: str) -> Response:
    return await _relay(request, card_path(card_id, ".png"), "image/png")


@router.get("/cards/{card_id}/card.pdf")
async def card_pdf(request: Request, card_id: str) -> Response:
    return await _relay(request, card_path(card_id, ".pdf"), "application/pdf", "sanad-card.pdf")


@router.get("/cards/{card_id}/qr.svg")
async def card_qr(request: Request, card_id: str) -> Response:
    """The card's signed QR on its own, larger than on the face, for a verifier's camera."""
    session = await citizen(request)
    answer = await session.call("GET", card_path(card_id))
    if answer.status_code != 200:
        return Response(status_code=answer.status_code)
    code = segno.make(answer.json()["qr_token"], error="m")
    # A standalone SVG document needs its namespace (svg_inline omits it: the browser then
    # shows no image).
    svg = io.BytesIO()
    code.save(svg, kind="svg", scale=4, border=2, xmldecl=False)
    return Response(
        svg.getvalue(),
        media_type="image/svg+xml",
        headers={"Cache-Control": "private, no-store"},
    )
