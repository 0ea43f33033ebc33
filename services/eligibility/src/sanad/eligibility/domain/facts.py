"""The facts a rule set may read, and how they are drawn from an evaluation's inputs.

Inputs (stored with every evaluation, so it can be re-run): the household ``profile`` (the
``household_snapshot`` of ``ApplicationSubmitted`` v2, or this service's copy of the latest
``ProfileUpdated``), the application ``form``, the ``documents`` attached (their kinds) and the
programs the citizen is an active beneficiary of (the beneficiary registry).

A fact is either a value, ``None`` (it should be known and is not: the citizen has not filled
that part of the profile — the evaluation is ``incomplete``), or absent: the kind of
evaluation does not supply it at all (a check before applying has no form and no documents),
and the criteria reading it are ``not_applicable``.

Money facts are integer halalas; ages are whole years on the evaluation date.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, Literal

from sanad.eligibility.domain.money import to_halalas

FactType = Literal["money", "int", "bool", "text", "list"]
Source = Literal["profile", "form", "documents", "registry"]
Value = int | bool | str | list[str] | None
Facts = dict[str, Value]  # a missing key: not supplied by this kind of evaluation


@dataclass(frozen=True)
class FactSpec:
    name: str
    type: FactType
    source: Source
    label_ar: str
    label_en: str
    # What the citizen does so that it becomes known (said when it is None).
    fill_ar: str = "أكمل ملفك الموحد"
    fill_en: str = "complete your unified profile"


def _spec(name: str, type_: FactType, source: Source, ar: str, en: str, **kw: str) -> FactSpec:
    return FactSpec(name, type_, source, ar, en, **kw)


INCOME = {"fill_ar": "أكمل قسم الدخل في ملفك", "fill_en": "fill the income section of your profile"}
PROPERTY = {
    "fill_ar": "أكمل قسم الممتلكات في ملفك",
    "fill_en": "fill the property section of your profile",
}
HOUSING = {
    "fill_ar": "أكمل قسم السكن في ملفك",
    "fill_en": "fill the housing section of your profile",
}
EMPLOYMENT = {
    "fill_ar": "أكمل قسم العمل في ملفك",
    "fill_en": "fill the employment section of your profile",
}
PERSONAL = {
    "fill_ar": "أكمل البيانات الشخصية في ملفك",
    "fill_en": "fill the personal section of your profile",
}

CATALOG: dict[str, FactSpec] = {
    spec.name: spec
    for spec in (
        _spec("nationality", "text", "profile", "الجنسية", "nationality"),
        _spec("sex", "text", "profile", "الجنس", "sex"),
        _spec("age", "int", "profile", "العمر", "age"),
        _spec(
            "marital_status", "text", "profile", "الحالة الاجتماعية", "marital status", **PERSONAL
        ),
        _spec("has_disability", "bool", "profile", "وجود إعاقة", "disability", **PERSONAL),
        _spec("is_orphan", "bool", "profile", "اليتم", "orphanhood", **PERSONAL),
        _spec("dependents", "int", "profile", "عدد التابعين", "number of dependents"),
        _spec("household_size", "int", "profile", "عدد أفراد الأسرة", "household size"),
        _spec("children", "int", "profile", "عدد الأبناء", "number of children"),
        _spec(
            "citizen_children",
            "int",
            "profile",
            "عدد الأبناء المواطنين",
            "number of citizen children",
        ),
        _spec("minor_children", "int", "profile", "عدد الأبناء القصّر", "number of minor children"),
        _spec(
            "disabled_members",
            "int",
            "profile",
            "أفراد الأسرة ذوو الإعاقة",
            "household members with a disability",
            **PERSONAL,
        ),
        _spec(
            "earning_dependents",
            "int",
            "profile",
            "التابعون ذوو الدخل",
            "dependents with an income",
        ),
        _spec(
            "resides_in_country",
            "bool",
            "profile",
            "الإقامة الدائمة في المملكة",
            "permanent residence in the Kingdom",
            **HOUSING,
        ),
        _spec("region", "text", "profile", "المنطقة", "region", **HOUSING),
        _spec("housing_type", "text", "profile", "نوع السكن", "housing type", **HOUSING),
        _spec(
            "household_income",
            "money",
            "profile",
            "دخل الأسرة الشهري",
            "household monthly income",
            **INCOME,
        ),
        _spec(
            "own_income", "money", "profile", "دخل المتقدم الشهري", "own monthly income", **INCOME
        ),
        _spec(
            "property_value",
            "money",
            "profile",
            "قيمة الممتلكات",
            "total property value",
            **PROPERTY,
        ),
        _spec(
            "employment_status",
            "text",
            "profile",
            "الحالة الوظيفية",
            "employment status",
            **EMPLOYMENT,
        ),
        _spec(
            "form_income",
            "money",
            "form",
            "الدخل الشهري المذكور في الطلب",
            "monthly income stated on the form",
            fill_ar="اذكر الدخل الشهري في الطلب",
            fill_en="state the monthly income on the form",
        ),
        _spec(
            "form_family_size",
            "int",
            "form",
            "عدد أفراد الأسرة المذكور في الطلب",
            "family size stated on the form",
            fill_ar="اذكر عدد أفراد الأسرة في الطلب",
            fill_en="state the family size on the form",
        ),
        _spec(
            "category",
            "text",
            "form",
            "الفئة",
            "category",
            fill_ar="اختر الفئة في الطلب",
            fill_en="choose the category on the form",
        ),
        _spec("documents", "list", "documents", "المستندات المرفقة", "documents attached"),
        _spec(
            "active_programs",
            "list",
            "registry",
            "البرامج التي يستفيد منها حاليًا",
            "programs currently received",
        ),
    )
}

CHILDREN = frozenset({"son", "daughter"})
ADULT_AGE = 18


def age_on(birth: date, on: date) -> int:
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def _date(value: Any) -> date | None:
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        return date.fromisoformat(value)
    return None


def _money(value: Any) -> int:
    return to_halalas(value if not isinstance(value, float) else Decimal(str(value)))


def is_citizen_id(national_id: str) -> bool:
    """Saudi national IDs of citizens start with 1 (residence permits with 2)."""
    return national_id.startswith("1")


def is_citizen(dependent: dict[str, Any]) -> bool:
    """ProfileUpdated v2 says it (``is_citizen``); inputs recorded from a version 1 carry
    the dependent's national ID instead."""
    if "is_citizen" in dependent:
        return bool(dependent["is_citizen"])
    return is_citizen_id(str(dependent.get("national_id")))


