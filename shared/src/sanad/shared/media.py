"""415 for a body in a media type the operation does not read.

FastAPI parses a body as JSON only when its ``Content-Type`` says JSON; any other type (or
none) reaches validation as raw bytes and answers a misleading 422 — or, for a route that
takes any JSON value, is accepted as bytes. ``require_media_type`` is an application-wide
dependency: FastAPI solves it before it validates the body, so a wrong or missing
``Content-Type`` answers 415 problem+json and the body (already bounded by
``RequestGuard``) is never parsed.
"""

from __future__ import annotations

from email.message import Message as MimeMessage
from typing import Any

from fastapi import Request, params
from fastapi.routing import APIRoute

from sanad.shared.problems import FieldError, Problem, ProblemException

JSON = ("application/json",)
FORM = ("multipart/form-data", "application/x-www-form-urlencoded")


def media_type_of(content_type: str | None) -> str | None:
    if not content_type:
        return None
    message = MimeMessage()
    message["content-type"] = content_type
    return message.get_content_type()


def accepts(media_type: str | None, accepted: tuple[str, ...]) -> bool:
    if media_type is None:
        return False
    if accepted == JSON:
        return media_type == "application/json" or media_type.endswith("+json")
    return media_type in accepted


def expected_media_types(route: Any) -> tuple[str, ...] | None:
    """What the route reads its body as, or None if it takes no body."""
    body_field = getattr(route, "body_field", None)
    if body_field is None:
        return None
    return FORM if isinstance(body_field.field_info, params.Form) else JSON


def unsupported(media_type: str | None, accepted: tuple[str, ...], method: str) -> Problem:
    wanted = " or ".join(accepted)
    headers = {}
    if method in ("POST", "PATCH"):
        # RFC 9110 §15.5.16: say which media types are accepted.
        headers[f"Accept-{method.title()}"] = ", ".join(accepted)
    return Problem(
        415,
        "Unsupported Media Type",
        f"The body must be sent as {wanted} (got {media_type or 'no Content-Type'}).",
        "unsupported-media-type",
        errors=[FieldError("header.content-type", f"must be {wanted}", "unsupported_media_type")],
        headers=headers,
    )


def _has_body(request: Request) -> bool:
    length = request.headers.get("content-length")
    if length is not None:
        return length.strip() not in ("", "0")
    return "transfer-encoding" in request.headers


async def require_media_type(request: Request) -> None:
    route = request.scope.get("route")
    if not isinstance(route, APIRoute) or not _has_body(request):
        return
    accepted = expected_media_types(route)
    if accepted is None:
        return
    media_type = media_type_of(request.headers.get("content-type"))
    if not accepts(media_type, accepted):
        raise ProblemException(unsupported(media_type, accepted, request.method))
