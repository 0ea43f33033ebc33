"""Which headers cross the gateway, each way. Pure rules: no I/O."""

from __future__ import annotations

from collections.abc import Iterable

from sanad.shared.auth import Principal

SUBJECT_HEADER = "x-sanad-subject"
ROLE_HEADER = "x-sanad-role"
REQUEST_ID_HEADER = "x-request-id"

# RFC 9110 §7.6.1: meaningful for one connection only, never forwarded.
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)
# Set by the gateway itself: a client must never choose who it is, nor the request id.
GATEWAY_SET = frozenset({SUBJECT_HEADER, ROLE_HEADER, REQUEST_ID_HEADER})
# Recomputed for the new connection.
RECOMPUTED = frozenset({"host", "content-length"})
# Set again by the gateway's own server (and the request id by its middleware).
RESPONSE_OWN = frozenset({"date", "server", REQUEST_ID_HEADER})

Headers = list[tuple[str, str]]


def _connection_listed(headers: Iterable[tuple[str, str]]) -> set[str]:
    """Headers named in ``Connection`` are hop-by-hop too."""
    listed: set[str] = set()
    for name, value in headers:
        if name.lower() == "connection":
            listed.update(token.strip().lower() for token in value.split(",") if token.strip())
    return listed


def upstream_request_headers(
    incoming: Iterable[tuple[str, str]],
    *,
    principal: Principal | None,
    request_id: str,
    client_ip: str,
    scheme: str,
) -> Headers:
    """The headers a downstream service gets: the client's, minus hop-by-hop and anything
    the gateway vouches for, plus the verified caller and the request id."""
    incoming = list(incoming)
    dropped = HOP_BY_HOP | GATEWAY_SET | RECOMPUTED | _connection_listed(incoming)
    forwarded_for = [value for name, value in incoming if name.lower() == "x-forwarded-for"]
    dropped |= {"x-forwarded-for", "x-forwarded-proto", "x-forwarded-host"}
    out = [(name, value) for name, value in incoming if name.lower() not in dropped]
    host = next((value for name, value in incoming if name.lower() == "host"), None)
    out.append(("x-forwarded-for", ", ".join([*forwarded_for, client_ip])))
    out.append(("x-forwarded-proto", scheme))
    if host:
        out.append(("x-forwarded-host", host))
    out.append((REQUEST_ID_HEADER, request_id))
    if principal is not None:
        out.append((SUBJECT_HEADER, principal.subject))
        out.append((ROLE_HEADER, principal.role.value))
    return out


def downstream_response_headers(
    incoming: Iterable[tuple[str, str]], upstream_origin: str
) -> Headers:
    """The headers the client gets back from a downstream answer.

    A ``Location`` on the service's own origin (a trailing-slash redirect, say) becomes
    relative, so it leads back through the gateway and never reveals the internal address.
    """
    incoming = list(incoming)
    dropped = HOP_BY_HOP | RESPONSE_OWN | _connection_listed(incoming)
    origin = upstream_origin.rstrip("/")
    out = []
    for name, value in incoming:
        if name.lower() in dropped:
            continue
        if name.lower() in ("location", "content-location") and value.startswith(origin + "/"):
            value = value[len(origin) :]
        out.append((name, value))
    return out
