"""What every answer carries and what every form must prove.

* **CSRF** (double submit): the browser holds a random token in the ``sanad_csrf`` cookie
  (HttpOnly, SameSite=Strict); every form carries the same token in a hidden
  ``csrf_token`` field (or a script sends it as ``X-CSRF-Token``). A state-changing request
  whose token is missing or differs, or whose ``Origin`` is another site's, is refused
  with 403 before anything reaches the gateway.
* **Headers**: a strict Content-Security-Policy (``default-src 'self'``: no inline script
  or style, no other origin, no framing), ``nosniff``, a same-origin referrer only, and
  ``no-store`` on pages (they hold personal data).
"""

from __future__ import annotations

import hmac
import secrets

from fastapi import Request
from starlette.datastructures import MutableHeaders

CSRF_COOKIE = "sanad_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "object-src 'none'",
    )
)

SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    # same-origin, not no-referrer: with no-referrer browsers send `Origin: null` on a form
    # post, and the origin check below could not tell our own forms from a foreign page.
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}


class CsrfRefused(Exception):
    """A state-changing request without the session's CSRF token."""


def new_csrf_token() -> str:
    return secrets.token_urlsafe(32)


def csrf_token(request: Request) -> str:
    """The token of this browser (a new one when it has none yet; the middleware sets it)."""
    token: str | None = getattr(request.state, "csrf_token", None)
    if token is None:
        token = request.cookies.get(CSRF_COOKIE) or new_csrf_token()
        request.state.csrf_token = token
    return token


def _same_origin(request: Request) -> bool:
    origin = request.headers.get("origin")
    if origin is None:  # not every client sends it; the token is still required
        return True
    expected = f"{request.url.scheme}://{request.headers.get('host', '')}"
    return origin == expected


async def check_csrf(request: Request) -> None:
    """A router dependency: refuse a state-changing request that does not prove it came
    from one of the portal's own pages."""
    if request.method in SAFE_METHODS:
        return
    expected = request.cookies.get(CSRF_COOKIE)
    sent = request.headers.get(CSRF_HEADER)
    if sent is None:
        form = await request.form()
        value = form.get(CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    if not expected or not sent or not hmac.compare_digest(expected, sent):
        raise CsrfRefused("missing or wrong CSRF token")
    if not _same_origin(request):
        raise CsrfRefused("cross-origin request")


def add_security_headers(headers: MutableHeaders, *, html: bool) -> None:
    for name, value in SECURITY_HEADERS.items():
        headers.setdefault(name, value)
    if html:
        headers["Cache-Control"] = "no-store"
