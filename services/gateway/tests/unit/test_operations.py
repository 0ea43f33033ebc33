"""The methods each documented path takes, for the gateway's own 405."""

from __future__ import annotations

from sanad.gateway.operations import OperationIndex

DOC = {
    "paths": {
        "/v1/profile": {"get": {}},
        "/v1/profile/{section}": {"put": {}},
        "/v1/profile/dependents": {"get": {}, "post": {}},
        "/v1/profile/dependents/{dependent_id}": {"get": {}, "put": {}, "delete": {}},
        "/v1/cards/verify": {"post": {}},
        "/v1/cards/{card_id}": {"get": {}},
        "/v1/cards/{card_id}.png": {"get": {}},
        "/healthz": {"get": {}, "parameters": []},
    }
}
INDEX = OperationIndex(DOC)


def test_a_literal_path_takes_its_own_methods_not_a_templates() -> None:
    assert INDEX.allowed("/v1/profile") == {"GET"}
    assert INDEX.allowed("/v1/profile/dependents") == {"GET", "POST"}  # not PUT /{section}
    assert INDEX.allowed("/v1/cards/verify") == {"POST"}  # not GET /{card_id}


def test_templates_match_one_segment_each() -> None:
    assert INDEX.allowed("/v1/profile/housing") == {"PUT"}
    assert INDEX.allowed("/v1/profile/dependents/abc") == {"GET", "PUT", "DELETE"}
    assert INDEX.allowed("/v1/cards/abc.png") == {"GET"}
    assert INDEX.allowed("/healthz") == {"GET"}


def test_an_undocumented_path_is_left_to_the_route_table() -> None:
    assert INDEX.allowed("/v1/profile/housing/extra") is None
    assert INDEX.allowed("/v1/nothing") is None
