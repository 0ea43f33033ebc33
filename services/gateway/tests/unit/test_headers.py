"""What crosses the gateway each way."""

from sanad.gateway.headers import downstream_response_headers, upstream_request_headers
from sanad.shared.auth import Principal, Role

CALLER = Principal(subject="c-1", role=Role.CITIZEN, token_id="t-1")


def names(headers: list[tuple[str, str]]) -> list[str]:
    return [name.lower() for name, _ in headers]


def test_spoofed_identity_and_request_id_are_replaced_by_the_gateways() -> None:
    out = upstream_request_headers(
        [
            ("X-Sanad-Role", "admin"),
            ("x-sanad-subject", "someone-else"),
            ("X-Request-ID", "client-chosen"),
            ("authorization", "Bearer abc"),
        ],
        principal=CALLER,
        request_id="req-1",
        client_ip="127.0.0.9",
        scheme="http",
    )
    assert [v for n, v in out if n == "x-sanad-role"] == ["citizen"]
    assert [v for n, v in out if n == "x-sanad-subject"] == ["c-1"]
    assert [v for n, v in out if n == "x-request-id"] == ["req-1"]
    assert ("authorization", "Bearer abc") in out  # services verify the token too


def test_public_requests_carry_no_identity_at_all() -> None:
    out = upstream_request_headers(
        [("x-sanad-role", "admin"), ("X-Sanad-Subject", "x")],
        principal=None,
        request_id="r",
        client_ip="127.0.0.9",
        scheme="http",
    )
    assert "x-sanad-role" not in names(out)
    assert "x-sanad-subject" not in names(out)


def test_hop_by_hop_and_connection_listed_headers_are_dropped() -> None:
    out = upstream_request_headers(
        [
            ("Connection", "keep-alive, X-Secret-Hop"),
            ("X-Secret-Hop", "1"),
            ("Keep-Alive", "timeout=5"),
            ("Transfer-Encoding", "chunked"),
            ("TE", "trailers"),
            ("Upgrade", "websocket"),
            ("Proxy-Authorization", "Basic x"),
            ("Host", "api.sanad.example"),
            ("Content-Length", "12"),
            ("Content-Type", "application/json"),
            ("Accept-Language", "ar"),
        ],
        principal=None,
        request_id="r",
        client_ip="127.0.0.9",
        scheme="https",
    )
    assert set(names(out)) == {
        "content-type",
        "accept-language",
        "x-forwarded-for",
        "x-forwarded-proto",
        "x-forwarded-host",
        "x-request-id",
    }
    assert ("x-forwarded-host", "api.sanad.example") in out
    assert ("x-forwarded-proto", "https") in out


def test_forwarded_for_appends_the_client() -> None:
    out = upstream_request_headers(
        [("X-Forwarded-For", "203.0.113.7")],
        principal=None,
        request_id="r",
        client_ip="127.0.0.9",
        scheme="http",
    )
    assert [v for n, v in out if n == "x-forwarded-for"] == ["203.0.113.7, 127.0.0.9"]


def test_response_keeps_repeated_headers_and_drops_hop_by_hop_and_server_set_ones() -> None:
    out = downstream_response_headers(
        [
            ("content-type", "application/json"),
            ("set-cookie", "a=1"),
            ("set-cookie", "b=2"),
            ("transfer-encoding", "chunked"),
            ("connection", "close"),
            ("date", "x"),
            ("server", "uvicorn"),
            ("x-request-id", "r"),
            ("content-length", "2"),
        ],
        "http://127.0.0.1:8001",
    )
    assert out == [
        ("content-type", "application/json"),
        ("set-cookie", "a=1"),
        ("set-cookie", "b=2"),
        ("content-length", "2"),
    ]


def test_a_redirect_to_the_service_itself_is_made_relative_to_the_gateway() -> None:
    out = downstream_response_headers(
        [
            ("location", "http://127.0.0.1:8001/.well-known/jwks.json"),
            ("content-location", "http://127.0.0.1:8001/v1/auth/me?x=1"),
        ],
        "http://127.0.0.1:8001/",
    )
    assert out == [("location", "/.well-known/jwks.json"), ("content-location", "/v1/auth/me?x=1")]
    elsewhere = [("location", "https://sanad.example/after")]
    assert downstream_response_headers(elsewhere, "http://127.0.0.1:8001") == elsewhere
