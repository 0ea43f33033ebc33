"""Journey steps 4, 6, 9 and 10 through the gateway: a registered citizen browses the
catalog, applies with documents, submits and sees the decision with its reasons; a rejected
citizen appeals and a caseworker decides; a needs-completion round trip ends in a decision.

Every decision here follows a real evaluation: the eligibility service evaluates the
submission (and the appeal) from the household the citizen filled in through /v1/profile,
under the SSP-DEV rule set, and applications decides on its EligibilityEvaluated."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from sanad.platform.journey import (
    DOCUMENTS,
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
from sanad.platform.testing import eventually

# Each journey waits on several services of a shared, busy machine.
pytestmark = pytest.mark.timeout(300)


async def register_citizen(platform: Platform, *, language: str = "en") -> Citizen:
    """A widow living alone, in the registry, registered with an email and signed in."""
    person = Person(
        new_national_id(), "Hind Abdullah", "هند عبدالله", "1984-09-30", mobile=new_mobile()
    )
    await add_to_registry(person)
    email = f"hind-{uuid.uuid4().hex[:8]}@example.com"
    return await platform.register(person, email=email, language=language)


PROFILE_SECTIONS = {k: SECTIONS[k] for k in ("housing", "employment", "property")}


async def apply_and_submit(
    platform: Platform, citizen: Citizen, monthly_income: str
) -> dict[str, Any]:
    api = platform.api
    catalog = await api.get("/v1/programs")  # public: no token
    assert catalog.status_code == 200, catalog.text
    ssp = next(p for p in catalog.json()["items"] if p["code"] == "SSP-DEV")
    assert ssp["name_ar"] and ssp["appeal_window_days"] == 30

    form = {
        "monthly_income": monthly_income,
        "family_size": 1,
        "employment_status": "employed",
        "payment": {"method": "iban", "iban": IBAN},
    }
    application_id = await platform.draft(citizen, "SSP-DEV", form, DOCUMENTS)
    url = f"/v1/applications/{application_id}"
    spoofed = await api.post(
        f"{url}/documents",
        data={"kind": "national_id"},
        files={"file": ("id.pdf", b"MZ\x90\x00" + b"\x00" * 64, "application/pdf")},
        headers=citizen.headers,
    )
    assert spoofed.status_code == 415
    assert spoofed.headers["content-type"] == "application/problem+json"

    key = f"submit-{uuid.uuid4()}"
    submitted = await platform.submit(citizen, application_id, key=key)
    retried = await platform.submit(citizen, application_id, key=key)
    # The same submission, nothing submitted again (eligibility may have answered meanwhile).
    assert retried["submission_id"] == submitted["submission_id"]
    assert retried["history"][: len(submitted["history"])] == submitted["history"]
    assert [h["to"] for h in retried["history"]].count("SUBMITTED") == 1
    assert submitted["status"] == "SUBMITTED"
    return submitted


async def test_apply_get_rejected_with_reasons_appeal_and_a_caseworker_approves(
    platform: Platform, admin_db: AsyncEngine
) -> None:
    api = platform.api
    citizen = await register_citizen(platform)
    version = await platform.fill_profile(citizen, PROFILE_SECTIONS | {"income": salary("4200")})
    limit = "Household income 4,200 SAR exceeds the limit of 1,100 SAR (1,100 SAR + 0 × 550 SAR)"

    # Before applying, the citizen asks what they would get (دراسة الأهلية).
    checked = await platform.check(citizen, "SSP-DEV")
    assert (checked["outcome"], checked["profile_version"]) == ("ineligible", version)
    income = next(c for c in checked["criteria"] if c["code"] == "household_income")
    assert income["reason_en"] == limit

    await applications_knows(admin_db, citizen, version, platform.wait)
    application = await apply_and_submit(platform, citizen, "4200.00")
    application_id = application["application_id"]

    rejected = await platform.status_becomes(citizen, application_id, "REJECTED")
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

    # Notifications tells the citizen by SMS and email, in English, with the income reason
    # and until when to appeal.
    sms = await platform.sms_to(
        citizen.mobile, until=lambda m: len(m) >= 2, what="the decision SMS"
    )
    refusal = sms[-1]["body"]
    assert "not approved" in refusal and "income" in refusal.lower(), refusal
    assert "appeal until" in refusal
    assert citizen.email is not None
    mails = await platform.mail_to(citizen.email, what="the decision email")
    assert mails[0]["subject"] == "Decision on your application for Developed Social Security"
    assert "income" in mails[0]["text"].lower() and application_id in mails[0]["text"]

    appealed = await api.post(
        f"/v1/applications/{application_id}/appeal",
        json={"reason": "My salary stopped in March; the income figure is outdated."},
        headers=citizen.headers,
    )
    assert appealed.status_code == 201, appealed.text
    assert appealed.json()["status"] == "APPEALED"

    staff = await platform.caseworker()
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

    final = await platform.status_becomes(citizen, application_id, "APPROVED")
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
    platform: Platform, admin_db: AsyncEngine
) -> None:
    api = platform.api
    citizen = await register_citizen(platform)
    version = await platform.fill_profile(citizen, PROFILE_SECTIONS)  # no income section yet
    await applications_knows(admin_db, citizen, version, platform.wait)
    application = await apply_and_submit(platform, citizen, "900.00")
    application_id = application["application_id"]
    url = f"/v1/applications/{application_id}"

    needs = await platform.status_becomes(citizen, application_id, "NEEDS_COMPLETION")
    assert needs["next"]["action"] == "complete_and_submit"
    assert needs["next"]["until"] == needs["complete_by"]
    missing = {r["code"]: r["reason_en"] for r in needs["history"][-1]["reasons"]}
    assert missing["missing.household_income"] == (
        "The household monthly income is unknown: fill the income section of your profile"
    )
    # Told by SMS what to complete, then of the approval.
    sms = await platform.sms_to(
        citizen.mobile, until=lambda m: len(m) >= 2, what="the needs-completion SMS"
    )
    assert "is incomplete. Missing: The household monthly income is unknown" in sms[1]["body"]

    version = await platform.fill_profile(citizen, {"income": salary("900")})
    await applications_knows(admin_db, citizen, version, platform.wait)
    resubmitted = await api.post(
        f"{url}/submit", json={"declaration_accepted": True}, headers=citizen.headers
    )
    assert resubmitted.status_code == 200, resubmitted.text
    assert resubmitted.json()["submission_number"] == 2

    approved = await platform.status_becomes(citizen, application_id, "APPROVED")
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
    await platform.sms_to(
        citizen.mobile,
        until=lambda m: any("approved" in x["body"] and "200.00" in x["body"] for x in m),
        what="the approval SMS",
    )
