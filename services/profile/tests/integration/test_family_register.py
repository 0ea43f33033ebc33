"""Dependents only as the family register confirms them, on the real Postgres and Kafka: the
register arrives with CitizenRegistered (v3: by pseudonym; v2 in the history: the numbers),
staff IDs with StaffAccountCreated (v2 / v1 likewise). Each attack is refused with a field
error and changes nothing (no new version, no event)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, date, datetime
from typing import Any

import pytest

from sanad.platform.testing import eventually
from sanad.shared import topics
from sanad.shared.events import (
    FamilyMember,
    MobileChanged,
    StaffAccountCreated,
    StaffAccountCreatedV2,
    StaffAccountCreatedV3,
)

from .conftest import PSEUDONYMS, Citizen, World, family_of, new_national_id, profile_updates


def claim(national_id: str, relationship: str = "son", **changes: Any) -> dict[str, Any]:
    return {"full_name": "Claimed", "national_id": national_id, "relationship": relationship} | (
        changes
    )


async def refused_unchanged(
    world: World, citizen: Citizen, body: dict[str, Any], field: str, code: str
) -> None:
    before = await world.profile(citizen)
    answer = await world.client.post("/v1/profile/dependents", json=body, headers=citizen.headers)
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert (answer.json()["errors"][0]["field"], answer.json()["errors"][0]["code"]) == (
        field,
        code,
    )
    after = await world.profile(citizen)
    assert after == before  # same version, same household
    assert await world.queued(citizen) == before["version"]  # no ProfileUpdated queued


def member(relationship: str, sex: str, born: date, national_id: str | None = None) -> FamilyMember:
    return FamilyMember(
        national_id=national_id or new_national_id(),
        relationship=relationship,  # type: ignore[arg-type]
        full_name_ar="فرد",
        full_name_en="Member",
        sex=sex,  # type: ignore[arg-type]
        birth_date=born,
    )


async def test_another_familys_child_is_refused(world: World) -> None:
    parent, stranger = await world.register(), await world.register()
    their_son = parent.sons[0]
    await refused_unchanged(
        world, stranger, claim(their_son), "body.national_id", "not_in_family_register"
    )
    # ...and an ID no register holds at all.
    await refused_unchanged(
        world, stranger, claim(new_national_id()), "body.national_id", "not_in_family_register"
    )


@pytest.mark.parametrize("version", [2, 3, 4])
async def test_a_registered_citizen_cannot_be_claimed_as_spouse_without_consent(
    world: World, version: int
) -> None:
    """Compared by pseudonym whether the registrations were v4, v3 (the original key's) or,
    in the history, v2."""
    husband_id = new_national_id()
    wife = await world.register(
        family=[member("spouse", "M", date(1984, 4, 4), husband_id)], version=version
    )
    await world.register(national_id=husband_id, sex="M", version=version)  # his own account
    await refused_unchanged(
        world, wife, claim(husband_id, "spouse"), "body.national_id", "has_own_account"
    )


async def test_an_impossible_relation_is_refused_and_dates_come_from_the_register(
    world: World,
) -> None:
    father = member("father", "M", date(1970, 3, 3))
    citizen = await world.register(family=[father, *family_of(sons=1)])
    # A man born in 1970 claimed as a daughter born in 2015.
    await refused_unchanged(
        world,
        citizen,
        claim(father.national_id, "daughter", birth_date="2015-01-01"),
        "body.relationship",
        "registry_mismatch",
    )
    await refused_unchanged(
        world,
        citizen,
        claim(father.national_id, "father", birth_date="2015-01-01"),
        "body.birth_date",
        "registry_mismatch",
    )
    # Without a birth date the register's is used.
    added = await world.client.post(
        "/v1/profile/dependents", json=claim(father.national_id, "father"), headers=citizen.headers
    )
    assert added.status_code == 201, added.text
    assert added.json()["birth_date"] == "1970-03-03"


@pytest.mark.parametrize("version", [1, 2, 3])
async def test_a_staff_id_is_nobodys_dependent(world: World, version: int) -> None:
    """StaffAccountCreated v2 (the pseudonym, as identity publishes it) and v1 (the number, in
    the history) alike."""
    citizen = await world.register()
    staff_son = citizen.sons[0]
    fields: dict[str, Any] = {
        "account_id": uuid.uuid4(),
        "role": "caseworker",
        "created_at": datetime.now(UTC),
    }
    ref = PSEUDONYMS.of(staff_son)
    await world.publish(
        StaffAccountCreatedV3(**fields, national_id_ref=ref, key_id=PSEUDONYMS.key_id)
        if version == 3
        else StaffAccountCreatedV2(**fields, national_id_ref=ref)
        if version == 2
        else StaffAccountCreated(**fields, national_id=staff_son)
    )

    await eventually(
        lambda: world.staff_known(staff_son), until=bool, what="StaffAccountCreated consumed"
    )
    await refused_unchanged(world, citizen, claim(staff_son), "body.national_id", "staff")


async def test_a_person_is_a_dependent_in_one_household_at_a_time(world: World) -> None:
    child = member("son", "M", date(2012, 6, 6))
    mother = await world.register(family=[child])
    father = await world.register(family=[child], sex="M")

    first, second = await asyncio.gather(
        world.client.post(
            "/v1/profile/dependents", json=claim(child.national_id), headers=mother.headers
        ),
        world.client.post(
            "/v1/profile/dependents", json=claim(child.national_id), headers=father.headers
        ),
    )
    assert sorted([first.status_code, second.status_code]) == [201, 422]
    loser = father if second.status_code == 422 else mother
    refused = second if second.status_code == 422 else first
    assert refused.json()["errors"][0]["code"] == "in_another_household"
    assert (await world.profile(loser))["dependents"] == []
    # Once removed from one household the other may claim them.
    winner, won = (mother, first) if loser is father else (father, second)
    removed = await world.client.delete(
        f"/v1/profile/dependents/{won.json()['dependent_id']}", headers=winner.headers
    )
    assert removed.status_code == 204
    again = await world.client.post(
        "/v1/profile/dependents", json=claim(child.national_id), headers=loser.headers
    )
    assert again.status_code == 201, again.text


async def test_a_profile_registered_without_a_family_register_can_claim_no_one(
    world: World,
) -> None:
    citizen = await world.register(version=1)  # CitizenRegistered v1 carries no family
    await refused_unchanged(
        world, citizen, claim(new_national_id()), "body.national_id", "not_in_family_register"
    )


async def test_a_change_of_mobile_updates_the_contact_and_tells_only_the_contact_topic(
    world: World,
) -> None:
    citizen = await world.register()
    await world.publish(
        MobileChanged(
            citizen_id=citizen.citizen_id, mobile="+966551112233", changed_at=datetime.now(UTC)
        )
    )
    profile = await eventually(
        lambda: world.profile(citizen),
        until=lambda p: p["contact"]["mobile"] == "+966551112233",
        what="the contact's new mobile",
    )
    assert profile["version"] == 2
    events = await world.events(citizen, 2)
    assert "contact" not in events[-1].payload
    assert "+966551112233" not in events[-1].to_bytes().decode()
    [contact] = await eventually(
        lambda: profile_updates(world.infra, citizen.citizen_id, topics.CONTACT_CHANGED),
        until=bool,
        what="ContactChanged",
    )
    assert (contact.event_type, contact.schema_version) == ("ContactChanged", 1)
    assert contact.payload["version"] == 2 and contact.payload["mobile"] == "+966551112233"
    assert contact.causation_id is not None
