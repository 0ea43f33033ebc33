"""Route matching and which requests need no token."""

import pytest

from sanad.gateway.routes import SERVICES, is_public, route, service_for


@pytest.mark.parametrize(
    ("path", "service"),
    [
        ("/v1/auth/login", "identity"),
        ("/v1/auth", "identity"),
        ("/.well-known/jwks.json", "identity"),
        ("/v1/profile/me", "profile"),
        ("/v1/programs", "applications"),
        ("/v1/programs/dss/apply", "applications"),
        ("/v1/applications/123", "applications"),
        ("/v1/review/queue", "applications"),
        ("/v1/eligibility/check", "eligibility"),
        ("/v1/notifications/preferences", "notifications"),
        ("/v1/cards/abc.png", "cards"),
        ("/v1/audit/replay", "audit"),
        ("/v1/cards/", "cards"),
    ],
)
def test_each_prefix_routes_to_its_service(path: str, service: str) -> None:
    assert service_for(path) == service


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/v1",
        "/v2/auth/login",
        "/v1/authx",
        "/v1/profiles",
        "/healthz",
        "/v1/programs/../profile/me",  # a public prefix must not lead to a private one
        "/v1/programs/./x",
        "/v1/programs//x",
        "/v1/auth/..",
        "v1/auth/login",
    ],
)
def test_unknown_or_ambiguous_paths_route_nowhere(path: str) -> None:
    assert service_for(path) is None
    assert route("GET", path) is None


def test_every_service_behind_the_gateway_has_a_route() -> None:
    assert set(SERVICES) == {
        "identity",
        "profile",
        "applications",
        "eligibility",
        "notifications",
        "cards",
        "audit",
    }


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/v1/auth/register"),
        ("POST", "/v1/auth/register/verify"),
        ("POST", "/v1/auth/register/resend"),
        ("POST", "/v1/auth/login"),
        ("POST", "/v1/auth/refresh"),
        ("post", "/v1/auth/login/"),
        ("GET", "/.well-known/jwks.json"),
        ("GET", "/v1/programs"),
        ("GET", "/v1/programs/dss"),
        ("HEAD", "/v1/programs/dss"),
        ("GET", "/v1/cards/keys"),
        ("POST", "/v1/cards/verify"),
    ],
)
def test_public_routes(method: str, path: str) -> None:
    assert is_public(method, path)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v1/auth/me"),
        ("POST", "/v1/auth/logout"),
        ("GET", "/v1/auth/login"),  # only POST is public
        ("POST", "/v1/auth/register/other"),
        ("POST", "/v1/programs"),  # creating programs is staff work
        ("DELETE", "/v1/programs/dss"),
        ("GET", "/v1/programsx"),
        ("GET", "/v1/profile/me"),
        ("GET", "/v1/applications"),
        ("GET", "/v1/review/queue"),
        ("GET", "/v1/cards/me"),
        ("POST", "/v1/cards"),
        ("POST", "/v1/cards/keys/rotate"),  # only reading the keys is public
        ("GET", "/v1/cards/verify"),
        ("GET", "/v1/cards/keysx"),
    ],
)
def test_everything_else_needs_a_token(method: str, path: str) -> None:
    assert not is_public(method, path)
