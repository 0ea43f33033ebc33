"""Merging the services' OpenAPI documents into one."""

from typing import Any

from sanad.gateway.openapi_merge import merge


def doc(paths: dict[str, Any], schemas: dict[str, Any]) -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {"title": "x", "version": "0"},
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }


def op(operation_id: str, ref: str, tags: list[str] | None = None) -> dict[str, Any]:
    result: dict[str, Any] = {
        "operationId": operation_id,
        "responses": {
            "200": {"content": {"application/json": {"schema": {"$ref": ref}}}},
        },
    }
    if tags is not None:
        result["tags"] = tags
    return result


IDENTITY = doc(
    {
        "/v1/auth/login": {"post": op("login", "#/components/schemas/Token", ["auth"])},
        "/healthz": {"get": op("healthz", "#/components/schemas/Error")},
        "/v1/profile/me": {"get": op("sneaky", "#/components/schemas/Error")},
    },
    {
        "Token": {"type": "object", "properties": {"err": {"$ref": "#/components/schemas/Error"}}},
        "Error": {"type": "object"},
    },
)
PROFILE = doc(
    {"/v1/profile/me": {"get": op("me", "#/components/schemas/Error")}},
    {"Error": {"type": "string"}},
)
OWN = {"paths": {"/healthz": {"get": {"operationId": "healthz"}}}}


def test_only_paths_routed_to_each_service_are_kept_with_prefixed_ids_and_tags() -> None:
    merged = merge(OWN, {"identity": IDENTITY, "profile": PROFILE}, unavailable=[])
    assert set(merged["paths"]) == {"/healthz", "/v1/auth/login", "/v1/profile/me"}
    assert merged["paths"]["/healthz"] == {"get": {"operationId": "healthz"}}  # the gateway's
    login = merged["paths"]["/v1/auth/login"]["post"]
    assert login["operationId"] == "identity.login"
    assert login["tags"] == ["identity.auth"]
    me = merged["paths"]["/v1/profile/me"]["get"]
    assert me["operationId"] == "profile.me"
    assert me["tags"] == ["profile"]
    assert {"name": "identity.auth"} in merged["tags"]


def test_same_named_schemas_of_two_services_stay_apart_and_refs_follow() -> None:
    merged = merge(OWN, {"identity": IDENTITY, "profile": PROFILE}, unavailable=[])
    schemas = merged["components"]["schemas"]
    assert schemas["identity.Error"] == {"type": "object"}
    assert schemas["profile.Error"] == {"type": "string"}
    assert schemas["identity.Token"]["properties"]["err"]["$ref"] == (
        "#/components/schemas/identity.Error"
    )
    login = merged["paths"]["/v1/auth/login"]["post"]
    ref = login["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    assert ref == "#/components/schemas/identity.Token"
    assert merged["components"]["securitySchemes"]["bearer"] == {
        "type": "http",
        "scheme": "bearer",
    }


def test_a_service_that_is_down_is_listed_and_left_out() -> None:
    merged = merge(OWN, {"identity": IDENTITY}, unavailable=["profile"])
    assert merged["x-unavailable"] == ["profile"]
    assert merged["x-services"] == ["identity"]
    assert "/v1/profile/me" not in merged["paths"]  # identity's stray path is not taken either


def test_the_input_documents_are_not_changed() -> None:
    before = repr(IDENTITY)
    merge(OWN, {"identity": IDENTITY}, unavailable=[])
    assert repr(IDENTITY) == before


def test_the_gateway_adds_its_own_answers_and_keeps_one_problem_schema() -> None:
    problem_ref = {"$ref": "#/components/schemas/Problem"}
    login = op("login", "#/components/schemas/Token")
    login["responses"]["422"] = {"content": {"application/problem+json": {"schema": problem_ref}}}
    me = op("me", "#/components/schemas/Token")
    identity = doc(
        {"/v1/auth/login": {"post": login}, "/v1/auth/me": {"get": me}},
        {"Token": {"type": "object"}, "Problem": {"type": "object"}},
    )
    merged = merge({}, {"identity": identity}, unavailable=[])
    public = merged["paths"]["/v1/auth/login"]["post"]
    private = merged["paths"]["/v1/auth/me"]["get"]
    assert {"422", "429", "503", "504"} <= set(public["responses"])
    assert "security" not in public and "401" not in public["responses"]
    assert private["security"] == [{"bearerAuth": []}]
    assert {"401", "429", "503", "504"} <= set(private["responses"])
    assert public["responses"]["429"]["headers"]["Retry-After"]
    # The shared Problem schema is not prefixed with a service name.
    assert public["responses"]["422"]["content"]["application/problem+json"]["schema"] == (
        problem_ref
    )
    assert "Problem" in merged["components"]["schemas"]
    assert "identity.Problem" not in merged["components"]["schemas"]
