"""HTTP API. Public: the key set and verification (anyone, offline verifiers included).
Citizens: their cards and asking for one; caseworkers: suspend and revoke; caseworkers and
auditors: read any card; admins: rotate the signing key."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from sanad.cards import service
from sanad.cards.domain.card import Card, Status
from sanad.cards.domain.number import grouped
from sanad.cards.domain.token import MAX_TOKEN_CHARS
from sanad.cards.render import render_pdf, render_png
from sanad.shared.app import runtime_of
from sanad.shared.auth import Principal, authenticate
from sanad.shared.clock import Clock
from sanad.shared.db import SessionFactory
from sanad.shared.openapi import problems
from sanad.shared.text import PLAIN_MULTILINE

router = APIRouter(prefix="/v1/cards", tags=["cards"])


@dataclass(frozen=True)
class Context:
    clock: Clock
    ring: service.KeyRing
    issuer: str


async def sessions_of(request: Request) -> SessionFactory:
    return runtime_of(request).require_sessions()


async def context_of(request: Request) -> Context:
    context: Context = request.app.state.cards
    return context


Caller = Annotated[Principal, Depends(authenticate)]
Sessions = Annotated[SessionFactory, Depends(sessions_of)]
Ctx = Annotated[Context, Depends(context_of)]
ProgramCode = Annotated[str, StringConstraints(pattern=r"^[A-Z][A-Z0-9-]{1,31}$")]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CardRequest(Strict):
    program_code: ProgramCode


class StatusChange(Strict):
    reason: Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=3, max_length=500),
        PLAIN_MULTILINE,
    ]


class TokenCheck(Strict):
    token: str = Field(min_length=1, max_length=MAX_TOKEN_CHARS)


def card_json(card: Card) -> dict[str, Any]:
    return {
        "card_id": str(card.card_id),
        "card_number": grouped(card.card_number),
        "citizen_id": str(card.citizen_id),
        "program_code": card.program_code,
        "program_name_ar": card.program_name_ar,
        "program_name_en": card.program_name_en,
        "application_id": str(card.application_id),
        "holder_name_ar": card.holder_name_ar,
        "holder_name_en": card.holder_name_en,
        "monthly_benefit": None if card.monthly_benefit is None else f"{card.monthly_benefit:.2f}",
        "issued_at": card.issued_at.isoformat(),
        "expires_on": card.expires_on.isoformat(),
        "status": card.status.value,
        "status_reason": card.status_reason,
        "status_changed_at": card.status_changed_at.isoformat(),
        "links": {
            "png": f"/v1/cards/{card.card_id}.png",
            "pdf": f"/v1/cards/{card.card_id}.pdf",
        },
    }


@router.get("/keys", operation_id="card_keys")
async def keys(sessions: Sessions, response: Response) -> dict[str, object]:
    """Public: the Ed25519 public keys that verify card QR codes (JWK set)."""
    response.headers["Cache-Control"] = "public, max-age=300"
    return await service.key_set(sessions)


@router.post("/keys/rotate", operation_id="rotate_card_key")
async def rotate(caller: Caller, sessions: Sessions, ctx: Ctx) -> dict[str, object]:
    return await service.rotate_key(sessions, ctx.ring, ctx.clock, caller)


@router.post("/verify", operation_id="verify_card")
async def verify(body: TokenCheck, sessions: Sessions, ctx: Ctx) -> dict[str, object]:
    """Public: valid, invalid, expired, suspended or revoked, with why."""
    verification, _ = await service.check_token(sessions, ctx.clock, body.token, ctx.issuer)
    return {
        "result": verification.result,
        "reason": verification.reason,
        "kid": verification.kid,
        "card": None if verification.claims is None else verification.claims.as_json(),
    }


@router.post("", operation_id="request_card", status_code=201, responses=problems(409))
async def request_card(
    body: CardRequest, caller: Caller, sessions: Sessions, ctx: Ctx, response: Response
) -> dict[str, Any]:
    requested = await service.request_card(sessions, ctx.clock, caller, body.program_code)
    if not requested.created:
        response.status_code = 200
    response.headers["Location"] = f"/v1/cards/{requested.card.card_id}"
    return card_json(requested.card)


@router.get("/me", operation_id="my_cards")
async def my_cards(caller: Caller, sessions: Sessions) -> dict[str, Any]:
    return {"items": [card_json(card) for card in await service.my_cards(sessions, caller)]}


# Renderings are drawn in one thread of their own: tens of milliseconds of Pillow and segno
# would otherwise hold every other request and the inbox on this event loop. One thread, so
# the font's FreeType face is never used by two renderings at once.
_RENDERER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="card-render")


async def _rendered(render: Callable[[Card, str], bytes], card: Card, token: str) -> bytes:
    return await asyncio.get_running_loop().run_in_executor(_RENDERER, render, card, token)


@router.get("/{card_id}.png", operation_id="card_png", response_class=Response)
async def card_png(card_id: UUID, caller: Caller, sessions: Sessions, ctx: Ctx) -> Response:
    card = await service.read_card(sessions, caller, card_id)
    token = await service.token_of(sessions, ctx.ring, card, ctx.issuer)
    image = await _rendered(render_png, card, token)
    return Response(image, media_type="image/png", headers=_private())


@router.get("/{card_id}.pdf", operation_id="card_pdf", response_class=Response)
async def card_pdf(card_id: UUID, caller: Caller, sessions: Sessions, ctx: Ctx) -> Response:
    card = await service.read_card(sessions, caller, card_id)
    token = await service.token_of(sessions, ctx.ring, card, ctx.issuer)
    document = await _rendered(render_pdf, card, token)
    return Response(document, media_type="application/pdf", headers=_private())


@router.get("/{card_id}", operation_id="card")
async def card(card_id: UUID, caller: Caller, sessions: Sessions, ctx: Ctx) -> dict[str, Any]:
    found = await service.read_card(sessions, caller, card_id)
    token = await service.token_of(sessions, ctx.ring, found, ctx.issuer)
    return card_json(found) | {"qr_token": token}


@router.post("/{card_id}/suspend", operation_id="suspend_card", responses=problems(409))
async def suspend(
    card_id: UUID, body: StatusChange, caller: Caller, sessions: Sessions, ctx: Ctx
) -> dict[str, Any]:
    card = await service.change_status(
        sessions, ctx.clock, caller, card_id, Status.SUSPENDED, body.reason
    )
    return card_json(card)


@router.post("/{card_id}/reinstate", operation_id="reinstate_card", responses=problems(409))
async def reinstate(
    card_id: UUID, body: StatusChange, caller: Caller, sessions: Sessions, ctx: Ctx
) -> dict[str, Any]:
    """A suspended card active again, while the holder's approval stands."""
    card = await service.change_status(
        sessions, ctx.clock, caller, card_id, Status.ACTIVE, body.reason
    )
    return card_json(card)


@router.post("/{card_id}/revoke", operation_id="revoke_card", responses=problems(409))
async def revoke(
    card_id: UUID, body: StatusChange, caller: Caller, sessions: Sessions, ctx: Ctx
) -> dict[str, Any]:
    card = await service.change_status(
        sessions, ctx.clock, caller, card_id, Status.REVOKED, body.reason
    )
    return card_json(card)


def _private() -> dict[str, str]:
    return {"Cache-Control": "private, no-store"}
