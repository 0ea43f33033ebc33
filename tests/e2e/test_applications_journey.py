"""Journey steps 4, 6, 9 and 10 through the gateway: a registered citizen browses the
catalog, applies with documents, submits and sees the decision with its reasons; a rejected
citizen appeals and a caseworker decides; a needs-completion round trip ends in a decision.

Every decision here follows a real evaluation: the eligibility service evaluates the
submission (and the appeal) from the household the citizen filled in through /v1/profile,
under the SSP-DEV rule set, and applications decides on its EligibilityEvaluated."""

from __future__ import annotations

import asyncio
import os
import random
import re
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from sanad.platform.services import platform_env
from sanad.platform.testing import eventually, local_infra
from sanad.shared.national_id import luhn_valid

ENV = platform_env()
GATEWAY = os.environ.get("SANAD_GATEWAY_URL") or ENV["SANAD_GATEWAY_URL"]
SMS_SINK = os.environ.get("SANAD_SMS_BASE_URL") or ENV["SANAD_SMS_BASE_URL"]
PDF = b"%PDF-1.4\n% a scanned document\n%%EOF\n"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01" + b"\x00" * 128
DOCUMENTS = ("national_id", "family_register", "proof_of_income", "bank_account")


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
        timeout=240,  # a process start and an argon2 hash: slow on a crowded 2-core machine
    )
    assert result.returncode == 0, result.stderr


async def otp_for(sms: httpx.AsyncClient, mobile: str) -> str:
    async def latest() -> list[dict[str, Any]]:
        messages: list[dict[str, Any]] = (await sms.get("/messages", params={"to": mobile})).json()[
            "messages"
        ]
        return messages

    messages = await eventually(latest, what=f"an OTP SMS to {mobile}")
    found = re.search(r"\d{6}", messages[-1]["body"])
    assert found, messages[-1]
    return found.group()


@dataclass
class Person:
    id: str
    mobile: str
    headers: dict[str, str]


