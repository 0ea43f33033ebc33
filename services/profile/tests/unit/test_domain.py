"""The profile's rules without I/O: each section's validators, dependents, household figures,
completeness and the version each change gives."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from sanad.profile.domain.dependents import DependentInput
from sanad.profile.domain.household import PersonFacts, RegisteredRelative
from sanad.profile.domain.profile import DependentNotFound, Profile, RuleBroken
from sanad.profile.domain.sections import (
    MAX_ASSETS,
    MAX_INCOME_SOURCES,
    EducationInput,
    EmploymentInput,
    HousingInput,
    IncomeInput,
    LicensesInput,
    PersonalInput,
    PropertyInput,
)
from sanad.profile.service import if_match_matches
from sanad.shared.events import CitizenRegistered

CITIZEN_NID = "1000000008"
SPOUSE_NID = "1000000016"
SON_NID = "1000000024"
TOMORROW = date.today() + timedelta(days=1)


def registered(**changes: Any) -> CitizenRegistered:
    fields: dict[str, Any] = {
        "citizen_id": uuid.uuid4(),
        "national_id": CITIZEN_NID,
        "full_name_ar": "سارة أحمد",
        "full_name_en": "Sara Ahmed",
        "nationality": "SA",
        "sex": "F",
        "birth_date": date(1985, 3, 1),
        "marital_status": "Married",
        "mobile": "+966500000001",
        "email": "sara@example.com",
        "registered_at": datetime.now(UTC),
    }
    return CitizenRegistered(**(fields | changes))


def new_profile(**changes: Any) -> Profile:
    return Profile.from_registration(registered(**changes), "pseudonym-of-" + CITIZEN_NID)


def errors_of(exc: ValidationError) -> dict[str, str]:
    return {".".join(str(p) for p in err["loc"]): err["msg"] for err in exc.errors()}


# The family register as identity announced it: Sara's son and her spouse.
REGISTER = {
    SON_NID: RegisteredRelative("son", date(2012, 5, 1)),
    SPOUSE_NID: RegisteredRelative("spouse", date(1982, 1, 9)),
}


def confirmed(data: DependentInput, **facts: Any) -> PersonFacts:
    """The facts when the register confirms ``data``'s person (override to break a rule)."""
    return PersonFacts(**({"relative": REGISTER.get(data.national_id)} | facts))


def dependent(**changes: Any) -> DependentInput:
    fields: dict[str, Any] = {
        "full_name": "Omar",
        "national_id": SON_NID,
        "relationship": "son",
        "birth_date": "2012-05-01",
    }
    return DependentInput.model_validate(fields | changes)


# -- registration ----------------------------------------------------------------------


def test_a_new_profile_is_version_1_prefilled_from_the_registry() -> None:
    profile = new_profile()
    assert profile.version == 1
    assert profile.etag == '"1"'
    assert profile.sections.personal.marital_status == "married"
    assert profile.sections.personal.nationality == "SA"
    assert profile.registry.full_name_en == "Sara Ahmed"
    assert profile.contact.email == "sara@example.com"
    assert profile.completeness().personal is False  # disability and orphan still unknown


def test_an_unknown_registry_marital_status_is_left_for_the_citizen() -> None:
    assert new_profile(marital_status="complicated").sections.personal.marital_status is None


def test_the_event_does_not_carry_the_citizens_own_national_id() -> None:
    assert CITIZEN_NID not in new_profile().to_event().model_dump_json()


def test_the_event_carries_no_contact_nor_a_dependents_name_or_national_id() -> None:
    profile = new_profile().add_dependent(
        uuid.uuid4(), dependent(), confirmed(dependent()), max_household_size=10
    )
    event = profile.to_event().model_dump_json()
    for absent in (SON_NID, "Omar", "+966500000001", "sara@example.com"):
        assert absent not in event
    assert profile.to_event().dependents[0].is_citizen is True
    # The citizen reads all of it (GET /v1/profile); notifications gets the contact alone.
    view = profile.to_view()
    assert (view.dependents[0].national_id, view.contact.mobile) == (SON_NID, "+966500000001")
    contact = profile.contact_event()
    assert (contact.version, contact.mobile) == (profile.version, "+966500000001")


# -- sections --------------------------------------------------------------------------


