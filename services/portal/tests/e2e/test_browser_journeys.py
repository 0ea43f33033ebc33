"""The portal in a real Chromium, against the running platform, in Arabic and English.

1. (Arabic) A citizen registers — the code read from the SMS sink —, signs in, fills the
   profile, checks eligibility, applies with PDFs (a wrong IBAN first: its error beside the
   field), submits, sees the approval and the card (image, QR, PDF).
2. (English) A rejected citizen appeals; a caseworker signs in, opens the case from the
   queue and approves it; the citizen sees the decision.

On every main page: `<html lang dir>` match the language, no CSP violation, and axe-core
finds no serious or critical violation. Screenshots of each in both languages."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from sanad.platform.testing import eventually

from .conftest import Tab
from .platform_people import (
    BIRTH_DATE,
    DOCUMENTS,
    IBAN,
    Person,
    caseworker,
    pdf,
    registry_person,
    registry_son,
    rejected_application_by_api,
    sms_code,
)

ARABIC = re.compile(r"[\u0600-\u06FF]")


async def check_page(tab: Tab, language: str, shot: str | None = None) -> None:
    """The page's language and direction, its CSP, its accessibility; its screenshot."""
    page = tab.page
    assert await page.evaluate("document.documentElement.lang") == language
    direction = await page.evaluate("document.documentElement.dir")
    assert direction == ("rtl" if language == "ar" else "ltr")
    assert await page.evaluate("getComputedStyle(document.body).direction") == direction
    violations = await tab.axe_violations()
    assert not violations, f"axe on {page.url}: {violations}"
    assert not tab.csp_violations, tab.csp_violations
    if shot:
        await tab.screenshot(f"{language}-{shot}")


async def submit(tab: Tab, form_action: str) -> None:
    """Press the submit button of the form posting to ``form_action`` and wait for the page."""
    async with tab.page.expect_navigation():
        await tab.page.click(f'form[action="{form_action}"] button[type="submit"]')


async def sign_in(tab: Tab, person: Person) -> None:
    await tab.goto("/login")
    await tab.page.fill('[name="national_id"]', person.national_id)
    await tab.page.fill('[name="password"]', person.password)
    await submit(tab, "/login")


async def reload_until(tab: Tab, selector: str, what: str, timeout: float = 90) -> None:
    async def shown() -> bool:
        await tab.page.reload()
        return await tab.page.locator(selector).count() > 0

    await eventually(shown, timeout=timeout, interval=1.0, what=what)


