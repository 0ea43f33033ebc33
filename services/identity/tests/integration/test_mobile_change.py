"""Changing the mobile on the real Postgres, Redis and Kafka: the new number must be
registered to the ID (the registration's check), a code goes to the old number and one to the
new, both are needed; then the account changes and MobileChanged is published."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from sanad.identity.models import mobile_changes
from sanad.shared import topics
from sanad.shared.crypto import unseal

from .conftest import NOTIFICATIONS_DEV_OTP_KEY

Factory = Any


async def test_a_new_mobile_needs_the_registry_and_codes_to_both_numbers(
    identity_app: Factory,
) -> None:
    identity = await identity_app()
    person = await identity.new_person(mobiles=["0551230001", "0551230002"])
    old, new = person.mobiles
    _, citizen_id = await identity.registered_citizen(person)  # registered with the first
    tokens = (await identity.login(person.national_id)).json()
    auth = {"Authorization": f"Bearer {tokens['access_token']}"}
    identity.clock.advance(60)  # past the cooldown of the registration's code

    async def start(mobile: str) -> Any:
        return await identity.http.post("/v1/auth/mobile", json={"mobile": mobile}, headers=auth)

    async def confirm(change_id: str, old_code: str, new_code: str, headers: Any = None) -> Any:
        return await identity.http.post(
            "/v1/auth/mobile/verify",
            json={"change_id": change_id, "old_code": old_code, "new_code": new_code},
            headers=headers or auth,
        )

    # A number not registered to the ID: the same answer as a registration mismatch, nothing
    # written, no code sent.
    stranger = await start("0559990001")
    assert stranger.status_code == 422
    assert stranger.json()["errors"][0]["field"] == "body.mobile"
    assert stranger.json()["errors"][0]["code"] == "registry_mismatch"
    async with identity.sessions() as session:
        query = select(func.count()).select_from(mobile_changes)
        query = query.where(mobile_changes.c.new_mobile == "+966559990001")
        assert (await session.execute(query)).scalar_one() == 0
    assert (await start(old)).json()["errors"][0]["code"] == "same_mobile"
    assert (await identity.http.post("/v1/auth/mobile", json={"mobile": new})).status_code == 401

    started = await start(new)
    assert started.status_code == 202, started.text
    change_id = started.json()["change_id"]
    codes = {
        e.payload["mobile"]: unseal(NOTIFICATIONS_DEV_OTP_KEY, e.payload["encrypted_code"]).decode()
        for e in await identity.events(topics.OTP_REQUESTED, change_id, count=2)
    }
    assert set(codes) == {old, new}
    wrong = f"{(int(codes[new]) + 1) % 1_000_000:06d}"

    refused = await confirm(change_id, codes[old], wrong)
    assert refused.status_code == 422
    assert [e["field"] for e in refused.json()["errors"]] == ["body.new_code"]
    me = await identity.http.get("/v1/auth/me", headers=auth)
    assert me.json()["mobile"] == old  # unchanged

    # Someone else cannot confirm it.
    other, _ = await identity.registered_citizen()
    other_token = (await identity.login(other.national_id)).json()["access_token"]
    theirs = await confirm(
        change_id, codes[old], codes[new], {"Authorization": f"Bearer {other_token}"}
    )
    assert theirs.status_code == 404

    done = await confirm(change_id, codes[old], codes[new])
    assert done.status_code == 200, done.text
    assert done.json() == {"mobile": new}
    assert (await identity.http.get("/v1/auth/me", headers=auth)).json()["mobile"] == new
    (changed,) = await identity.events(topics.MOBILE_CHANGED, citizen_id)
    assert changed.payload["mobile"] == new
    assert "national_id" not in changed.payload
    assert (await confirm(change_id, codes[old], codes[new])).status_code == 404  # once
