"""Payment destinations: Saudi IBANs (mod-97) and Iraqi-style card numbers (Luhn)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from sanad.applications.domain.form import ApplicationForm
from sanad.applications.domain.payment import (
    InvalidPayment,
    masked,
    normalise_card,
    normalise_iban,
)

VALID_IBANS = [
    ("SA0380000000608010167519", "SA0380000000608010167519"),
    ("sa03 8000 0000 6080 1016 7519", "SA0380000000608010167519"),
    ("SA44 2000 0001 2345 6789 1234", "SA4420000001234567891234"),
]
INVALID_IBANS = [
    ("SA0380000000608010167518", "iban_check"),  # one digit off: mod-97 fails
    ("SA1380000000608010167519", "iban_check"),  # wrong check digits
    ("SA03800000006080101675", "iban_format"),  # 20 digits
    ("SA038000000060801016751900", "iban_format"),  # 24 digits
    ("SA03800000006080101675AB", "iban_format"),  # letters in the account part
    ("GB82WEST12345698765432", "iban_format"),  # a valid IBAN, but not Saudi
    ("AE070331234567890123456", "iban_format"),
    ("", "iban_format"),
    ("SA٠٣80000000608010167519", "iban_format"),  # Arabic-Indic digits
]
VALID_CARDS = [
    ("4111111111111111", "4111111111111111"),
    ("4111 1111 1111 1111", "4111111111111111"),
    ("6362-9700-0045-7013", "6362970000457013"),
    ("12345678", "12345678"),
]
INVALID_CARDS = [
    ("4111111111111112", "card_check"),  # Luhn digit wrong
    ("6362970000457014", "card_check"),
    ("411111111111111", "card_format"),  # 15 digits
    ("41111111111111111", "card_format"),  # 17 digits
    ("1234567", "card_format"),
    ("123456789", "card_format"),
    ("4111x11111111111", "card_format"),
    ("٤١١١١١١١١١١١١١١١", "card_format"),  # Arabic-Indic digits
]


@pytest.mark.parametrize(("given", "normalised"), VALID_IBANS)
def test_valid_saudi_ibans_are_normalised(given: str, normalised: str) -> None:
    assert normalise_iban(given) == normalised


@pytest.mark.parametrize(("given", "code"), INVALID_IBANS)
def test_invalid_ibans_are_refused_with_a_reason(given: str, code: str) -> None:
    with pytest.raises(InvalidPayment) as raised:
        normalise_iban(given)
    assert raised.value.code == code


@pytest.mark.parametrize(("given", "normalised"), VALID_CARDS)
def test_valid_cards_are_normalised(given: str, normalised: str) -> None:
    assert normalise_card(given) == normalised


@pytest.mark.parametrize(("given", "code"), INVALID_CARDS)
def test_invalid_cards_are_refused_with_a_reason(given: str, code: str) -> None:
    with pytest.raises(InvalidPayment) as raised:
        normalise_card(given)
    assert raised.value.code == code


def test_responses_and_events_show_only_the_last_four() -> None:
    assert masked("iban", "SA0380000000608010167519") == "SA** **** **** **** **** 7519"
    assert masked("card", "4111111111111111") == "**** 1111"
    form = ApplicationForm.model_validate(
        {"payment": {"method": "card", "card_number": "4111 1111 1111 1111"}}
    )
    assert form.public()["payment"] == {"method": "card", "masked": "**** 1111"}
    assert form.for_event()["payment"] == {"method": "card", "last4": "1111"}
    assert "4111111111111111" not in str(form.for_event())


def test_the_form_names_the_bad_payment_field() -> None:
    with pytest.raises(ValidationError) as raised:
        ApplicationForm.model_validate({"payment": {"method": "iban", "iban": "SA00"}})
    [error] = raised.value.errors()
    assert error["loc"] == ("payment", "iban", "iban")
    assert "Saudi IBAN" in error["msg"]


@pytest.mark.parametrize(
    ("form", "loc"),
    [
        ({"monthly_income": "-1"}, ("monthly_income",)),
        ({"monthly_income": "12.345"}, ("monthly_income",)),
        ({"monthly_income": 1200.5}, None),  # a JSON number is accepted exactly as written
        ({"family_size": 0}, ("family_size",)),
        ({"employment_status": "astronaut"}, ("employment_status",)),
        ({"payment": {"method": "cheque"}}, ("payment",)),
        ({"extra": 1}, ("extra",)),
    ],
)
def test_form_fields_are_checked(form: dict[str, object], loc: tuple[str, ...] | None) -> None:
    if loc is None:
        assert str(ApplicationForm.model_validate(form).monthly_income) == "1200.5"
        return
    with pytest.raises(ValidationError) as raised:
        ApplicationForm.model_validate(form)
    assert raised.value.errors()[0]["loc"] == loc