@pytest.mark.timeout(1200)  # a busy shared machine; minutes on a quiet one
async def test_a_citizen_registers_applies_and_gets_a_card_in_arabic(
    new_tab: Any, sms: httpx.AsyncClient
) -> None:
    person = await registry_person("Hind Abdullah", "هند عبدالله")
    son = await registry_son(person, "Omar Abdullah", "عمر عبدالله")
    tab: Tab = await new_tab()
    page = tab.page

    await tab.goto("/")
    await check_page(tab, "ar", "home")
    await page.click('a[href="/register"] >> nth=0')
    await check_page(tab, "ar", "register")

    # A mobile that is not the one registered to the ID: the error beside each field, in Arabic.
    await page.fill('[name="national_id"]', person.national_id)
    await page.fill('[name="date_of_birth"]', BIRTH_DATE)
    await page.fill('[name="mobile"]', "0551234567")
    await page.fill('[name="password"]', person.password)
    await submit(tab, "/register")
    mobile_error = page.locator(".field:has(#f-mobile) .field-error")
    assert ARABIC.search(await mobile_error.inner_text())
    assert await page.get_attribute("#f-mobile", "aria-invalid") == "true"
    assert "f-mobile-error" in (await page.get_attribute("#f-mobile", "aria-describedby") or "")
    assert await page.input_value('[name="national_id"]') == person.national_id  # kept
    await check_page(tab, "ar", "register-error")

    await page.fill('[name="mobile"]', person.mobile)
    await page.fill('[name="password"]', person.password)
    await submit(tab, "/register")
    assert "/register/verify" in page.url
    await page.fill('[name="code"]', await sms_code(sms, person.mobile))
    await submit(tab, "/register/verify")
    assert "/login" in page.url
    await check_page(tab, "ar", "login")
    await sign_in(tab, person)

    # The profile, section by section.
    await reload_until(tab, "text=هند عبدالله", "the profile created from the registration")
    await tab.goto("/profile")
    await check_page(tab, "ar")
    await tab.goto("/profile/personal")
    await page.select_option('[name="has_disability"]', "false")
    await page.select_option('[name="is_orphan"]', "false")
    await submit(tab, "/profile/personal")
    await tab.goto("/profile/housing")
    await page.select_option('[name="region"]', "riyadh")
    await page.fill('[name="city"]', "الرياض")
    await page.fill('[name="district"]', "العليا")
    await page.fill('[name="national_address"]', "RRRD2929")
    await page.select_option('[name="housing_type"]', "rented")
    await page.fill('[name="monthly_rent"]', "1500")
    await check_page(tab, "ar", "profile-housing")
    await submit(tab, "/profile/housing")
    await tab.goto("/profile/income")
    await page.select_option('[name="sources.0.type"]', "salary")
    await page.fill('[name="sources.0.monthly_amount"]', "900")
    await page.fill('[name="sources.0.payer"]', "شركة الخليج")
    await submit(tab, "/profile/income")
    await tab.goto("/profile/employment")
    await page.select_option('[name="status"]', "employed")
    await page.fill('[name="employer"]', "شركة الخليج")
    await page.fill('[name="since"]', "2019-09-01")
    await submit(tab, "/profile/employment")
    assert "notice=saved" in page.url
    await tab.goto("/profile/property")
    await submit(tab, "/profile/property")  # no entries: "I own nothing" is an answer
    assert "notice=saved" in page.url
    # Her son, from her family register: 1,100 + 550 − 900 = 750 SAR a month.
    await tab.goto("/profile")
    adding = 'form[action="/profile/dependents/add"]'
    await page.fill(f'{adding} [name="full_name"]', son.name_ar)
    await page.fill(f'{adding} [name="national_id"]', son.national_id)
    await page.select_option(f'{adding} [name="relationship"]', "son")
    await submit(tab, "/profile/dependents/add")
    assert "notice=dependent_added" in page.url
    assert await page.locator("#dependents td", has_text=son.name_ar).count() == 1
    await check_page(tab, "ar", "profile")

    # The catalog and "check my eligibility", each criterion with its reason.
    await tab.goto("/programs")
    await check_page(tab, "ar", "programs")
    await tab.goto("/programs/SSP-DEV")

    async def eligible() -> bool:
        await tab.goto("/programs/SSP-DEV/eligibility")
        return await page.locator(".criterion-passed").count() >= 3 and (
            await page.locator("#eligibility-result .outcome").inner_text()
        ).startswith("مؤهل")

    await eventually(eligible, timeout=90, interval=1.0, what="the eligibility check")
    assert await page.locator("text=دخل الأسرة").count() > 0
    await check_page(tab, "ar", "eligibility")

    # Apply: the form (a wrong IBAN first), the documents with progress, the declaration.
    await submit(tab, "/programs/SSP-DEV/apply")
    application_url = page.url.split("?")[0]
    application_id = application_url.rsplit("/", 1)[1]
    base = f"/applications/{application_id}"
    await page.fill('[name="monthly_income"]', "900")
    await page.fill('[name="family_size"]', "2")
    await page.select_option('[name="employment_status"]', "employed")
    await page.fill('[name="payment.iban"]', "SA00 1234")
    await submit(tab, f"{base}/form")
    iban_error = page.locator('.field:has([name="payment.iban"]) .field-error')
    assert ARABIC.search(await iban_error.inner_text())
    await check_page(tab, "ar", "application-error")
    await page.fill('[name="payment.iban"]', IBAN)
    await submit(tab, f"{base}/form")
    assert await page.locator(".field-error").count() == 0
    for kind in DOCUMENTS:
        await page.select_option('[name="kind"]', kind)
        await page.set_input_files(
            "#f-file",
            files=[{"name": f"{kind}.pdf", "mimeType": "application/pdf", "buffer": pdf(kind)}],
        )
        async with page.expect_navigation(url=re.compile("notice=uploaded")):
            await page.click(f'form[action="{base}/documents"] button[type="submit"]')
    assert await page.locator(".documents .badge.todo").count() == 0
    await check_page(tab, "ar", "application")
    await tab.set_language("en")
    await check_page(tab, "en", "application")
    await tab.set_language("ar")
    await page.check('[name="declaration_accepted"]')

    async def submitted() -> bool:
        await submit(tab, f"{base}/submit")
        return "notice=submitted" in page.url

    # Applications learns the profile through Kafka: a submit may come a moment too early.
    await eventually(submitted, timeout=60, interval=1.0, what="the submission")
    await reload_until(tab, '#application-status[data-status="APPROVED"]', "the approval")
    await check_page(tab, "ar", "decision")

    # My requests, then the card: image, QR and PDF.
    await tab.goto("/applications")
    await check_page(tab, "ar", "requests")
    await tab.goto("/cards")
    await reload_until(tab, "img.card-face", "the card issued on approval")
    for image in ("img.card-face", ".qr img"):
        # page.evaluate, not wait_for_function: the latter evals a string in the page, which
        # the portal's CSP (no 'unsafe-eval') refuses.
        await eventually(
            lambda image=image: page.evaluate(
                "(s) => document.querySelector(s).complete"
                " && document.querySelector(s).naturalWidth > 0",
                image,
            ),
            what=f"{image} loaded",
        )
    href = await page.get_attribute('a[href$="card.pdf"]', "href")
    assert href
    downloaded = await page.request.get(href if href.startswith("http") else tab_url(tab, href))
    assert downloaded.ok and (await downloaded.body()).startswith(b"%PDF-")
    await check_page(tab, "ar", "card")

    # The same pages in English, on the remembered switch.
    await tab.set_language("en")
    await check_page(tab, "en", "card")
    for path, shot in (
        ("/", "home"),
        ("/profile", "profile"),
        ("/programs", "programs"),
        ("/programs/SSP-DEV/eligibility", "eligibility"),
        (base, "decision"),
        ("/applications", "requests"),
    ):
        await tab.goto(path)
        await check_page(tab, "en", shot)

    await page.click("#sign-out")
    await page.wait_for_url(re.compile("/login"))
    await tab.goto("/profile")
    assert "/login" in page.url  # the session is gone


