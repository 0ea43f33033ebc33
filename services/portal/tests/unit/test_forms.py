"""Forms to API bodies, and the redirects a form may ask for."""

from __future__ import annotations

from sanad.portal.pages.applications import form_body
from sanad.portal.pages.profile import SECTIONS, form_values_of, section_body
from sanad.portal.security import CONTENT_SECURITY_POLICY
from sanad.portal.web import safe_next


def test_list_sections_leave_empty_rows_out() -> None:
    values = {
        "sources.0.type": "salary",
        "sources.0.monthly_amount": "900",
        "sources.0.payer": "Gulf",
        "sources.1.type": "",
        "sources.1.monthly_amount": "",
        "sources.1.payer": "",
        "sources.2.type": "pension",
        "sources.2.monthly_amount": "",
        "sources.2.payer": "",
    }
    assert section_body(SECTIONS["income"], values) == {
        "sources": [
            {"type": "salary", "monthly_amount": "900", "payer": "Gulf"},
            {"type": "pension"},  # the service names the missing fields
        ]
    }
    assert section_body(SECTIONS["income"], {}) == {"sources": []}


def test_a_section_round_trips_through_its_form() -> None:
    housing = {
        "region": "riyadh",
        "city": "Riyadh",
        "district": "Olaya",
        "national_address": "RRRD2929",
        "housing_type": "owned",
        "monthly_rent": None,
    }
    values = form_values_of(SECTIONS["housing"], housing)
    assert section_body(SECTIONS["housing"], values) == housing
    personal = section_body(
        SECTIONS["personal"],
        {"marital_status": "single", "has_disability": "false", "is_orphan": ""},
    )
    assert personal["has_disability"] is False and personal["is_orphan"] is None


def test_the_application_form_sends_the_chosen_payment_destination() -> None:
    body = form_body(
        {
            "monthly_income": "900",
            "family_size": "1",
            "employment_status": "employed",
            "payment.method": "iban",
            "payment.iban": "SA03 8000 0000 6080 1016 7519",
            "payment.card_number": "4111111111111111",
        }
    )
    assert body["payment"] == {"method": "iban", "iban": "SA03 8000 0000 6080 1016 7519"}
    assert "payment" not in form_body({"payment.method": "card", "payment.card_number": ""})


def test_a_form_may_only_send_the_browser_to_a_page_of_the_portal() -> None:
    assert safe_next("/applications/1?x=1") == "/applications/1?x=1"
    for hostile in ("//evil.example/x", "https://evil.example/", "javascript:alert(1)", ""):
        assert safe_next(hostile) == "/"


def test_the_content_security_policy_allows_nothing_inline_or_foreign() -> None:
    assert CONTENT_SECURITY_POLICY.startswith("default-src 'self'")
    assert "unsafe" not in CONTENT_SECURITY_POLICY and "*" not in CONTENT_SECURITY_POLICY
    assert "frame-ancestors 'none'" in CONTENT_SECURITY_POLICY
