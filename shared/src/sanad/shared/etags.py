"""Conditional reads (RFC 9110 §13.1.2): a client that sends back the ``ETag`` it holds in
``If-None-Match`` gets ``304 Not Modified`` and no body when nothing changed."""

from __future__ import annotations

from fastapi import Response

JSON = "application/json"


def none_match(if_none_match: str | None, etag: str) -> bool:
    """Whether ``If-None-Match`` names ``etag`` (or is ``*``): the weak comparison the
    RFC prescribes for this header, so ``W/"3"`` matches ``"3"``."""
    if not if_none_match:
        return False
    tags = [tag.strip().removeprefix("W/") for tag in if_none_match.split(",")]
    return "*" in tags or etag.removeprefix("W/") in tags


def not_modified(etag: str) -> Response:
    return Response(status_code=304, headers={"ETag": etag})


def json_answer(body: bytes, etag: str, if_none_match: str | None, status: int = 200) -> Response:
    """The body, already encoded, with its ``ETag``; 304 if the client holds that version."""
    if none_match(if_none_match, etag):
        return not_modified(etag)
    return Response(body, status_code=status, media_type=JSON, headers={"ETag": etag})
