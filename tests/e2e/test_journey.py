"""The whole journey end to end, every service its own process, only through the gateway
(plus the SMS sink and the mail catcher, to read what a citizen receives).

A widow registers with the code from her SMS, signs in, fills every profile section and adds
her two children, checks what she would get, applies with her documents and submits;
eligibility approves with the benefit its rules give; she is told by SMS and email in Arabic
with the decision's content; her card is issued and a verifier holding only the keys the
cards service publishes checks its QR offline. A citizen already receiving an exclusive
program is refused another with that reason; two citizens see nothing of each other's.
(The rejection with its reasons, the appeal and the needs-completion round trip are in
test_applications_journey.py, on the same helpers: sanad.platform.journey.)"""

from __future__ import annotations

import io
import uuid
from typing import Any

import pypdf
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
    read_card_qr,
    salary,
    verify_offline,
)

PROGRAM_AR = "الضمان الاجتماعي المطور"


# Each journey waits on several services of a shared, busy machine.
pytestmark = pytest.mark.timeout(300)


async def household(
    platform: Platform, *, language: str, children: int = 0
) -> tuple[Citizen, list[Person]]:
    """A widow in the civil registry with ``children`` sons in her family register,
    registered (OTP from the SMS sink) and signed in, with an email address; her sons."""
    mother = Person(
        new_national_id(),
        "Hind Abdullah",
        "هند عبدالله",
        "1984-09-30",
        mobile=new_mobile(),
    )
    sons = []
    for number in range(children):
        child = Person(
            new_national_id(),
            f"Child {number} Abdullah",
            "عبدالله",
            f"201{2 + number}-03-14",
            sex="M",
            marital_status="single",
            relative_of=mother.national_id,
            relationship="son",
        )
        sons.append(child)
    await add_to_registry(mother, *sons)
    email = f"hind-{uuid.uuid4().hex[:8]}@example.com"
    return await platform.register(mother, email=email, language=language), sons


async def approved_household(
    platform: Platform, admin_db: AsyncEngine, *, language: str, income: str = "900"
) -> tuple[Citizen, dict[str, Any]]:
    """A citizen living alone approved for SSP-DEV (1,100 − income); her application."""
    citizen, _ = await household(platform, language=language)
    version = await platform.fill_profile(citizen, SECTIONS | {"income": salary(income)})
    await applications_knows(admin_db, citizen, version, platform.wait)
    application_id = await platform.draft(citizen, "SSP-DEV", form(income, 1))
    await platform.submit(citizen, application_id)
    return citizen, await platform.status_becomes(citizen, application_id, "APPROVED")


def form(income: str, family_size: int) -> dict[str, Any]:
    return {
        "monthly_income": income,
        "family_size": family_size,
        "employment_status": "employed",
        "payment": {"method": "iban", "iban": IBAN},
    }


async def test_a_household_is_approved_told_in_arabic_and_gets_a_card_anyone_verifies(
    platform: Platform, admin_db: AsyncEngine
) -> None:
    citizen, sons = await household(platform, language="ar", children=2)
    api, auth = platform.api, citizen.headers
    me = await api.get("/v1/auth/me", headers=auth)
    assert me.status_code == 200, me.text
    assert (me.json()["id"], me.json()["language"]) == (citizen.id, "ar")

    # Every section, then her two sons from the family register (no income of their own).
    await platform.fill_profile(citizen, SECTIONS | {"income": salary("900")})
    for child in sons:
        version = await platform.add_dependent(
            citizen,
            {"full_name": child.name_en, "national_id": child.national_id, "relationship": "son"},
        )
    profile = (await api.get("/v1/profile", headers=auth)).json()
    version = profile["version"]
    assert profile["completeness"]["complete"] is True
    assert profile["household"]["household_size"] == 3
    assert profile["household"]["total_monthly_income"] == "900.00"

    # Before applying: eligible, 1,100 + 2 × 550 − 900 = 1,300 SAR.
    checked = await platform.check(citizen, "SSP-DEV")
    assert checked["outcome"] == "eligible", checked
    assert checked["monthly_benefit"] == "1300.00", checked

    await applications_knows(admin_db, citizen, version, platform.wait)
    application_id = await platform.draft(citizen, "SSP-DEV", form("900", 3))
    submitted = await platform.submit(citizen, application_id)
    assert submitted["status"] == "SUBMITTED"

    approved = await platform.status_becomes(citizen, application_id, "APPROVED")
    assert approved["decision"]["monthly_benefit"] == "1300.00"
    assert [h["to"] for h in approved["history"]] == [
        "DRAFT",
        "SUBMITTED",
        "UNDER_EVALUATION",
        "APPROVED",
    ]

    # Told in Arabic, by SMS and by email, with the decision's content.
    sms = await platform.sms_to(
        citizen.mobile, until=lambda m: any("1,300.00" in x["body"] for x in m), what="decision"
    )
    decision_sms = next(m["body"] for m in sms if "1,300.00" in m["body"])
    assert "تمت الموافقة على طلبك في " + PROGRAM_AR in decision_sms
    assert "ريال" in decision_sms and "SAR" not in decision_sms
    assert citizen.email is not None
    mails = await platform.mail_to(
        citizen.email, until=lambda m: any("1,300.00" in x["text"] for x in m), what="decision"
    )
    decision_mail = next(m for m in mails if "1,300.00" in m["text"])
    assert PROGRAM_AR in decision_mail["subject"]
    assert "مرحبًا هند عبدالله" in decision_mail["text"]
    assert application_id in decision_mail["text"]

    # The card, issued on the approval; a verifier with only the published keys checks it.
    [card] = await platform.cards(citizen)
    assert card["program_code"] == "SSP-DEV" and card["monthly_benefit"] == "1300.00"
    assert card["application_id"] == application_id
    assert card["holder_name_ar"] == "هند عبدالله"
    png = await platform.card_png(citizen, card)
    keys = await platform.public_keys()  # GET /v1/cards/keys, no token
    token = read_card_qr(png)
    offline = verify_offline(token, keys)
    assert offline.result == "valid", offline.reason
    assert str(offline.claims.card_id) == card["card_id"]
    assert offline.claims.holder_name_en == "Hind Abdullah"
    tampered = token[:-6] + ("A" if token[-6] != "A" else "B") + token[-5:]
    assert verify_offline(tampered, keys).result != "valid"
    online = await api.post("/v1/cards/verify", json={"token": token})  # public too
    assert online.status_code == 200 and online.json()["result"] == "valid"
    pdf = await api.get(card["links"]["pdf"], headers=auth)
    assert pdf.status_code == 200
    assert "Hind Abdullah" in pypdf.PdfReader(io.BytesIO(pdf.content)).pages[0].extract_text()
    # Asking again issues nothing new; a program without an approval is refused, naming it.
    again = await api.post("/v1/cards", json={"program_code": "SSP-DEV"}, headers=auth)
    assert again.status_code == 200 and again.json()["card_id"] == card["card_id"]
    refused = await api.post("/v1/cards", json={"program_code": "FOOD-SUPPORT"}, headers=auth)
    assert refused.status_code == 409
    assert refused.json()["errors"][0]["field"] == "body.program_code"

    # And told of the card, in Arabic, with its last four digits.
    await platform.sms_to(
        citizen.mobile,
        until=lambda m: any(card["card_number"][-4:] in x["body"] for x in m),
        what="the card SMS",
    )
    sent = (await api.get("/v1/notifications?limit=100", headers=auth)).json()["items"]
    assert {(n["template"], n["channel"], n["language"]) for n in sent} >= {
        ("decision_approved", "sms", "ar"),
        ("decision_approved", "email", "ar"),
        ("card_issued", "sms", "ar"),
    }