def profile_facts(profile: dict[str, Any], on: date) -> Facts:
    sections = profile.get("sections") or {}
    personal = sections.get("personal") or {}
    completeness = profile.get("completeness") or {}
    household = profile.get("household") or {}
    registry = profile.get("registry") or {}
    dependents = profile.get("dependents") or []
    housing = sections.get("housing") if completeness.get("housing", True) else None
    income = sections.get("income") if completeness.get("income", True) else None
    employment = sections.get("employment")
    birth = _date(registry.get("birth_date"))
    children = [d for d in dependents if d.get("relationship") in CHILDREN]

    def minor(dependent: dict[str, Any]) -> bool:
        born = _date(dependent.get("birth_date"))
        return born is not None and age_on(born, on) < ADULT_AGE

    has_disability = personal.get("has_disability")
    facts: Facts = {
        "nationality": personal.get("nationality"),
        "sex": registry.get("sex"),
        "age": age_on(birth, on) if birth else None,
        "marital_status": personal.get("marital_status"),
        "has_disability": has_disability,
        "is_orphan": personal.get("is_orphan"),
        "dependents": len(dependents),
        "household_size": int(household.get("household_size") or 1 + len(dependents)),
        "children": len(children),
        "citizen_children": sum(1 for d in children if is_citizen(d)),
        "minor_children": sum(1 for d in children if minor(d)),
        "disabled_members": (
            None
            if has_disability is None
            else int(bool(has_disability)) + sum(1 for d in dependents if d.get("has_disability"))
        ),
        "earning_dependents": sum(
            1 for d in dependents if _money(d.get("monthly_income") or "0") > 0
        ),
        "resides_in_country": None if housing is None else True,
        "region": None if housing is None else housing.get("region"),
        "housing_type": None if housing is None else housing.get("housing_type"),
        "household_income": (
            None if income is None else _money(household.get("total_monthly_income") or "0")
        ),
        "own_income": (
            None
            if income is None
            else sum(_money(s.get("monthly_amount") or "0") for s in income.get("sources") or [])
        ),
        "property_value": (
            None
            if not completeness.get("property", True) or sections.get("property") is None
            else _money(household.get("total_property_value") or "0")
        ),
        "employment_status": None if employment is None else employment.get("status"),
    }
    return facts


def form_facts(form: dict[str, Any]) -> Facts:
    facts: Facts = {}
    if "monthly_income" in form:
        value = form["monthly_income"]
        facts["form_income"] = None if value is None else _money(value)
    if "family_size" in form:
        value = form["family_size"]
        facts["form_family_size"] = None if value is None else int(value)
    if "category" in form:
        facts["category"] = form["category"]
    return facts


def facts_of(inputs: dict[str, Any], on: date) -> Facts:
    """Every fact the inputs supply, on the evaluation date ``on``."""
    facts: Facts = {}
    if inputs.get("profile") is not None:
        facts |= profile_facts(inputs["profile"], on)
    if inputs.get("form") is not None:
        facts |= form_facts(inputs["form"])
    if inputs.get("documents") is not None:
        facts["documents"] = sorted({str(kind) for kind in inputs["documents"]})
    facts["active_programs"] = sorted({str(code) for code in inputs.get("active_programs") or []})
    return facts


def check_value(name: str, value: Any) -> Value:
    """A fact given by hand (simulation), converted to the engine's type, or ValueError."""
    spec = CATALOG[name]
    if value is None:
        return None
    match spec.type:
        case "money":
            return to_halalas(value)
        case "int":
            if isinstance(value, bool) or not isinstance(value, int):
                raise ValueError("must be a whole number")
            return value
        case "bool":
            if not isinstance(value, bool):
                raise ValueError("must be true or false")
            return value
        case "text":
            if not isinstance(value, str):
                raise ValueError("must be a string")
            return value
        case "list":
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise ValueError("must be a list of strings")
            return sorted(set(value))
    raise AssertionError(spec.type)


SAMPLE: dict[FactType, Value] = {
    "money": 100_000,
    "int": 2,
    "bool": True,
    "text": "sample",
    "list": ["sample"],
}