def test_personal_needs_a_disability_type_exactly_when_disabled() -> None:
    ok = PersonalInput.model_validate(
        {
            "marital_status": "single",
            "has_disability": True,
            "disability_type": "visual",
            "is_orphan": False,
        }
    )
    assert ok.disability_type == "visual"
    with pytest.raises(ValidationError) as missing:
        PersonalInput.model_validate(
            {"marital_status": "single", "has_disability": True, "is_orphan": False}
        )
    assert "disability_type" in errors_of(missing.value)
    with pytest.raises(ValidationError) as extra:
        PersonalInput.model_validate(
            {
                "marital_status": "single",
                "has_disability": False,
                "disability_type": "visual",
                "is_orphan": False,
            }
        )
    assert "disability_type" in errors_of(extra.value)


def test_nationality_is_read_only() -> None:
    profile = new_profile()
    same = PersonalInput.model_validate(
        {
            "marital_status": "widowed",
            "nationality": "SA",
            "has_disability": False,
            "is_orphan": False,
        }
    )
    assert profile.with_section("personal", same).sections.personal.marital_status == "widowed"
    other = same.model_copy(update={"nationality": "EG"})
    with pytest.raises(RuleBroken) as broken:
        profile.with_section("personal", other)
    assert (broken.value.field, broken.value.code) == ("body.nationality", "read_only")


@pytest.mark.parametrize("address", ["RRRD2929", " rrrd2929 "])
def test_housing_accepts_a_short_national_address(address: str) -> None:
    housing = HousingInput.model_validate(
        {
            "region": "riyadh",
            "city": "Riyadh",
            "district": "Olaya",
            "national_address": address,
            "housing_type": "owned",
        }
    )
    assert housing.national_address == "RRRD2929"
    assert housing.monthly_rent == 0


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"national_address": "RRR2929"}, "national_address"),
        ({"national_address": "RRRD29290"}, "national_address"),
        ({"region": "atlantis"}, "region"),
        ({"housing_type": "tent"}, "housing_type"),
        ({"housing_type": "rented"}, "monthly_rent"),
        ({"housing_type": "rented", "monthly_rent": "-1"}, "monthly_rent"),
        ({"monthly_rent": "1500"}, "monthly_rent"),  # rent on an owned home
        ({"city": "   "}, "city"),
        ({"city": "Riy\u0000adh"}, "city"),
        ({"district": "Ola\u0007ya"}, "district"),
        ({"floor": 3}, "floor"),
    ],
)
def test_housing_rejects(changes: dict[str, Any], field: str) -> None:
    body = {
        "region": "riyadh",
        "city": "Riyadh",
        "district": "Olaya",
        "national_address": "RRRD2929",
        "housing_type": "owned",
    }
    with pytest.raises(ValidationError) as exc:
        HousingInput.model_validate(body | changes)
    assert field in errors_of(exc.value)


def test_income_amounts_are_non_negative_sar_with_halalas() -> None:
    good = IncomeInput.model_validate(
        {"sources": [{"type": "salary", "monthly_amount": "4000.50", "payer": "ACME"}]}
    )
    assert good.sources[0].monthly_amount == Decimal("4000.50")
    for amount in ("-1", "10.001", "NaN", "abc"):
        with pytest.raises(ValidationError) as exc:
            IncomeInput.model_validate(
                {"sources": [{"type": "salary", "monthly_amount": amount, "payer": "ACME"}]}
            )
        assert "sources.0.monthly_amount" in errors_of(exc.value)


@pytest.mark.parametrize(
    ("given", "published"), [("1e2", "100.00"), ("100.000", "100.00"), ("7", "7.00")]
)
def test_amounts_are_published_with_exactly_two_decimals(given: str, published: str) -> None:
    income = IncomeInput.model_validate(
        {"sources": [{"type": "salary", "monthly_amount": given, "payer": "ACME"}]}
    )
    assert income.model_dump(mode="json")["sources"][0]["monthly_amount"] == published


def test_income_rejects_unknown_types_and_too_many_sources() -> None:
    with pytest.raises(ValidationError) as unknown:
        IncomeInput.model_validate(
            {"sources": [{"type": "lottery", "monthly_amount": 1, "payer": "x"}]}
        )
    assert "sources.0.type" in errors_of(unknown.value)
    source = {"type": "other", "monthly_amount": 1, "payer": "x"}
    with pytest.raises(ValidationError) as many:
        IncomeInput.model_validate({"sources": [source] * (MAX_INCOME_SOURCES + 1)})
    assert "sources" in errors_of(many.value)


def test_education_levels_are_a_closed_list() -> None:
    assert EducationInput(highest_level="bachelor").highest_level == "bachelor"
    with pytest.raises(ValidationError):
        EducationInput.model_validate({"highest_level": "kindergarten"})


