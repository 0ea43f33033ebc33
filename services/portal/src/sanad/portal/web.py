"""What every page shares: the template environment, the request's language and session,
and the middleware that sets cookies and security headers on every answer."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.responses import Response

from sanad.portal import i18n, vocab
from sanad.portal.gateway import Gateway, serving
from sanad.portal.problems import FormErrors
from sanad.portal.security import (
    CSRF_COOKIE,
    CSRF_FIELD,
    add_security_headers,
    csrf_token,
)
from sanad.portal.session import Session, clear_tokens, secure_cookies, set_tokens
from sanad.portal.settings import PortalSettings

HERE = Path(__file__).parent
YEAR = 365 * 24 * 3600

# Short confirmations shown after a redirect (``?notice=<key>``).
NOTICES = {
    "registered": i18n.N_("Your account is active: sign in."),
    "signed_out": i18n.N_("You have signed out."),
    "code_sent": i18n.N_("A new code was sent."),
    "saved": i18n.N_("Saved."),
    "dependent_added": i18n.N_("The dependent was added."),
    "dependent_removed": i18n.N_("The dependent was removed."),
    "started": i18n.N_("Your application was started: fill it in and submit it."),
    "uploaded": i18n.N_("The document was uploaded."),
    "removed": i18n.N_("The document was removed."),
    "submitted": i18n.N_("Your application was submitted."),
    "appealed": i18n.N_("Your appeal was filed."),
    "decided": i18n.N_("The decision was recorded."),
    "card_requested": i18n.N_("Your card is ready."),
}


def _pick(item: dict[str, Any] | None, stem: str) -> str:
    """``item[stem + "_ar"]`` on an Arabic page, ``item[stem + "_en"]`` on an English one."""
    if not item:
        return ""
    code = i18n.current().code
    other = "en" if code == "ar" else "ar"
    return str(item.get(f"{stem}_{code}") or item.get(f"{stem}_{other}") or "")


def _name_options(items: list[dict[str, Any]], key: str) -> list[tuple[str, str]]:
    """(code, name in the page's language) of catalog items, for a select."""
    return [(str(item[key]), _pick(item, "name")) for item in items]


def _completed(profile: dict[str, Any]) -> tuple[int, int]:
    """(sections complete, sections) of a profile's completeness."""
    parts = {k: v for k, v in profile.get("completeness", {}).items() if k != "complete"}
    return sum(1 for v in parts.values() if v), len(parts)


def make_environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=select_autoescape(["html"]),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_callables(  # type: ignore[attr-defined]
        i18n.gettext, i18n.ngettext, newstyle=True
    )
    env.filters.update(
        date=i18n.fmt_date,
        datetime=i18n.fmt_datetime,
        money=i18n.fmt_money,
        number=i18n.fmt_number,
    )
    env.globals.update(
        name_options=_name_options,
        completed=_completed,
        label=vocab.label,
        options=vocab.options,
        pick=_pick,
        csrf_field=CSRF_FIELD,
        notices=NOTICES,
    )
    return env


ENVIRONMENT = make_environment()


def settings_of(request: Request) -> PortalSettings:
    settings: PortalSettings = request.app.state.portal_settings
    return settings


def gateway_of(request: Request) -> Gateway:
    gateway: Gateway = request.app.state.gateway
    return gateway


def session_of(request: Request) -> Session:
    found: Session | None = getattr(request.state, "session", None)
    if found is None:
        found = Session(request, gateway_of(request))
        request.state.session = found
    return found


class SignInNeeded(Exception):
    """A page for signed-in people, reached without a session (or with the wrong role)."""


def safe_next(target: str | None, default: str = "/") -> str:
    """Only a path on this site (never ``//other.example`` or a scheme)."""
    if not target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return default
    return target


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def to_sign_in(request: Request) -> RedirectResponse:
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return redirect(f"/login?next={quote(here)}")


def render(
    request: Request,
    template: str,
    *,
    status: int = 200,
    errors: FormErrors | None = None,
    values: dict[str, Any] | None = None,
    **context: Any,
) -> HTMLResponse:
    session = session_of(request)
    language = i18n.current()
    page = ENVIRONMENT.get_template(template).render(
        request=request,
        lang=language,
        csrf_token=csrf_token(request),
        signed_in=session.signed_in and session.role is not None,
        role=session.role,
        path=request.url.path,
        errors=errors or FormErrors(),
        values=values or {},
        notice=request.query_params.get("notice", ""),
        **context,
    )
    return HTMLResponse(page, status_code=status)


Handler = Callable[[Request], Awaitable[Response]]


async def portal_middleware(request: Request, call_next: Handler) -> Response:
    """The language of the request and the browser's address (for the gateway); then, on
    the answer, the session's cookie changes, the CSRF cookie for a new browser, and the
    security headers."""
    settings = settings_of(request)
    i18n.use(request.cookies.get(i18n.COOKIE) or settings.default_language)
    serving(request.client.host if request.client else None)
    token = csrf_token(request)
    response = await call_next(request)
    secure = secure_cookies(request, settings.cookie_secure)
    new_tokens = getattr(request.state, "new_tokens", None)
    if getattr(request.state, "end_session", False):
        clear_tokens(response, secure=secure)
    elif new_tokens is not None:
        set_tokens(response, new_tokens, secure=secure)
    if request.cookies.get(CSRF_COOKIE) != token:
        response.set_cookie(
            CSRF_COOKIE, token, path="/", secure=secure, httponly=True, samesite="strict"
        )
    content_type = response.headers.get("content-type", "")
    add_security_headers(response.headers, html=content_type.startswith("text/html"))
    return response


def remember_language(response: Response, request: Request, code: str) -> None:
    response.set_cookie(
        i18n.COOKIE,
        code if code in i18n.LANGUAGES else i18n.DEFAULT_LANGUAGE,
        max_age=YEAR,
        path="/",
        secure=secure_cookies(request, settings_of(request).cookie_secure),
        httponly=True,
        samesite="strict",
    )
