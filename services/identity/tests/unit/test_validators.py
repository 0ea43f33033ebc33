"""The validators of national IDs, mobiles, passwords and registry records."""

from __future__ import annotations

import re
from datetime import date

import pytest

from sanad.identity.domain.mobile import national_digits, normalize_mobile
from sanad.identity.domain.otp import code_digest, code_matches, is_well_formed, new_code
from sanad.identity.domain.password_policy import password_problem
from sanad.identity.domain.registration import RegistrationDetails, check_registration
from sanad.identity.domain.registry import CivilRecord
from sanad.shared.national_id import is_valid_national_id, validate_national_id
from sanad.shared.problems import FieldError


@pytest.mark.parametrize("value", ["1000000008", "2000000006", " 1085220380 "])
def test_valid_national_ids(value: str) -> None:
    assert validate_national_id(value) == value.strip()
    assert is_valid_national_id(value)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("1000000009", "invalid check digit"),
        ("3000000004", "must start with 1 (citizen) or 2 (resident)"),
        ("100000000", "exactly 10 digits (got 9)"),
        ("10000000080", "exactly 10 digits (got 11)"),
        ("10000O0008", "digits only"),
        ("١٠٠٠٠٠٠٠٠٨", "digits only"),  # Arabic-Indic digits are not accepted as stored form
        ("", "digits only"),
    ],
)
def test_invalid_national_ids_say_why(value: str, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        validate_national_id(value)
    assert not is_valid_national_id(value)


@pytest.mark.parametrize(
    ("raw", "e164"),
    [
        ("0551234567", "+966551234567"),
        ("+966551234567", "+966551234567"),
        ("00966 55 123 4567", "+966551234567"),
        ("07701234567", "+9647701234567"),
        ("+9647801234567", "+9647801234567"),
    ],
)
def test_saudi_and_iraqi_mobiles_become_e164(raw: str, e164: str) -> None:
    assert normalize_mobile(raw) == e164


@pytest.mark.parametrize(
    "raw",
    ["0112345678", "+966112345678", "055123456", "+14155550123", "+447700900123", "mobile", ""],
)
def test_other_numbers_are_refused(raw: str) -> None:
    with pytest.raises(ValueError, match="Saudi"):
        normalize_mobile(raw)


def test_national_digits_are_what_a_person_types_without_the_trunk_zero() -> None:
    assert national_digits("+966551234567") == "551234567"


@pytest.mark.parametrize(
    ("password", "problem"),
    [
        ("short1!", "at least 8 characters"),
        ("x" * 129, "at most 128 characters"),
        ("password123", "too common"),
        ("QWERTY123", "too common"),
        ("my1000000008id", "national ID"),
        ("call551234567now", "mobile"),
    ],
)
def test_weak_passwords_are_refused(password: str, problem: str) -> None:
    found = password_problem(password, national_id="1000000008", mobile_digits="551234567")
    assert found is not None and problem in found


@pytest.mark.parametrize("password", ["correct horse battery", "كلمة سر طويلة", "Zq8!vR2#"])
def test_acceptable_passwords(password: str) -> None:
    assert password_problem(password, national_id="1000000008", mobile_digits="551234567") is None


def _check(**overrides: object) -> RegistrationDetails | list[FieldError]:
    fields: dict[str, object] = {
        "national_id": "1000000008",
        "date_of_birth": date(1990, 1, 1),
        "mobile": "0551234567",
        "password": "correct horse battery",
        "email": None,
        "language": "ar",
        "today": date(2026, 1, 1),
    }
    fields.update(overrides)
    return check_registration(**fields)  # type: ignore[arg-type]


def test_a_valid_registration_is_normalised() -> None:
    details = _check(email="Someone@Example.COM")
    assert isinstance(details, RegistrationDetails)
    assert details.mobile == "+966551234567"
    assert details.email == "Someone@example.com"


def test_every_bad_field_gets_its_own_error() -> None:
    errors = _check(
        national_id="1000000009",
        date_of_birth=date(2030, 1, 1),
        mobile="12345",
        password="password",
        email="not-an-email",
    )
    assert isinstance(errors, list)
    assert [e.field for e in errors] == [
        "body.national_id",
        "body.date_of_birth",
        "body.mobile",
        "body.password",
        "body.email",
    ]


def test_password_with_the_mobile_is_refused_in_either_form() -> None:
    errors = _check(password="x0551234567x")
    assert isinstance(errors, list) and errors[0].field == "body.password"


def test_otp_codes_are_six_digits_and_checked_against_a_keyed_digest() -> None:
    codes = {new_code() for _ in range(200)}
    assert all(is_well_formed(code) for code in codes) and len(codes) > 150
    digest = code_digest("reg-1", "123456")
    assert code_matches("reg-1", "123456", digest)
    assert not code_matches("reg-1", "123457", digest)
    assert not code_matches("reg-2", "123456", digest)
    assert not is_well_formed("12345a") and not is_well_formed("1234567")


ROW = {
    "national_id": "1000000008",
    "full_name_ar": "خالد",
    "full_name_en": "Khalid",
    "nationality": "sa",
    "sex": "m",
    "birth_date": "1990-01-31",
    "marital_status": "Married",
}


def test_registry_record_parses_and_normalises() -> None:
    record = CivilRecord.parse(ROW)
    assert (record.nationality, record.sex, record.marital_status) == ("SA", "M", "married")
    assert record.birth_date == date(1990, 1, 31)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("national_id", "1000000009", "national_id: has an invalid check digit"),
        ("sex", "X", "sex: must be M or F"),
        ("nationality", "SAU", "nationality: must be a two-letter"),
        ("birth_date", "31/01/1990", "birth_date: must be an ISO date"),
        ("marital_status", "complicated", "marital_status: must be one of"),
        ("full_name_en", " ", "full_name_en: required"),
    ],
)
def test_bad_registry_records_name_the_field(field: str, value: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        CivilRecord.parse({**ROW, field: value})


def test_the_shipped_registry_is_valid_and_varied() -> None:
    from sanad.identity.adapters.civil_registry import shipped_records

    records = shipped_records()
    assert len(records) == 50
    assert len({r.national_id for r in records}) == 50
    assert {r.nationality for r in records} >= {"SA", "IQ"}
    assert {r.sex for r in records} == {"M", "F"}