async def register_citizen(api: httpx.AsyncClient, sms: httpx.AsyncClient) -> Person:
    national_id, birth_date = new_national_id(), "1984-09-30"
    mobile = f"+96655{random.randrange(10**7):07d}"
    password = f"Apply-{uuid.uuid4().hex[:10]}!"
    await asyncio.to_thread(
        identity_cli,
        "add-registry-record",
        "--national-id",
        national_id,
        "--name-ar",
        "هند عبدالله",
        "--name-en",
        "Hind Abdullah",
        "--nationality",
        "SA",
        "--sex",
        "F",
        "--birth-date",
        birth_date,
        "--marital-status",
        "widowed",
        "--mobile",  # the registry must know the mobile as the holder's
        mobile,
    )
    started = await api.post(
        "/v1/auth/register",
        json={
            "national_id": national_id,
            "date_of_birth": birth_date,
            "mobile": mobile,
            "password": password,
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
    return Person(verified.json()["citizen_id"], mobile, await login(api, national_id, password))


async def login(api: httpx.AsyncClient, national_id: str, password: str) -> dict[str, str]:
    response = await api.post(
        "/v1/auth/login", json={"national_id": national_id, "password": password}
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def caseworker(api: httpx.AsyncClient) -> dict[str, str]:
    national_id, password = new_national_id(), f"Case-{uuid.uuid4().hex[:12]}!"
    await asyncio.to_thread(
        identity_cli,
        "create-user",
        "--role",
        "caseworker",
        "--national-id",
        national_id,
        "--name",
        "Case Worker",
        stdin=password + "\n",
    )
    return await login(api, national_id, password)


@pytest.fixture
async def api() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=GATEWAY, timeout=20) as client:
        yield client


@pytest.fixture
async def sms() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=SMS_SINK, timeout=10) as client:
        yield client


@pytest.fixture
async def admin_db() -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(local_infra().database_admin_url())
    try:
        yield engine
    finally:
        await engine.dispose()


PROFILE_SECTIONS: dict[str, dict[str, Any]] = {
    "housing": {
        "region": "riyadh",
        "city": "Riyadh",
        "district": "Al Olaya",
        "national_address": "RRRD2929",
        "housing_type": "rented",
        "monthly_rent": "1500",
    },
    "employment": {"status": "employed", "employer": "Gulf Trading Co", "since": "2019-09-01"},
    "property": {
        "assets": [
            {"kind": "vehicle", "description": "Hyundai Accent 2016", "estimated_value": "18000"}
        ]
    },
}


async def fill_profile(
    api: httpx.AsyncClient, citizen: Person, sections: dict[str, dict[str, Any]]
) -> int:
    """Fill profile sections through the gateway; the profile's version afterwards."""
    current = await api.get("/v1/profile", headers=citizen.headers)
    assert current.status_code == 200, current.text
    etag, version = current.headers["etag"], current.json()["version"]
    for section, body in sections.items():
        response = await api.put(
            f"/v1/profile/{section}", json=body, headers=citizen.headers | {"If-Match": etag}
        )
        assert response.status_code == 200, response.text
        etag, version = response.headers["etag"], response.json()["version"]
    return int(version)


def salary(amount: str) -> dict[str, Any]:
    return {"sources": [{"type": "salary", "monthly_amount": amount, "payer": "Gulf Trading Co"}]}


async def applications_has_profile(db: AsyncEngine, citizen: Person, version: int) -> None:
    """Applications snapshots the household it knows at submission: wait until it knows
    this version (ProfileUpdated reaches it through Kafka)."""

    async def known() -> int:
        async with db.connect() as conn:
            found = await conn.execute(
                text("SELECT version FROM applications.citizen_profiles WHERE citizen_id = :c"),
                {"c": uuid.UUID(citizen.id)},
            )
            return int(found.scalar() or 0)

    await eventually(
        known, until=lambda v: v >= version, what=f"profile v{version} in applications"
    )


async def apply_and_submit(
    api: httpx.AsyncClient, citizen: Person, monthly_income: str
) -> dict[str, Any]:
    catalog = await api.get("/v1/programs")  # public: no token
    assert catalog.status_code == 200, catalog.text
    ssp = next(p for p in catalog.json()["items"] if p["code"] == "SSP-DEV")
    assert ssp["name_ar"] and ssp["appeal_window_days"] == 30

    started = await api.post(
        "/v1/applications", json={"program_code": "SSP-DEV"}, headers=citizen.headers
    )
    assert started.status_code == 201, started.text
    application_id = started.json()["application_id"]
    url = f"/v1/applications/{application_id}"
    form = {
        "monthly_income": monthly_income,
        "family_size": 1,
        "employment_status": "employed",
        "payment": {"method": "iban", "iban": "SA03 8000 0000 6080 1016 7519"},
    }
    saved = await api.put(url, json=form, headers=citizen.headers)
    assert saved.status_code == 200, saved.text
    for number, kind in enumerate(DOCUMENTS):
        content = (JPEG if kind == "bank_account" else PDF) + bytes([number])
        uploaded = await api.post(
            f"{url}/documents",
            data={"kind": kind},
            files={"file": (f"{kind}.bin", content, "application/octet-stream")},
            headers=citizen.headers,
        )
        assert uploaded.status_code == 201, uploaded.text
    spoofed = await api.post(
        f"{url}/documents",
        data={"kind": "national_id"},
        files={"file": ("id.pdf", b"MZ\x90\x00" + b"\x00" * 64, "application/pdf")},
        headers=citizen.headers,
    )
    assert spoofed.status_code == 415
    assert spoofed.headers["content-type"] == "application/problem+json"

    # Applications keeps its own copy of the profile (ProfileUpdated v1 from registration).
    key = {"Idempotency-Key": f"submit-{uuid.uuid4()}"}
    submitted = await eventually(
        lambda: api.post(
            f"{url}/submit", json={"declaration_accepted": True}, headers=citizen.headers | key
        ),
        until=lambda r: r.status_code != 422 or "profile" not in r.json().get("missing", []),
        what="a submit once the profile reached applications",
    )
    assert submitted.status_code == 200, submitted.text
    retried = await api.post(
        f"{url}/submit", json={"declaration_accepted": True}, headers=citizen.headers | key
    )
    assert retried.status_code == 200
    # The same submission, nothing submitted again (eligibility may have answered meanwhile).
    assert retried.json()["submission_id"] == submitted.json()["submission_id"]
    history = submitted.json()["history"]
    assert retried.json()["history"][: len(history)] == history
    assert [h["to"] for h in retried.json()["history"]].count("SUBMITTED") == 1
    body: dict[str, Any] = submitted.json()
    assert body["status"] == "SUBMITTED"
    return body


async def status_becomes(
    api: httpx.AsyncClient, citizen: Person, application_id: str, status: str
) -> dict[str, Any]:
    response = await eventually(
        lambda: api.get(f"/v1/applications/{application_id}", headers=citizen.headers),
        until=lambda r: r.status_code == 200 and r.json()["status"] == status,
        what=f"the application {status}",
    )
    body: dict[str, Any] = response.json()
    return body


async def test_apply_get_rejected_with_reasons_appeal_and_a_caseworker_approves(
    api: httpx.AsyncClient, sms: httpx.AsyncClient, admin_db: AsyncEngine
) -> None:
    citizen = await register_citizen(api, sms)
    version = await fill_profile(api, citizen, PROFILE_SECTIONS | {"income": salary("4200")})
    limit = "Household income 4,200 SAR exceeds the limit of 1,100 SAR (1,100 SAR + 0 × 550 SAR)"

    # Before applying, the citizen asks what they would get (دراسة الأهلية).
    checked = await eventually(
        lambda: api.get("/v1/eligibility/check?program=SSP-DEV", headers=citizen.headers),
        until=lambda r: r.status_code == 200 and r.json()["outcome"] != "incomplete",
        what="the eligibility check on the filled-in profile",
    )
    assert checked.json()["outcome"] == "ineligible"
    income = next(c for c in checked.json()["criteria"] if c["code"] == "household_income")
    assert income["reason_en"] == limit

    await applications_has_profile(admin_db, citizen, version)
    application = await apply_and_submit(api, citizen, "4200.00")
    application_id = application["application_id"]

    rejected = await status_becomes(api, citizen, application_id, "REJECTED")
    reasons = rejected["history"][-1]["reasons"]
    assert [(r["code"], r["reason_en"]) for r in reasons] == [("household_income", limit)]
    assert reasons[0]["reason_ar"] == (
        "دخل الأسرة 4,200 ريال يتجاوز الحد 1,100 ريال (1,100 ريال + 0 × 550 ريال)"
    )
    assert rejected["eligibility"]["outcome"] == "ineligible"
    assert rejected["next"]["action"] == "appeal"
    mine = await api.get("/v1/applications?status=REJECTED", headers=citizen.headers)
    assert [a["application_id"] for a in mine.json()["items"]] == [application_id]

    # The evaluation is stored with its facts and replays identically.
    evaluation_id = rejected["eligibility"]["evaluation_id"]
    stored = await api.get(f"/v1/eligibility/evaluations/{evaluation_id}", headers=citizen.headers)
    assert stored.status_code == 200, stored.text
    assert stored.json()["facts"]["household_income"] == 420000
    assert stored.json()["rule_set_version"] == "SSP-DEV@2025.1"

    # Notifications tells the citizen by SMS (DecisionIssued v2), after the OTP.
    await eventually(
        lambda: sms.get("/messages", params={"to": citizen.mobile}),
        until=lambda r: len(r.json()["messages"]) >= 2,
        what="the decision SMS",
    )

    appealed = await api.post(
        f"/v1/applications/{application_id}/appeal",
        json={"reason": "My salary stopped in March; the income figure is outdated."},
        headers=citizen.headers,
    )
    assert appealed.status_code == 201, appealed.text
    assert appealed.json()["status"] == "APPEALED"

    staff = await caseworker(api)
    # Eligibility re-evaluates the appeal on the current profile; it is attached for the
    # caseworker.
    await eventually(
        lambda: api.get(f"/v1/review/{application_id}", headers=staff),
        until=lambda r: r.status_code == 200 and len(r.json()["evaluations"]) >= 2,
        what="the appeal's re-evaluation",
    )
    citizen_at_review = await api.get("/v1/review/queue", headers=citizen.headers)
    assert citizen_at_review.status_code == 403
    queue = await api.get("/v1/review/queue?page_size=100", headers=staff)
    assert queue.status_code == 200, queue.text
    assert application_id in [item["application_id"] for item in queue.json()["items"]]
    review = await api.get(f"/v1/review/{application_id}", headers=staff)
    assert review.status_code == 200
    assert len(review.json()["documents"]) == 4
    decided = await api.post(
        f"/v1/review/{application_id}/decision",
        json={"decision": "APPROVED", "reason": "Salary stopped; verified with the employer."},
        headers=staff,
    )
    assert decided.status_code == 200, decided.text

    final = await status_becomes(api, citizen, application_id, "APPROVED")
    assert [(h["from"], h["to"], h["by_role"]) for h in final["history"]] == [
        (None, "DRAFT", "citizen"),
        ("DRAFT", "SUBMITTED", "citizen"),
        ("SUBMITTED", "UNDER_EVALUATION", "eligibility"),
        ("UNDER_EVALUATION", "REJECTED", "eligibility"),
        ("REJECTED", "APPEALED", "citizen"),
        ("APPEALED", "APPROVED", "caseworker"),
    ]
    assert final["history"][-1]["reasons"][0]["reason_en"].startswith("Salary stopped")


async def test_a_needs_completion_round_trip_ends_in_a_decision(
    api: httpx.AsyncClient, sms: httpx.AsyncClient, admin_db: AsyncEngine
) -> None:
    citizen = await register_citizen(api, sms)
    version = await fill_profile(api, citizen, PROFILE_SECTIONS)  # no income section yet
    await applications_has_profile(admin_db, citizen, version)
    application = await apply_and_submit(api, citizen, "900.00")
    application_id = application["application_id"]
    url = f"/v1/applications/{application_id}"

    needs = await status_becomes(api, citizen, application_id, "NEEDS_COMPLETION")
    assert needs["next"]["action"] == "complete_and_submit"
    assert needs["next"]["until"] == needs["complete_by"]
    missing = {r["code"]: r["reason_en"] for r in needs["history"][-1]["reasons"]}
    assert missing["missing.household_income"] == (
        "The household monthly income is unknown: fill the income section of your profile"
    )

    version = await fill_profile(api, citizen, {"income": salary("900")})
    await applications_has_profile(admin_db, citizen, version)
    resubmitted = await api.post(
        f"{url}/submit", json={"declaration_accepted": True}, headers=citizen.headers
    )
    assert resubmitted.status_code == 200, resubmitted.text
    assert resubmitted.json()["submission_number"] == 2

    approved = await status_becomes(api, citizen, application_id, "APPROVED")
    assert approved["decision"]["monthly_benefit"] == "200.00"  # 1,100 − 900
    assert [h["to"] for h in approved["history"]] == [
        "DRAFT",
        "SUBMITTED",
        "UNDER_EVALUATION",
        "NEEDS_COMPLETION",
        "SUBMITTED",
        "UNDER_EVALUATION",
        "APPROVED",
    ]
