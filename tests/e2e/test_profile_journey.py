"""Journey step 3 through the gateway: a citizen registers (OTP from the SMS sink), logs in,
completes every profile section and adds dependents; the profile service built it from
CitizenRegistered and keeps the household figures."""

from __future__ import annotations

import asyncio
import os
import random
import re
import subprocess
import sys
import uuid
from typing import Any

import httpx

from sanad.platform.services import platform_env
from sanad.platform.testing import eventually
from sanad.shared.national_id import luhn_valid

GATEWAY = os.environ.get("SANAD_GATEWAY_URL", "http://127.0.0.1:8000")
SMS_SINK = os.environ.get("SANAD_SMS_BASE_URL", "http://127.0.0.1:8025")
PROBLEM = "application/problem+json"


def new_national_id() -> str:
    body = "1" + "".join(random.choices("0123456789", k=8))
    return next(body + d for d in "0123456789" if luhn_valid(body + d))


def add_registry_record(
    national_id: str,
    birth_date: str,
    *,
    name: str = "Maryam Salem",
    sex: str = "F",
    mobile: str | None = None,
    relative_of: str | None = None,
    relationship: str | None = None,
) -> None:
    """A fresh synthetic person in identity's civil registry (the operator's CLI), with the
    mobile registered to them and their place in the family register."""
    extra = ["--mobile", mobile] if mobile else []
    if relative_of:
        extra += ["--relative-of", relative_of, "--relationship", relationship or "son"]
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "sanad.identity",
            "add-registry-record",
            "--national-id",
            national_id,
            "--name-ar",
            "مريم سالم",
            "--name-en",
            name,
            "--nationality",
            "SA",
            "--sex",
            sex,
            "--birth-date",
            birth_date,
            "--marital-status",
            "married",
            *extra,
        ],
        env=os.environ | platform_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr


async def otp_for(sms: httpx.AsyncClient, mobile: str) -> str:
    async def latest() -> list[dict[str, Any]]:
        response = await sms.get("/messages", params={"to": mobile})
        messages: list[dict[str, Any]] = response.json()["messages"]
        return messages

    messages = await eventually(latest, what=f"an OTP SMS to {mobile}")
    found = re.search(r"\d{6}", messages[-1]["body"])
    assert found, messages[-1]
    return found.group()


SECTIONS: dict[str, dict[str, Any]] = {
    "personal": {
        "marital_status": "married",
        "nationality": "SA",
        "has_disability": False,
        "is_orphan": False,
    },
    "housing": {
        "region": "eastern",
        "city": "Dammam",
        "district": "Al Faisaliyah",
        "national_address": "DAMM4321",
        "housing_type": "rented",
        "monthly_rent": 1800,
    },
    "income": {
        "sources": [
            {"type": "salary", "monthly_amount": "2500", "payer": "Gulf Trading Co"},
            {"type": "social_insurance", "monthly_amount": "300.75", "payer": "GOSI"},
        ]
    },
    "education": {"highest_level": "secondary"},
    "employment": {"status": "employed", "employer": "Gulf Trading Co", "since": "2019-09-01"},
    "licenses": {
        "items": [
            {
                "kind": "commercial_registration",
                "number": "2050012345",
                "type": "Home bakery",
                "active": True,
            }
        ]
    },
    "property": {
        "assets": [
            {"kind": "vehicle", "description": "Hyundai Accent 2016", "estimated_value": "18000"}
        ]
    },
}


