"""Which service a path belongs to, and which requests need no access token.

Pure rules: no I/O. The route table is the one place that says what the gateway fronts.
"""

from __future__ import annotations

from dataclasses import dataclass

# Path prefix → service. A prefix matches itself and anything below it (`/v1/auth`,
# `/v1/auth/login`), never a longer sibling (`/v1/authx`).
ROUTES: tuple[tuple[str, str], ...] = (
    ("/v1/auth", "identity"),
    ("/.well-known", "identity"),
    ("/v1/profile", "profile"),
    ("/v1/programs", "applications"),
    ("/v1/applications", "applications"),
    ("/v1/review", "applications"),
    ("/v1/eligibility", "eligibility"),
    ("/v1/notifications", "notifications"),
    ("/v1/cards", "cards"),
    ("/v1/audit", "audit"),
)

SERVICES: tuple[str, ...] = tuple(dict.fromkeys(service for _, service in ROUTES))

# Reached without a token: signing up, signing in, token keys, browsing programs, and the
# card verification (anyone checks a card's QR; the card signing keys are public too).
PUBLIC_POST = frozenset(
    {
        "/v1/auth/register",
        "/v1/auth/register/verify",
        "/v1/auth/register/resend",
        "/v1/auth/login",
        "/v1/auth/refresh",
        "/v1/cards/verify",
    }
)
PUBLIC_READ_PREFIXES = ("/.well-known", "/v1/programs", "/v1/cards/keys")
READ_METHODS = frozenset({"GET", "HEAD"})


@dataclass(frozen=True)
class Route:
    service: str
    public: bool


def _under(path: str, prefix: str) -> bool:
    return path == prefix or path.startswith(prefix + "/")


def _plain(path: str) -> bool:
    """No empty, ``.`` or ``..`` segments: a path that a server downstream could read
    differently from the gateway (and so reach a private route through a public one)."""
    segments = path.split("/")[1:]
    if segments and segments[-1] == "":
        segments = segments[:-1]  # a trailing slash is harmless
    return path.startswith("/") and all(s not in ("", ".", "..") for s in segments)


def service_for(path: str) -> str | None:
    """The service that serves ``path``, or None when the gateway fronts no such path."""
    if not _plain(path):
        return None
    for prefix, service in ROUTES:
        if _under(path, prefix):
            return service
    return None


def is_public(method: str, path: str) -> bool:
    normalized = path.rstrip("/") or "/"
    method = method.upper()
    if method == "POST" and normalized in PUBLIC_POST:
        return True
    return method in READ_METHODS and any(_under(normalized, p) for p in PUBLIC_READ_PREFIXES)


def route(method: str, path: str) -> Route | None:
    service = service_for(path)
    if service is None:
        return None
    return Route(service=service, public=is_public(method, path))