async def test_a_beneficiary_of_an_exclusive_program_is_refused_another_with_that_reason(
    platform: Platform, admin_db: AsyncEngine
) -> None:
    citizen, approved = await approved_household(platform, admin_db, language="en")
    assert approved["decision"]["monthly_benefit"] == "200.00"

    # Iraq's social protection network is exclusive with SSP-DEV.
    application_id = await platform.draft(
        citizen,
        "IQ-SPN",
        form("900", 1) | {"category": "widows_divorcees"},
        ("national_id", "family_register", "category_proof", "payment_card"),
    )
    await platform.submit(citizen, application_id)
    rejected = await platform.status_becomes(citizen, application_id, "REJECTED")
    reasons = {r["code"]: r for r in rejected["history"][-1]["reasons"]}
    assert "not_excluded" in reasons, reasons
    assert reasons["not_excluded"]["reason_en"] == (
        "Already an active beneficiary of Developed Social Security, an exclusive program"
    )
    assert reasons["not_excluded"]["reason_ar"].startswith("مستفيد نشط من")
    await platform.sms_to(
        citizen.mobile,
        until=lambda m: any("not approved" in x["body"] and "exclusive" in x["body"] for x in m),
        what="the refusal SMS naming the exclusive program",
    )


async def test_two_citizens_see_nothing_of_each_others_data(
    platform: Platform, admin_db: AsyncEngine
) -> None:
    hind, approved = await approved_household(platform, admin_db, language="ar")
    application_id = approved["application_id"]
    [card] = await platform.cards(hind)
    other, _ = await household(platform, language="en")
    api, them = platform.api, other.headers

    assert (await api.get(f"/v1/applications/{application_id}", headers=them)).status_code == 404
    listed = await api.get("/v1/applications", headers=them)
    assert listed.status_code == 200 and listed.json()["items"] == []
    submit = await api.post(
        f"/v1/applications/{application_id}/submit",
        json={"declaration_accepted": True},
        headers=them | {"Idempotency-Key": str(uuid.uuid4())},
    )
    assert submit.status_code == 404
    appeal = await api.post(
        f"/v1/applications/{application_id}/appeal", json={"reason": "mine"}, headers=them
    )
    assert appeal.status_code == 404
    evaluation = approved["eligibility"]["evaluation_id"]
    seen = await api.get(f"/v1/eligibility/evaluations/{evaluation}", headers=them)
    assert seen.status_code in (403, 404)
    assert (await api.get(f"/v1/profile/citizens/{hind.id}", headers=them)).status_code == 403
    own = (await api.get("/v1/profile", headers=them)).json()
    assert own["citizen_id"] == other.id and own["registry"]["full_name_en"] == "Hind Abdullah"
    assert own["contact"]["mobile"] == other.mobile != hind.mobile
    assert (await api.get(f"/v1/cards/{card['card_id']}", headers=them)).status_code == 404
    assert (await api.get(card["links"]["png"], headers=them)).status_code == 404
    assert (await api.get("/v1/cards/me", headers=them)).json()["items"] == []
    theirs = (await api.get("/v1/notifications?limit=100", headers=them)).json()["items"]
    assert {n["template"] for n in theirs} <= {"otp"}
    # Without a token nothing of anyone's.
    assert (await api.get(f"/v1/applications/{application_id}")).status_code == 401
    assert (await api.get("/v1/profile")).status_code == 401