def test_employment_needs_an_employer_when_employed_and_a_past_start() -> None:
    assert EmploymentInput.model_validate({"status": "unemployed"}).employer is None
    with pytest.raises(ValidationError) as no_employer:
        EmploymentInput.model_validate({"status": "employed"})
    assert "employer" in errors_of(no_employer.value)
    with pytest.raises(ValidationError) as future:
        EmploymentInput.model_validate(
            {"status": "employed", "employer": "ACME", "since": TOMORROW.isoformat()}
        )
    assert "since" in errors_of(future.value)


def test_licenses_check_numbers_and_duplicates() -> None:
    cr = {
        "kind": "commercial_registration",
        "number": "1010123456",
        "type": "Retail",
        "active": True,
    }
    assert len(LicensesInput.model_validate({"items": [cr]}).items) == 1
    with pytest.raises(ValidationError) as short:
        LicensesInput.model_validate({"items": [cr | {"number": "12345"}]})
    assert "items.0.number" in errors_of(short.value)
    with pytest.raises(ValidationError) as twice:
        LicensesInput.model_validate({"items": [cr, cr]})
    assert "items" in errors_of(twice.value)


def test_property_rejects_negative_values_and_oversized_lists() -> None:
    asset = {"kind": "vehicle", "description": "Camry 2015", "estimated_value": "30000"}
    with pytest.raises(ValidationError) as negative:
        PropertyInput.model_validate({"assets": [asset | {"estimated_value": "-5"}]})
    assert "assets.0.estimated_value" in errors_of(negative.value)
    with pytest.raises(ValidationError) as many:
        PropertyInput.model_validate({"assets": [asset] * (MAX_ASSETS + 1)})
    assert "assets" in errors_of(many.value)