async def test_a_registered_citizen_completes_the_profile_and_adds_dependents() -> None:
    national_id, birth_date = new_national_id(), "1990-04-12"
    mobile = f"+96655{random.randrange(10**7):07d}"  # a valid Saudi mobile range
    password = f"Journey-{uuid.uuid4().hex[:10]}!"
    spouse_id, daughter_id = new_national_id(), new_national_id()
    await asyncio.to_thread(add_registry_record, national_id, birth_date, mobile=mobile)
    # Her family in the register: a husband and a daughter.
    await asyncio.to_thread(
        add_registry_record,
        spouse_id,
        "1987-11-02",
        name="Salem Nasser",
        sex="M",
        relative_of=national_id,
        relationship="spouse",
    )
    await asyncio.to_thread(
        add_registry_record,
        daughter_id,
        "2016-06-20",
        name="Noura Salem",
        relative_of=national_id,
        relationship="daughter",
    )

    async with (
        httpx.AsyncClient(base_url=GATEWAY, timeout=15) as api,
        httpx.AsyncClient(base_url=SMS_SINK, timeout=10) as sms,
    ):
        started = await api.post(
            "/v1/auth/register",
            json={
                "national_id": national_id,
                "date_of_birth": birth_date,
                "mobile": mobile,
                "password": password,
                "email": f"maryam-{uuid.uuid4().hex[:8]}@example.com",
            },
        )
        assert started.status_code == 202, started.text
        verified = await api.post(
            "/v1/auth/register/verify",
            json={
                "registration_id": started.json()["registration_id"],
                "code": await otp_for(sms, mobile),
            },
        )
        assert verified.status_code == 201, verified.text
        citizen_id = verified.json()["citizen_id"]
        login = await api.post(
            "/v1/auth/login", json={"national_id": national_id, "password": password}
        )
        assert login.status_code == 200, login.text
        auth = {"Authorization": f"Bearer {login.json()['access_token']}"}

        # CitizenRegistered travels identity → Kafka → profile.
        first = await eventually(
            lambda: api.get("/v1/profile", headers=auth),
            until=lambda r: r.status_code == 200,
            what="the profile created from the registration",
        )
        profile = first.json()
        assert profile["citizen_id"] == citizen_id
        assert profile["registry"]["full_name_en"] == "Maryam Salem"
        assert profile["contact"]["mobile"] == mobile
        assert profile["completeness"]["complete"] is False

        etag = first.headers["etag"]
        no_etag = await api.put("/v1/profile/education", json=SECTIONS["education"], headers=auth)
        assert no_etag.status_code == 428
        for section, body in SECTIONS.items():
            response = await api.put(
                f"/v1/profile/{section}", json=body, headers=auth | {"If-Match": etag}
            )
            assert response.status_code == 200, (section, response.text)
            etag = response.headers["etag"]
        stale = await api.put(
            "/v1/profile/education",
            json={"highest_level": "bachelor"},
            headers=auth | {"If-Match": first.headers["etag"]},
        )
        assert stale.status_code == 412
        assert stale.headers["content-type"] == PROBLEM

        wrong = await api.post(
            "/v1/profile/dependents",
            json={"full_name": "X", "national_id": spouse_id, "relationship": "daughter"},
            headers=auth,
        )
        assert wrong.status_code == 422
        assert wrong.json()["errors"][0]["field"] == "body.relationship"
        for dependent in (
            {
                "full_name": "Salem Nasser",
                "national_id": spouse_id,
                "relationship": "spouse",
                "birth_date": "1987-11-02",
                "monthly_income": "1200",
            },
            {
                "full_name": "Noura Salem",
                "national_id": daughter_id,
                "relationship": "daughter",  # birth date left out: the register's is used
                "has_disability": True,
                "disability_type": "hearing",
            },
        ):
            added = await api.post("/v1/profile/dependents", json=dependent, headers=auth)
            assert added.status_code == 201, added.text
        bad = await api.post(
            "/v1/profile/dependents",
            json={
                "full_name": "Me",
                "national_id": national_id,
                "relationship": "other",
                "birth_date": birth_date,
            },
            headers=auth,
        )
        assert bad.status_code == 422
        assert bad.json()["errors"][0]["field"] == "body.national_id"
        # Invented households fail through the gateway: someone not in her family register
        # (and, above, her husband claimed as a daughter).
        stranger = await api.post(
            "/v1/profile/dependents",
            json={"full_name": "X", "national_id": new_national_id(), "relationship": "son"},
            headers=auth,
        )
        assert stranger.status_code == 422
        assert stranger.json()["errors"][0]["code"] == "not_in_family_register"

        final = (await api.get("/v1/profile", headers=auth)).json()
        someone_else = await api.get(f"/v1/profile/citizens/{uuid.uuid4()}", headers=auth)

    assert final["completeness"]["complete"] is True
    assert final["version"] == 1 + len(SECTIONS) + 2
    assert final["household"] == {
        "household_size": 3,
        "total_monthly_income": "4000.75",
        "total_property_value": "18000.00",
    }
    assert [d["relationship"] for d in final["dependents"]] == ["spouse", "daughter"]
    assert someone_else.status_code == 403
