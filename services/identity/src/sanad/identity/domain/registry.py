"""A person as the civil registry knows them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal

from sanad.shared.national_id import validate_national_id

Sex = Literal["M", "F"]
MARITAL_STATUSES = ("single", "married", "divorced", "widowed")


@dataclass(frozen=True)
class CivilRecord:
    national_id: str
    full_name_ar: str
    full_name_en: str
    nationality: str  # ISO 3166-1 alpha-2
    sex: Sex
    birth_date: date
    marital_status: str

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
        return cls(
            national_id=national_id,
            full_name_ar=field("full_name_ar"),
            full_name_en=field("full_name_en"),
            nationality=nationality,
            sex="M" if sex == "M" else "F",
            birth_date=birth_date,
            marital_status=marital_status,
        )
