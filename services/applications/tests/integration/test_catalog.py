"""The program catalog on the real Postgres and Redis: public, cached, dropped on change."""

from __future__ import annotations

from typing import Any

from sanad.applications.adapters.program_cache import GENERATION_KEY, PREFIX
from sanad.shared.auth import Role

from .conftest import World


async def test_the_seeded_catalog_is_public_in_both_languages(world: World) -> None:
    response = await world.client.get("/v1/programs")
    assert response.status_code == 200
    programs = {p["code"]: p for p in response.json()["items"]}
    assert {"SSP-DEV", "FOOD-SUPPORT", "ELECTRICITY-SUPPORT", "IQ-SPN"} <= set(programs)
    ssp = programs["SSP-DEV"]
    assert ssp["name_ar"] == "الضمان الاجتماعي المطور"
    assert ssp["name_en"] == "Developed Social Security"
    assert {d["kind"] for d in ssp["required_documents"] if d["mandatory"]} == {
        "national_id",
        "family_register",
        "proof_of_income",
        "bank_account",
    }
    one = await world.client.get("/v1/programs/IQ-SPN")
    assert one.status_code == 200
    assert len(one.json()["categories"]) == 6


async def test_reads_are_cached_and_an_admin_change_drops_the_cache(world: World) -> None:
    redis = world.infra.redis_admin()
    try:
        await world.client.get("/v1/programs/FOOD-SUPPORT")
        generation = await redis.get(GENERATION_KEY) or "0"
        cached = await redis.get(f"{PREFIX}{generation}:program:FOOD-SUPPORT")
        assert cached is not None and '"FOOD-SUPPORT"' in cached

        current: dict[str, Any] = (await world.client.get("/v1/programs/FOOD-SUPPORT")).json()
        changed = {k: v for k, v in current.items() if k not in ("code", "version")}
        changed["completion_window_days"] = current["completion_window_days"] % 30 + 1
        admin = world.staff(Role.ADMIN)
        response = await world.client.put("/v1/programs/FOOD-SUPPORT", json=changed, headers=admin)
        assert response.status_code == 200, response.text
        assert response.json()["version"] == current["version"] + 1

        assert await redis.get(GENERATION_KEY) != generation
        after = (await world.client.get("/v1/programs/FOOD-SUPPORT")).json()
        assert after["completion_window_days"] == changed["completion_window_days"]
        listed = (await world.client.get("/v1/programs")).json()["items"]
        assert [p["version"] for p in listed if p["code"] == "FOOD-SUPPORT"] == [after["version"]]
    finally:
        await redis.aclose()


async def test_only_admins_change_programs_and_bad_programs_name_the_field(world: World) -> None:
    current = (await world.client.get("/v1/programs/SSP-DEV")).json()
    body = {k: v for k, v in current.items() if k not in ("code", "version")}
    for role in (Role.CITIZEN, Role.CASEWORKER, Role.AUDITOR):
        response = await world.client.put(
            "/v1/programs/SSP-DEV", json=body, headers=world.staff(role)
        )
        assert response.status_code == 403
    admin = world.staff(Role.ADMIN)
    bad = body | {"appeal_window_days": 0}
    response = await world.client.put("/v1/programs/SSP-DEV", json=bad, headers=admin)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert [e["field"] for e in response.json()["errors"]] == ["body.appeal_window_days"]
    response = await world.client.put("/v1/programs/not a code", json=body, headers=admin)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "path.code"
    unchanged = (await world.client.get("/v1/programs/SSP-DEV")).json()
    assert unchanged["version"] == current["version"]
