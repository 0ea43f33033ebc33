"""A gateway problem as the page shows it: each field error beside its control, in the
page's language."""

from __future__ import annotations

import httpx

from sanad.portal import i18n
from sanad.portal.problems import field_name, from_response

PROBLEM = {
    "type": "validation-error",
    "title": "Invalid request",
    "status": 422,
    "detail": "body.payment.iban: not a Saudi IBAN",
    "errors": [
        {
            "field": "body.payment.iban",
            "message": "Not a Saudi IBAN (SA + 22 digits)",
            "code": "iban_format",
        },
        {
            "field": "body.sources.0.monthly_amount",
            "message": "Input should be >= 0",
            "code": "greater_than_equal",
        },
        {"field": "body.nickname", "message": "odd", "code": "some_new_code"},
    ],
}


def answer(status: int, body: dict[str, object]) -> httpx.Response:
    return httpx.Response(status, json=body, headers={"content-type": "application/problem+json"})


def test_a_field_path_names_the_control() -> None:
    assert field_name("body.payment.iban") == "payment.iban"
    assert field_name("form.monthly_income") == "monthly_income"
    assert field_name("query.program") == "program"
    assert field_name("documents.national_id") == "documents.national_id"


def test_an_arabic_page_shows_each_error_in_arabic_beside_its_field() -> None:
    i18n.use("ar")
    errors = from_response(answer(422, PROBLEM))
    assert errors.fields == {
        "payment.iban": "أدخل آيبان سعوديًا: SA يليها 22 رقمًا.",
        "sources.0.monthly_amount": "القيمة صغيرة جدًا.",
        "nickname": "هذه القيمة غير مقبولة.",  # a code without its own words
    }
    assert errors.general == []


def test_an_english_page_shows_the_services_own_message() -> None:
    i18n.use("en")
    errors = from_response(answer(422, PROBLEM))
    assert errors.fields["payment.iban"] == "Not a Saudi IBAN (SA + 22 digits)"


def test_a_problem_naming_no_field_is_shown_above_the_form() -> None:
    detail = "Cannot submit: the application is SUBMITTED."
    body = {"title": "Conflict", "status": 409, "detail": detail}
    i18n.use("en")
    assert from_response(answer(409, body)).general == [body["detail"]]
    i18n.use("ar")
    assert from_response(answer(409, body)).general == ["لا يمكن تنفيذ ذلك في الحالة الحالية."]
    assert from_response(httpx.Response(502, text="<html>bad gateway</html>")).general
