"""People for the portal's browser tests: civil-registry records and staff made with
identity's CLI, and the quick set-up of a citizen through the gateway's API (for the parts
of a journey a test does not mean to click through)."""

from __future__ import annotations

import asyncio
import os
import random
import re
import subprocess
import sys
import uuid
from dataclasses import dataclass
from typing import Any

import httpx

from sanad.platform.services import platform_env
from sanad.platform.testing import eventually
from sanad.shared.national_id import luhn_valid

ENV = platform_env()
GATEWAY = os.environ.get("SANAD_GATEWAY_URL") or ENV["SANAD_GATEWAY_URL"]
PORTAL = os.environ.get("SANAD_PORTAL_URL") or ENV["SANAD_PORTAL_URL"]
SMS_SINK = os.environ.get("SANAD_SMS_BASE_URL") or ENV["SANAD_SMS_BASE_URL"]
BIRTH_DATE = "1984-09-30"
IBAN = "SA03 8000 0000 6080 1016 7519"
DOCUMENTS = ("national_id", "family_register", "proof_of_income", "bank_account")


def pdf(label: str) -> bytes:
    return f"%PDF-1.4\n% {label}\n%%EOF\n".encode()


def new_national_id() -> str:
    body = "1" + "".join(random.choices("0123456789", k=8))
    return next(body + d for d in "0123456789" if luhn_valid(body + d))


def identity_cli(*args: str, stdin: str | None = None) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "sanad.identity", *args],
        env=os.environ | ENV,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr


@dataclass
class Person:
    national_id: str
    mobile: str
    password: str
    name_en: str
    name_ar: str


async def registry_person(name_en: str, name_ar: str) -> Person:
    """A fresh civil-registry record (a widow living alone) with a mobile registered to her."""
    person = Person(
        national_id=new_national_id(),
        mobile=f"+96655{random.randrange(10**7):07d}",
        password=f"Portal-{uuid.uuid4().hex[:10]}!",
        name_en=name_en,
        name_ar=name_ar,
    )
    await asyncio.to_thread(
        identity_cli,
        "add-registry-record",
        "--national-id",
        person.national_id,
        "--name-ar",
        name_ar,
        "--name-en",
        name_en,
        "--nationality",
        "SA",
        "--sex",
        "F",
        "--birth-date",
        BIRTH_DATE,
        "--marital-status",
        "widowed",
        "--mobile",
        person.mobile,
    )
    return person


async def registry_son(parent: Person, name_en: str, name_ar: str) -> Person:
    """A son in ``parent``'s family register (so the profile accepts him as a dependent)."""
    son = Person(
        national_id=new_national_id(),
        mobile="",
        password="",
        name_en=name_en,
        name_ar=name_ar,
    )
    await asyncio.to_thread(
        identity_cli,
        "add-registry-record",
        "--national-id",
        son.national_id,
        "--name-ar",
        name_ar,
        "--name-en",
        name_en,
        "--nationality",
        "SA",
        "--sex",
        "M",
        "--birth-date",
        "2013-03-14",
        "--marital-status",
        "single",
        "--relative-of",
        parent.national_id,
        "--relationship",
        "son",
    )
    return son


async def caseworker() -> Person:
    person = Person(
        national_id=new_national_id(),
        mobile="",
        password=f"Case-{uuid.uuid4().hex[:12]}!",
        name_en="Case Worker",
        name_ar="باحث اجتماعي",
    )
    await asyncio.to_thread(
        identity_cli,
        "create-user",
        "--role",
        "caseworker",
        "--national-id",
        person.national_id,
        "--name",
        person.name_en,
        stdin=person.password + "\n",
    )
    return person


async def sms_code(sms: httpx.AsyncClient, mobile: str, after: int = 0) -> str:
    """The code in the newest SMS to ``mobile``, once more than ``after`` messages arrived."""

    async def messages() -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = (await sms.get("/messages", params={"to": mobile})).json()[
            "messages"
        ]
        return found

    received = await eventually(messages, until=lambda m: len(m) > after, what="the SMS code")
    code = re.search(r"\d{6}", received[-1]["body"])
    assert code, received[-1]
    return code.group()


async def registered_by_api(api: httpx.AsyncClient, sms: httpx.AsyncClient, person: Person) -> str:
    started = await api.post(
        "/v1/auth/register",
        json={
            "national_id": person.national_id,
            "date_of_birth": BIRTH_DATE,
            "mobile": person.mobile,
            "password": person.password,
            "preferred_language": "en",
        },
    )
    assert started.status_code == 202, started.text
    verified = await api.post(
        "/v1/auth/register/verify",
        json={
            "registration_id": started.json()["registration_id"],
            "code": await sms_code(sms, person.mobile),
        },
    )
    assert verified.status_code == 201, verified.text
    signed_in = await api.post(
        "/v1/auth/login", json={"national_id": person.national_id, "password": person.password}
    )
    assert signed_in.status_code == 200, signed_in.text
    return str(signed_in.json()["access_token"])


async def rejected_application_by_api(
    api: httpx.AsyncClient, sms: httpx.AsyncClient, person: Person
) -> str:
    """A citizen whose SSP-DEV application was rejected by the real eligibility service
    (4,200 SAR income, alone: over the 1,100 SAR limit)."""
    token = await registered_by_api(api, sms, person)
    auth = {"Authorization": f"Bearer {token}"}
    profile = await eventually(
        lambda: api.get("/v1/profile", headers=auth),
        until=lambda r: r.status_code == 200,
        what="the profile",
    )
    etag = profile.headers["etag"]
    sections: dict[str, Any] = {
        "housing": {
            "region": "riyadh",
            "city": "Riyadh",
            "district": "Al Olaya",
            "national_address": "RRRD2929",
            "housing_type": "owned",
        },
        "income": {
            "sources": [{"type": "salary", "monthly_amount": "4200", "payer": "Gulf Trading"}]
        },
        "employment": {"status": "employed", "employer": "Gulf Trading", "since": "2019-09-01"},
    }
    for section, body in sections.items():
        saved = await api.put(
            f"/v1/profile/{section}", json=body, headers=auth | {"If-Match": etag}
        )
        assert saved.status_code == 200, saved.text
        etag = saved.headers["etag"]
    started = await api.post("/v1/applications", json={"program_code": "SSP-DEV"}, headers=auth)
    assert started.status_code == 201, started.text
    url = f"/v1/applications/{started.json()['application_id']}"
    form = {
        "monthly_income": "4200",
        "family_size": 1,
        "employment_status": "employed",
        "payment": {"method": "iban", "iban": IBAN},
    }
    assert (await api.put(url, json=form, headers=auth)).status_code == 200
    for kind in DOCUMENTS:
        uploaded = await api.post(
            f"{url}/documents",
            data={"kind": kind},
            files={"file": (f"{kind}.pdf", pdf(kind), "application/pdf")},
            headers=auth,
        )
        assert uploaded.status_code == 201, uploaded.text
    await eventually(
        lambda: api.post(f"{url}/submit", json={"declaration_accepted": True}, headers=auth),
        until=lambda r: r.status_code == 200,
        what="a submit once the profile reached applications",
    )
    await eventually(
        lambda: api.get(url, headers=auth),
        until=lambda r: r.json()["status"] == "REJECTED",
        timeout=90,
        what="the rejection",
    )
    return str(started.json()["application_id"])