def tab_url(tab: Tab, href: str) -> str:
    return tab.page.url.split("/", 3)[0] + "//" + tab.page.url.split("/", 3)[2] + href


@pytest.mark.timeout(1200)  # a busy shared machine; minutes on a quiet one
async def test_a_rejected_citizen_appeals_and_a_caseworker_decides_in_english(
    new_tab: Any, api: httpx.AsyncClient, sms: httpx.AsyncClient
) -> None:
    person = await registry_person("Amal Saleh", "أمل صالح")
    application_id = await rejected_application_by_api(api, sms, person)
    base = f"/applications/{application_id}"

    citizen: Tab = await new_tab()
    await citizen.goto("/register")
    await citizen.set_language("en")
    await check_page(citizen, "en", "register")
    await citizen.goto("/login")
    await check_page(citizen, "en", "login")
    await sign_in(citizen, person)
    await citizen.goto(base)
    page = citizen.page
    assert await page.get_attribute("#application-status", "data-status") == "REJECTED"
    assert await page.locator("text=exceeds the limit").count() > 0  # the reason, in English
    await check_page(citizen, "en", "rejected")
    # An empty appeal: the error beside the field, in English; then the real one.
    await submit(citizen, f"{base}/appeal")
    assert await page.locator('.field:has([name="reason"]) .field-error').count() == 1
    await page.fill('[name="reason"]', "My salary stopped in March; the income is outdated.")
    await submit(citizen, f"{base}/appeal")
    assert await page.get_attribute("#application-status", "data-status") == "APPEALED"

    staff_person = await caseworker()
    staff: Tab = await new_tab()
    await staff.goto("/login")
    await staff.set_language("en")
    await sign_in(staff, staff_person)
    assert staff.page.url.endswith("/review")
    await check_page(staff, "en", "review-queue")
    async with staff.page.expect_navigation():
        await staff.page.click(f'a[data-application="{application_id}"]')
    assert await staff.page.locator("text=My salary stopped in March").count() > 0
    assert await staff.page.locator("text=Amal Saleh").count() > 0  # the household
    await check_page(staff, "en", "review-case")
    await staff.set_language("ar")
    await check_page(staff, "ar", "review-case")
    await staff.goto("/review")
    await check_page(staff, "ar", "review-queue")
    await staff.set_language("en")
    await staff.goto(f"/review/{application_id}")
    await staff.page.select_option('[name="decision"]', "APPROVED")
    await staff.page.fill('[name="reason"]', "Salary stopped; verified with the employer.")
    await submit(staff, f"/review/{application_id}/decision")
    assert "notice=decided" in staff.page.url

    await reload_until(citizen, '#application-status[data-status="APPROVED"]', "the decision")
    assert await page.locator("text=Salary stopped; verified with the employer.").count() > 0
