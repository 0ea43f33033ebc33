"""Personal data on the bus, end to end (issue 14, item 2): what each consumer now receives,
read back from the real topics with the platform's admin client, while the journeys that
used the numbers and the contact still work through the gateway.

A widow who is not a citizen registers with her two sons (citizens) in her family register,
claims them as dependents (profile compares the IDs she types with the family register by
pseudonym), is eligible for SSP-DEV through the exception for a widow with citizen children
(eligibility reads "is a citizen" from ProfileUpdated v2's flag), changes her mobile, applies,
and is told of the decision on her new number only. No national ID of hers or her sons', nor
her mobile, email or her sons' names, is on the topics of consumers that do not need them."""

from __future__ import annotations

import dataclasses
import uuid

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from sanad.platform.journey import (
    IBAN,
    SECTIONS,
    Citizen,
    Person,
    Platform,
    add_to_registry,
    applications_knows,
    new_mobile,
    new_national_id,
    salary,
)
from sanad.platform.testing import Infra, read_topic
from sanad.shared import topics

pytestmark = pytest.mark.timeout(400)


async def change_mobile(platform: Platform, citizen: Citizen, new: str) -> None:
    """Through the gateway: a code to the old number and one to the new, both sent back. The
    old number had the registration's code moments ago: its resend cooldown is honoured."""
    old_codes = len(await platform.sms_to(citizen.mobile))
    # The journey client waits as the cooldown's 429 Retry-After says, up to its length.
    started = await platform.api.post(
        "/v1/auth/mobile",
        json={"mobile": new},
        headers=citizen.headers,
        extensions={"retry_after_longest": 65},
    )
    assert started.status_code == 202, started.text
    verified = await platform.api.post(
        "/v1/auth/mobile/verify",
        json={
            "change_id": started.json()["change_id"],
            "old_code": await platform.otp(citizen.mobile, old_codes + 1),
            "new_code": await platform.otp(new),
        },
        headers=citizen.headers,
    )
    assert verified.status_code == 200, verified.text


async def test_consumers_get_no_national_id_or_contact_they_do_not_need(
    platform: Platform, admin_db: AsyncEngine, provisioned: Infra
) -> None:
    old_mobile, new = new_mobile(), new_mobile()
    mother = Person(
        new_national_id(), "Amal Saleh", "أمل صالح", "1983-02-11", nationality="YE",
        mobile=old_mobile,
    )  # fmt: skip
    sons = [
        Person(
            new_national_id(),
            f"Faisal {n} Saleh",
            "فيصل",
            f"201{3 + n}-06-01",
            sex="M",
            marital_status="single",
            relative_of=mother.national_id,
            relationship="son",
        )
        for n in range(2)
    ]
    # Both numbers are registered to her in the civil registry; she registers with the first.
    await add_to_registry(dataclasses.replace(mother, mobile=f"{old_mobile};{new}"), *sons)
    email = f"amal-{uuid.uuid4().hex[:8]}@example.com"
    citizen = await platform.register(mother, email=email, language="en")

    # Her sons, matched with the family register by pseudonym; a stranger is refused.
    personal = SECTIONS["personal"] | {"nationality": "YE"}
    await platform.fill_profile(citizen, SECTIONS | {"personal": personal, "income": salary("900")})
    for son in sons:
        body = {"full_name": son.name_en, "national_id": son.national_id, "relationship": "son"}
        await platform.add_dependent(citizen, body)
    stranger = await platform.api.post(
        "/v1/profile/dependents",
        json={"full_name": "X", "national_id": new_national_id(), "relationship": "son"},
        headers=citizen.headers,
    )
    assert stranger.status_code == 422
    assert stranger.json()["errors"][0]["code"] == "not_in_family_register"
    own = await platform.api.post(
        "/v1/profile/dependents",
        json={"full_name": "X", "national_id": mother.national_id, "relationship": "son"},
        headers=citizen.headers,
    )
    assert own.status_code == 422 and own.json()["errors"][0]["code"] == "is_citizen"
    profile = (await platform.profile(citizen)).json()
    assert [d["national_id"] for d in profile["dependents"]] == [s.national_id for s in sons]

    # Not a citizen herself, but a widow with citizen sons: eligible, 1,100 + 2 × 550 − 900.
    checked = await platform.check(citizen, "SSP-DEV")
    assert checked["outcome"] == "eligible", checked
    assert checked["monthly_benefit"] == "1300.00", checked

    await change_mobile(platform, citizen, new)
    version = (await platform.profile(citizen)).json()["version"]
    await applications_knows(admin_db, citizen, version, platform.wait)
    application_id = await platform.draft(
        citizen,
        "SSP-DEV",
        {
            "monthly_income": "900",
            "family_size": 3,
            "employment_status": "employed",
            "payment": {"method": "iban", "iban": IBAN},
        },
    )
    await platform.submit(citizen, application_id)
    approved = await platform.status_becomes(citizen, application_id, "APPROVED")
    assert approved["decision"]["monthly_benefit"] == "1300.00"

    # The decision reaches her new number (ContactChanged), not the old one.
    await platform.sms_to(
        new, until=lambda m: any("1,300.00" in x["body"] for x in m), what="the decision SMS"
    )
    assert not [m for m in await platform.sms_to(old_mobile) if "1,300.00" in m["body"]]

    # What each topic holds for her, as the platform's admin reads it.
    numbers = [mother.national_id, *(s.national_id for s in sons)]
    names = [s.name_en for s in sons]
    contact = [old_mobile, new, email]

    async def on(topic: str, key: str) -> str:
        found = await read_topic(provisioned, topic, key)
        assert found, f"nothing on {topic} for {key}"
        return "\n".join(envelope.to_bytes().decode() for envelope in found)

    registered = await on(topics.CITIZEN_REGISTERED, citizen.id)
    assert '"schema_version":4' in registered
    assert not [n for n in numbers if n in registered]
    assert old_mobile in registered  # notifications' first contact; profile shows it

    profiles = await on(topics.PROFILE_UPDATED, citizen.id)
    assert '"schema_version":2' in profiles and '"schema_version":1' not in profiles
    assert not [secret for secret in numbers + names + contact if secret in profiles]
    assert '"is_citizen":true' in profiles

    contacts = await on(topics.CONTACT_CHANGED, citizen.id)
    assert new in contacts and not [n for n in numbers if n in contacts]

    submitted = await on(topics.APPLICATION_SUBMITTED, application_id)
    assert not [secret for secret in numbers + names + contact if secret in submitted]
    assert '"is_citizen":true' in submitted