# -- dependents ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"national_id": "1000000009"}, "national_id"),  # bad check digit
        ({"national_id": "3000000006"}, "national_id"),  # neither citizen nor resident
        ({"national_id": "12345"}, "national_id"),
        ({"national_id": 1000000024}, "national_id"),
        ({"relationship": "cousin"}, "relationship"),
        ({"birth_date": TOMORROW.isoformat()}, "birth_date"),
        ({"birth_date": "1850-01-01"}, "birth_date"),
        ({"monthly_income": "-0.01"}, "monthly_income"),
        ({"has_disability": True}, "disability_type"),
        ({"full_name": ""}, "full_name"),
    ],
)
def test_a_dependent_is_rejected_for(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as exc:
        dependent(**changes)
    assert field in errors_of(exc.value)


def test_the_citizen_cannot_be_their_own_dependent() -> None:
    with pytest.raises(RuleBroken) as broken:
        new_profile().add_dependent(
            uuid.uuid4(),
            dependent(national_id=CITIZEN_NID),
            PersonFacts(relative=None, is_the_citizen=True),
            max_household_size=10,
        )
    assert (broken.value.field, broken.value.code) == ("body.national_id", "is_citizen")


def test_no_dependent_twice_but_a_dependent_may_be_replaced_by_themself() -> None:
    first = uuid.uuid4()
    profile = new_profile().add_dependent(
        first, dependent(), confirmed(dependent()), max_household_size=10
    )
    with pytest.raises(RuleBroken) as broken:
        profile.add_dependent(
            uuid.uuid4(),
            dependent(full_name="Again"),
            confirmed(dependent()),
            max_household_size=10,
        )
    assert broken.value.code == "duplicate"
    renamed = profile.replace_dependent(
        first, dependent(full_name="Omar Ahmed"), confirmed(dependent())
    )
    assert renamed.dependent(first).full_name == "Omar Ahmed"


def test_the_household_size_limit_counts_the_citizen() -> None:
    profile = new_profile().add_dependent(
        uuid.uuid4(), dependent(), confirmed(dependent()), max_household_size=2
    )
    spouse = dependent(national_id=SPOUSE_NID, relationship="spouse")
    with pytest.raises(RuleBroken) as broken:
        profile.add_dependent(uuid.uuid4(), spouse, confirmed(spouse), max_household_size=2)
    assert (broken.value.field, broken.value.code) == ("dependents", "household_limit")


def test_removing_or_replacing_an_unknown_dependent_fails() -> None:
    with pytest.raises(DependentNotFound):
        new_profile().remove_dependent(uuid.uuid4())
    with pytest.raises(DependentNotFound):
        new_profile().replace_dependent(uuid.uuid4(), dependent(), confirmed(dependent()))


@pytest.mark.parametrize(
    ("claim", "facts", "field", "code"),
    [
        # another family's child: not in the register
        (
            {"national_id": "1000000032"},
            {"relative": None},
            "body.national_id",
            "not_in_family_register",
        ),
        # a man born in 1970 claimed as a daughter born in 2015
        ({"relationship": "daughter"}, {}, "body.relationship", "registry_mismatch"),
        ({"birth_date": "2015-01-01"}, {}, "body.birth_date", "registry_mismatch"),
        ({"relationship": "other"}, {}, "body.relationship", "registry_mismatch"),
        ({}, {"is_staff": True}, "body.national_id", "staff"),
        ({}, {"has_own_account": True}, "body.national_id", "has_own_account"),
        ({}, {"in_another_household": True}, "body.national_id", "in_another_household"),
    ],
)
def test_a_dependent_must_be_confirmed_by_the_family_register(
    claim: dict[str, Any], facts: dict[str, Any], field: str, code: str
) -> None:
    data = dependent(**claim)
    with pytest.raises(RuleBroken) as broken:
        new_profile().add_dependent(
            uuid.uuid4(), data, confirmed(dependent(), **facts), max_household_size=10
        )
    assert (broken.value.field, broken.value.code) == (field, code)


def test_the_birth_date_comes_from_the_family_register() -> None:
    data = dependent(birth_date=None)
    profile = new_profile().add_dependent(
        uuid.uuid4(), data, confirmed(data), max_household_size=10
    )
    assert profile.dependents[0].birth_date == date(2012, 5, 1)


# -- derived figures -------------------------------------------------------------------


def test_household_figures_add_up_citizen_and_dependents() -> None:
    profile = new_profile()
    empty = profile.household()
    assert (empty.household_size, empty.total_monthly_income, empty.total_property_value) == (
        1,
        Decimal("0"),
        Decimal("0"),
    )
    income = IncomeInput.model_validate(
        {
            "sources": [
                {"type": "salary", "monthly_amount": "3000.25", "payer": "ACME"},
                {"type": "pension", "monthly_amount": "1000", "payer": "GOSI"},
            ]
        }
    )
    assets = PropertyInput.model_validate(
        {
            "assets": [
                {"kind": "real_estate", "description": "Flat", "estimated_value": "450000"},
                {"kind": "vehicle", "description": "Car", "estimated_value": "25000.50"},
            ]
        }
    )
    son = dependent()
    spouse = dependent(national_id=SPOUSE_NID, relationship="spouse", birth_date=None)
    profile = (
        profile.with_section("income", income)
        .with_section("property", assets)
        .add_dependent(
            uuid.uuid4(), dependent(monthly_income="500"), confirmed(son), max_household_size=5
        )
        .add_dependent(uuid.uuid4(), spouse, confirmed(spouse), max_household_size=5)
    )
    household = profile.household()
    assert household.household_size == 3
    assert household.total_monthly_income == Decimal("4500.25")
    assert household.total_property_value == Decimal("475000.50")
    assert profile.version == 5  # one per change


def test_completeness_follows_the_filled_sections() -> None:
    profile = new_profile()
    assert profile.completeness().complete is False
    profile = (
        profile.with_section(
            "personal",
            PersonalInput.model_validate(
                {"marital_status": "married", "has_disability": False, "is_orphan": False}
            ),
        )
        .with_section(
            "housing",
            HousingInput.model_validate(
                {
                    "region": "makkah",
                    "city": "Jeddah",
                    "district": "Rawdah",
                    "national_address": "JEDA1234",
                    "housing_type": "rented",
                    "monthly_rent": 2000,
                }
            ),
        )
        .with_section("income", IncomeInput.model_validate({"sources": []}))
        .with_section("education", EducationInput(highest_level="secondary"))
        .with_section("employment", EmploymentInput.model_validate({"status": "unemployed"}))
        .with_section("licenses", LicensesInput.model_validate({"items": []}))
    )
    assert profile.completeness().property is False
    assert profile.completeness().complete is False
    done = profile.with_section("property", PropertyInput.model_validate({"assets": []}))
    assert done.completeness().complete is True
    assert done.to_event().completeness.complete is True


@pytest.mark.parametrize(
    ("header", "matches"),
    [('"v3"', True), ("*", True), ('"v1", "v3"', True), ('W/"v3"', False), ('"v2"', False)],
)
def test_if_match_follows_rfc_9110(header: str, matches: bool) -> None:
    assert if_match_matches(header, '"v3"') is matches
