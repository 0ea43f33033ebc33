"""The validators of national IDs, mobiles, passwords and registry records."""

from __future__ import annotations

import re
from datetime import date

import pytest

from sanad.identity.domain.mobile import national_digits, normalize_mobile
from sanad.identity.domain.otp import code_digest, code_matches, is_well_formed, new_code
from sanad.identity.domain.password_policy import password_problem
from sanad.identity.domain.registration import RegistrationDetails, check_registration
from sanad.identity.domain.registry import CivilRecord, Relationship, relation_problem
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
    assert len(records) == 74
    assert len({r.national_id for r in records}) == 74
    assert {r.nationality for r in records} >= {"SA", "IQ"}
    assert {r.sex for r in records} == {"M", "F"}
    # Every adult has a mobile registered to their ID, and no mobile is anyone else's too.
    mobiles = [m for r in records for m in r.mobiles]
    assert len(mobiles) == len(set(mobiles))
    assert all(r.mobiles for r in records if r.birth_date.year < 2000)


def test_the_shipped_family_register_holds_the_households_eligibility_is_tried_on() -> None:
    from sanad.identity.adapters.civil_registry import shipped_records, shipped_relations

    people = {r.national_id: r for r in shipped_records()}
    relations = shipped_relations()
    for relation in relations:
        person, relative = people[relation.person], people[relation.relative]
        assert relation_problem(person, relative, relation.relationship) is None, relation
    children: dict[str, int] = {}
    spouses = set()
    for relation in relations:
        if relation.relationship in ("son", "daughter"):
            children[relation.person] = children.get(relation.person, 0) + 1
        if relation.relationship == "spouse":
            spouses.add(relation.person)
    parents = set(children)
    # couples with children, widows with children, elderly living alone
    assert len(spouses & parents) >= 2
    assert len({p for p in parents if people[p].marital_status == "widowed"}) >= 2
    related = {r.person for r in relations} | {r.relative for r in relations}
    alone = [
        r for r in people.values() if r.birth_date.year < 1950 and r.national_id not in related
    ]
    assert len(alone) >= 2


@pytest.mark.parametrize(
    ("relationship", "relative_sex", "relative_born", "problem"),
    [
        ("son", "F", date(2010, 1, 1), "a son is male"),
        ("daughter", "M", date(2010, 1, 1), "a daughter is female"),
        ("daughter", "F", date(1960, 1, 1), "a child is born after their parent"),
        ("mother", "F", date(2010, 1, 1), "a parent is born before their child"),
        ("spouse", "M", date(1980, 1, 1), None),
    ],
)
def test_the_family_register_refuses_impossible_relations(
    relationship: Relationship, relative_sex: str, relative_born: date, problem: str | None
) -> None:
    person = CivilRecord.parse({**ROW, "national_id": "1085220380", "birth_date": "1980-05-05"})
    relative = CivilRecord.parse(
        {**ROW, "national_id": "1000000008", "sex": relative_sex, "birth_date": str(relative_born)}
    )
    found = relation_problem(person, relative, relationship)
    assert (found is None) if problem is None else (found is not None and problem in found)


def test_registry_mobiles_are_parsed_to_e164_and_a_bad_one_names_the_field() -> None:
    record = CivilRecord.parse({**ROW, "mobiles": "0551234567; +9647701234567"})
    assert record.mobiles == ("+966551234567", "+9647701234567")
    with pytest.raises(ValueError, match="mobile: 12345"):
        CivilRecord.parse({**ROW, "mobiles": "12345"})
