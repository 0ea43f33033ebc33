"""The profile service on the real Postgres and Kafka: created by CitizenRegistered, changed
over HTTP, every committed change published once as ProfileUpdated; bad input writes nothing."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from sanad.profile.domain.sections import MAX_INCOME_SOURCES
from sanad.shared.auth import Role
from sanad.shared.events import CitizenRegistered, ProfileUpdatedV2

from .conftest import MAX_HOUSEHOLD, Citizen, World, as_event

PERSONAL = {"marital_status": "married", "has_disability": False, "is_orphan": False}
HOUSING = {
    "region": "riyadh",
    "city": "Riyadh",
    "district": "Al Olaya",
    "national_address": "RRRD2929",
    "housing_type": "rented",
    "monthly_rent": "2500",
}
INCOME = {"sources": [{"type": "salary", "monthly_amount": "3200.50", "payer": "ACME Ltd"}]}


def son(citizen: Citizen, national_id: str | None = None, **changes: Any) -> dict[str, Any]:
    """A dependent claim: by default one of the citizen's sons in their family register that
    no test claimed yet."""
    return {
        "full_name": "Yousef",
        "national_id": national_id or citizen.sons.pop(),
        "relationship": "son",
        "birth_date": "2014-02-03",
        "monthly_income": "0",
    } | changes


async def put_section(
    world: World, citizen: Citizen, section: str, body: Any, etag: str | None
) -> Any:
    headers = dict(citizen.headers)
    if etag is not None:
        headers["If-Match"] = etag
    return await world.client.put(f"/v1/profile/{section}", json=body, headers=headers)


async def test_registration_creates_a_prefilled_profile_and_publishes_version_1(
    world: World,
) -> None:
    citizen = await world.register(marital_status="Single")
    profile = await world.profile(citizen)

    assert profile["version"] == 1
    assert profile["registry"]["full_name_en"] == "Layla Khaled"
    assert profile["sections"]["personal"] == {
        "marital_status": "single",
        "nationality": "SA",
        "has_disability": None,
        "disability_type": None,
        "is_orphan": None,
    }
    assert profile["household"] == {
        "household_size": 1,
        "total_monthly_income": "0",
        "total_property_value": "0",
    }
    assert profile["completeness"]["personal"] is False
    [event] = await world.events(citizen, 1)
    assert event.event_type == "ProfileUpdated"
    assert event.key == str(citizen.citizen_id)
    assert event.causation_id is not None  # the CitizenRegistered it came from
    assert (event.schema_version, event.payload) == (2, as_event(profile))
    assert "contact" not in event.payload and "contact" in profile
    assert citizen.national_id not in event.to_bytes().decode()


async def test_a_second_registration_of_the_same_citizen_changes_nothing(world: World) -> None:
    citizen = await world.register()
    again = CitizenRegistered.model_validate(
        {
            **(await world.events(citizen, 1))[0].payload["registry"],
            "citizen_id": citizen.citizen_id,
            "national_id": citizen.national_id,
            "nationality": "SA",
            "marital_status": "divorced",
            "mobile": "+966511111111",
            "registered_at": "2026-01-01T00:00:00Z",
        }
    )
    await world.publish_registration(again)
    # A later change is published after the duplicate (same key, same partition).
    response = await put_section(world, citizen, "personal", PERSONAL, '"1"')
    assert response.status_code == 200, response.text
    events = await world.events(citizen, 2)
    assert [e.payload["version"] for e in events] == [1, 2]
    assert (await world.profile(citizen))["sections"]["personal"]["marital_status"] == "married"


async def test_a_section_update_publishes_exactly_one_profile_updated_with_the_new_version(
    world: World,
) -> None:
    citizen = await world.register()
    response = await put_section(world, citizen, "housing", HOUSING, '"1"')

    assert response.status_code == 200, response.text
    assert response.headers["etag"] == '"2"'
    body = response.json()
    assert body["version"] == 2
    assert body["sections"]["housing"]["monthly_rent"] == "2500.00"
    assert body["completeness"]["housing"] is True
    events = await world.events(citizen, 2)
    assert [e.payload["version"] for e in events] == [1, 2]
    assert events[1].payload == as_event(await world.profile(citizen))
    assert events[1].correlation_id == response.headers["x-request-id"]


async def test_a_stale_or_missing_if_match_changes_nothing(world: World) -> None:
    citizen = await world.register()
    first = await put_section(world, citizen, "education", {"highest_level": "diploma"}, '"1"')
    assert first.status_code == 200

    stale = await put_section(world, citizen, "education", {"highest_level": "master"}, '"1"')
    missing = await put_section(world, citizen, "education", {"highest_level": "master"}, None)

    assert stale.status_code == 412
    assert stale.headers["content-type"] == "application/problem+json"
    assert stale.headers["etag"] == '"2"'
    assert stale.json()["current_version"] == 2
    assert missing.status_code == 428
    profile = await world.profile(citizen)
    assert profile["version"] == 2
    assert profile["sections"]["education"] == {"highest_level": "diploma"}
    assert len(await world.events(citizen, 2)) == 2


SECTION_ERRORS = [
    pytest.param(
        "income",
        {"sources": [{"type": "salary", "monthly_amount": "-100", "payer": "ACME"}]},
        "body.sources.0.monthly_amount",
        id="negative-income",
    ),
    pytest.param(
        "income",
        {
            "sources": [{"type": "salary", "monthly_amount": "1", "payer": "x"}]
            * (MAX_INCOME_SOURCES + 1)
        },
        "body.sources",
        id="oversized-list",
    ),
    pytest.param(
        "housing",
        HOUSING | {"national_address": "12AB"},
        "body.national_address",
        id="bad-national-address",
    ),
    pytest.param(
        "housing", HOUSING | {"monthly_rent": None}, "body.monthly_rent", id="rented-without-rent"
    ),
    pytest.param(
        "personal", PERSONAL | {"nationality": "US"}, "body.nationality", id="nationality-read-only"
    ),
    pytest.param("employment", {"status": "employed"}, "body.employer", id="employer-missing"),
    pytest.param(
        "education", {"highest_level": "kindergarten"}, "body.highest_level", id="unknown-level"
    ),
    pytest.param("education", ["bachelor"], "body", id="not-an-object"),
    pytest.param("hobbies", {"chess": True}, "path.section", id="unknown-section"),
    pytest.param("dependents", [], "path.section", id="dependents-are-not-a-section"),
]


@pytest.mark.parametrize(("section", "body", "field"), SECTION_ERRORS)
async def test_a_bad_section_gets_a_field_error_and_writes_nothing(
    world: World, section: str, body: Any, field: str
) -> None:
    citizen = await world.register()
    response = await put_section(world, citizen, section, body, '"1"')

    assert response.status_code in (404, 422), response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert field in [error["field"] for error in response.json()["errors"]]
    assert (await world.profile(citizen))["version"] == 1
    assert len(await world.events(citizen, 1)) == 1


async def test_dependents_are_added_changed_and_removed_with_household_figures(
    world: World,
) -> None:
    citizen = await world.register()
    assert (await put_section(world, citizen, "income", INCOME, '"1"')).status_code == 200

    added = await world.client.post(
        "/v1/profile/dependents",
        json=son(citizen, monthly_income="450"),
        headers=citizen.headers,
    )
    assert added.status_code == 201, added.text
    dependent = added.json()
    assert added.headers["location"] == f"/v1/profile/dependents/{dependent['dependent_id']}"
    spouse = await world.client.post(
        "/v1/profile/dependents",
        json=son(
            citizen,
            citizen.spouse,
            full_name="Hassan",
            relationship="spouse",
            birth_date="1985-01-01",
        ),
        headers=citizen.headers | {"If-Match": added.headers["etag"]},
    )
    assert spouse.status_code == 201, spouse.text

    profile = await world.profile(citizen)
    assert profile["household"] == {
        "household_size": 3,
        "total_monthly_income": "3650.50",
        "total_property_value": "0",
    }
    changed = await world.client.put(
        f"/v1/profile/dependents/{dependent['dependent_id']}",
        json=son(
            citizen,
            dependent["national_id"],
            monthly_income="0",
            has_disability=True,
            disability_type="hearing",
        ),
        headers=citizen.headers,
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["disability_type"] == "hearing"
    removed = await world.client.delete(
        f"/v1/profile/dependents/{spouse.json()['dependent_id']}", headers=citizen.headers
    )
    assert removed.status_code == 204

    listed = await world.client.get("/v1/profile/dependents", headers=citizen.headers)
    assert [d["dependent_id"] for d in listed.json()] == [dependent["dependent_id"]]
    final = await world.profile(citizen)
    assert final["version"] == 6
    assert final["household"]["household_size"] == 2
    assert final["household"]["total_monthly_income"] == "3200.50"
    events = await world.events(citizen, 6)
    assert [e.payload["version"] for e in events] == [1, 2, 3, 4, 5, 6]
    assert events[-1].payload == as_event(final)
    # The citizen reads their dependents' IDs and names back; no consumer is told them.
    assert [d["national_id"] for d in final["dependents"]] == [dependent["national_id"]]
    assert [d["is_citizen"] for d in events[-1].payload["dependents"]] == [True]
    for event in events:
        for secret in (dependent["national_id"], str(citizen.spouse), "Hassan", "Yousef"):
            assert secret not in event.to_bytes().decode()


DEPENDENT_ERRORS = [
    pytest.param({"relationship": "cousin"}, "body.relationship", id="unknown-relationship"),
    pytest.param({"national_id": "1000000009"}, "body.national_id", id="invalid-id"),
    pytest.param({"monthly_income": "-1"}, "body.monthly_income", id="negative-income"),
    pytest.param({"birth_date": "2999-01-01"}, "body.birth_date", id="born-in-the-future"),
    pytest.param({"nickname": "Yo"}, "body.nickname", id="unknown-field"),
    # Postgres refuses NUL in JSON: it must be a field error, never a 500.
    pytest.param({"full_name": "Sa\u0000ad"}, "body.full_name", id="nul-character"),
]


@pytest.mark.parametrize(("changes", "field"), DEPENDENT_ERRORS)
async def test_a_bad_dependent_gets_a_field_error_and_writes_nothing(
    world: World, changes: dict[str, Any], field: str
) -> None:
    citizen = await world.register()
    response = await world.client.post(
        "/v1/profile/dependents", json=son(citizen, **changes), headers=citizen.headers
    )

    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert field in [error["field"] for error in response.json()["errors"]]
    assert (await world.profile(citizen))["dependents"] == []
    assert len(await world.events(citizen, 1)) == 1


async def test_household_rules_each_name_the_field_and_write_nothing(world: World) -> None:
    citizen = await world.register()
    twin = citizen.sons.pop()
    first = await world.client.post(
        "/v1/profile/dependents", json=son(citizen, twin), headers=citizen.headers
    )
    assert first.status_code == 201

    duplicate = await world.client.post(
        "/v1/profile/dependents",
        json=son(citizen, twin, full_name="Again"),
        headers=citizen.headers,
    )
    themself = await world.client.post(
        "/v1/profile/dependents", json=son(citizen, citizen.national_id), headers=citizen.headers
    )
    stale = await world.client.post(
        "/v1/profile/dependents", json=son(citizen), headers=citizen.headers | {"If-Match": '"1"'}
    )
    unknown = await world.client.delete(
        f"/v1/profile/dependents/{uuid.uuid4()}", headers=citizen.headers
    )

    assert [duplicate.json()["errors"][0]["code"], themself.json()["errors"][0]["code"]] == [
        "duplicate",
        "is_citizen",
    ]
    assert duplicate.json()["errors"][0]["field"] == "body.national_id"
    assert themself.json()["errors"][0]["field"] == "body.national_id"
    assert stale.status_code == 412
    assert unknown.status_code == 404
    assert unknown.json()["errors"][0]["field"] == "path.dependent_id"

    for _ in range(MAX_HOUSEHOLD - 2):  # fill the household up to the limit
        ok = await world.client.post(
            "/v1/profile/dependents", json=son(citizen), headers=citizen.headers
        )
        assert ok.status_code == 201, ok.text
    over = await world.client.post(
        "/v1/profile/dependents", json=son(citizen), headers=citizen.headers
    )
    assert over.status_code == 422
    assert over.json()["errors"][0] == {
        "field": "dependents",
        "message": f"a household has at most {MAX_HOUSEHOLD} members",
        "code": "household_limit",
    }
    profile = await world.profile(citizen)
    assert profile["household"]["household_size"] == MAX_HOUSEHOLD
    assert profile["version"] == MAX_HOUSEHOLD
    assert len(await world.events(citizen, MAX_HOUSEHOLD)) == MAX_HOUSEHOLD


async def test_a_citizen_reaches_only_their_own_profile_staff_may_read_any(
    world: World,
) -> None:
    owner = await world.register()
    other = await world.register()
    path = f"/v1/profile/citizens/{owner.citizen_id}"

    assert (await world.client.get(path, headers=other.headers)).status_code == 403
    assert (await world.client.get(path, headers=owner.headers)).status_code == 200
    for role, status in [(Role.CASEWORKER, 200), (Role.AUDITOR, 200), (Role.ADMIN, 403)]:
        staff = world.token_headers(f"staff-{uuid.uuid4()}", role)
        assert (await world.client.get(path, headers=staff)).status_code == status, role
        # Staff have no profile of their own and change nobody's.
        put = await world.client.put(
            "/v1/profile/education",
            json={"highest_level": "primary"},
            headers=staff | {"If-Match": '"1"'},
        )
        assert put.status_code == 403
    assert (await world.client.get("/v1/profile")).status_code == 401
    nobody = world.token_headers(str(uuid.uuid4()))
    assert (await world.client.get("/v1/profile", headers=nobody)).status_code == 404
    # The other citizen's write lands in their own profile, never the owner's.
    changed = await put_section(world, other, "education", {"highest_level": "doctorate"}, '"1"')
    assert changed.json()["citizen_id"] == str(other.citizen_id)
    owners = await world.profile(owner)
    assert owners["version"] == 1
    assert owners["sections"]["education"] is None


async def test_another_service_rebuilds_the_profile_from_the_stream_alone(world: World) -> None:
    citizen = await world.register()
    etag = '"1"'
    for section, body in [
        ("personal", PERSONAL),
        ("housing", HOUSING),
        ("income", INCOME),
        (
            "licenses",
            {
                "items": [
                    {
                        "kind": "professional_license",
                        "number": "SCE-12345",
                        "type": "Engineer",
                        "active": True,
                    }
                ]
            },
        ),
        (
            "property",
            {"assets": [{"kind": "vehicle", "description": "Sedan", "estimated_value": "42000"}]},
        ),
    ]:
        response = await put_section(world, citizen, section, body, etag)
        assert response.status_code == 200, response.text
        etag = response.headers["etag"]
    added = await world.client.post(
        "/v1/profile/dependents", json=son(citizen), headers=citizen.headers
    )
    assert added.status_code == 201

    # Fold: keep the highest version per citizen, whatever order copies arrive in.
    rebuilt: dict[uuid.UUID, ProfileUpdatedV2] = {}
    for envelope in reversed(await world.events(citizen, 7)):
        event = envelope.open()
        assert isinstance(event, ProfileUpdatedV2)
        held = rebuilt.get(event.citizen_id)
        if held is None or event.version > held.version:
            rebuilt[event.citizen_id] = event

    state = rebuilt[citizen.citizen_id]
    assert state.version == 7
    assert state.model_dump(mode="json") == as_event(await world.profile(citizen))
    assert state.household.total_property_value == 42000
