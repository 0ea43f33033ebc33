"""A person as the civil registry knows them: who they are, the mobiles registered to their
ID, and their family relations (spouse, children, parents)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal, get_args

from sanad.identity.domain.mobile import normalize_mobile
from sanad.shared.national_id import validate_national_id

Sex = Literal["M", "F"]
MARITAL_STATUSES = ("single", "married", "divorced", "widowed")
# What a relative is to a person, as the family register records it.
Relationship = Literal["spouse", "son", "daughter", "father", "mother"]
RELATIONSHIPS: tuple[str, ...] = get_args(Relationship)


@dataclass(frozen=True)
class CivilRecord:
    national_id: str
    full_name_ar: str
    full_name_en: str
    nationality: str  # ISO 3166-1 alpha-2
    sex: Sex
    birth_date: date
    marital_status: str
    # E.164 mobiles registered to this ID (a holder may have several).
    mobiles: tuple[str, ...] = ()

    @classmethod
    def parse(cls, row: dict[str, str]) -> CivilRecord:
        """From text fields (a CSV row or the CLI); ValueError naming the bad field."""

        def field(name: str) -> str:
            value = (row.get(name) or "").strip()
            if not value:
                raise ValueError(f"{name}: required")
            return value

        try:
            national_id = validate_national_id(field("national_id"))
        except ValueError as exc:
            raise ValueError(f"national_id: {exc}") from None
        sex = field("sex").upper()
        if sex not in ("M", "F"):
            raise ValueError("sex: must be M or F")
        nationality = field("nationality").upper()
        if len(nationality) != 2 or not nationality.isalpha():
            raise ValueError("nationality: must be a two-letter country code (SA, IQ, ...)")
        try:
            birth_date = date.fromisoformat(field("birth_date"))
        except ValueError:
            raise ValueError("birth_date: must be an ISO date (YYYY-MM-DD)") from None
        marital_status = field("marital_status").lower()
        if marital_status not in MARITAL_STATUSES:
            raise ValueError(f"marital_status: must be one of {', '.join(MARITAL_STATUSES)}")
        mobiles: list[str] = []
        for raw in (row.get("mobiles") or "").replace(",", ";").split(";"):
            if raw.strip():
                try:
                    mobiles.append(normalize_mobile(raw))
                except ValueError as exc:
                    raise ValueError(f"mobile: {raw.strip()} {exc}") from None
        return cls(
            national_id=national_id,
            full_name_ar=field("full_name_ar"),
            full_name_en=field("full_name_en"),
            nationality=nationality,
            sex="M" if sex == "M" else "F",
            birth_date=birth_date,
            marital_status=marital_status,
            mobiles=tuple(dict.fromkeys(mobiles)),
        )


@dataclass(frozen=True)
class Relation:
    """``relative`` is ``person``'s ``relationship`` (e.g. their son)."""

    person: str
    relative: str
    relationship: Relationship


@dataclass(frozen=True)
class FamilyMember:
    """A relative as the family register knows them, seen from the person."""

    record: CivilRecord
    relationship: Relationship


def parse_relationship(value: str) -> Relationship:
    normalised = value.strip().lower()
    for relationship in RELATIONSHIPS:
        if relationship == normalised:
            return relationship  # type: ignore[return-value]
    raise ValueError(f"relationship: must be one of {', '.join(RELATIONSHIPS)}")


def inverse(relationship: Relationship, person_sex: Sex) -> Relationship:
    """What the person is to their relative: a son's parent is his father or mother."""
    if relationship == "spouse":
        return "spouse"
    if relationship in ("son", "daughter"):
        return "father" if person_sex == "M" else "mother"
    return "son" if person_sex == "M" else "daughter"


def relation_problem(
    person: CivilRecord, relative: CivilRecord, relationship: Relationship
) -> str | None:
    """Why the register cannot hold ``relative`` as ``person``'s ``relationship``, or None."""
    if person.national_id == relative.national_id:
        return "relative_of: a person is not their own relative"
    if relationship in ("son", "father") and relative.sex != "M":
        return f"relationship: a {relationship} is male; the record's sex is {relative.sex}"
    if relationship in ("daughter", "mother") and relative.sex != "F":
        return f"relationship: a {relationship} is female; the record's sex is {relative.sex}"
    if relationship in ("son", "daughter") and relative.birth_date <= person.birth_date:
        return "relationship: a child is born after their parent"
    if relationship in ("father", "mother") and relative.birth_date >= person.birth_date:
        return "relationship: a parent is born before their child"
    return None
