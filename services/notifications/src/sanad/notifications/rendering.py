"""Messages from the Jinja2 template files under ``templates/<template>/<language>.*``.

Per template and language: ``sms.txt`` (the SMS body), and for email ``subject.txt``,
``email.txt`` (plain part) and ``email.html`` (HTML part; Arabic carries ``dir="rtl"``).
Only ``.html`` files are auto-escaped: event text (a rejection reason) cannot inject markup.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from sanad.notifications.domain.planning import Template
from sanad.notifications.domain.segments import SegmentCount, count_segments
from sanad.shared.events.base import Language

TEMPLATE_DIR = Path(__file__).resolve().parent / "templates"

# Human names of the seeded program codes; an unknown code is shown as it is.
PROGRAMS: dict[str, dict[str, str]] = {
    "social_security": {"ar": "الضمان الاجتماعي المطور", "en": "Developed Social Security"},
    "food_support": {"ar": "دعم الغذاء", "en": "Food Support"},
    "electricity_support": {"ar": "دعم الكهرباء", "en": "Electricity Support"},
    "poor_families": {"ar": "دعم الأسر الفقيرة", "en": "Support for Poor Families"},
    "orphans": {"ar": "رعاية الأيتام", "en": "Orphans Support"},
    "widows_divorcees": {"ar": "دعم الأرامل والمطلقات", "en": "Widows and Divorcees Support"},
    "elderly": {"ar": "رعاية كبار السن", "en": "Elderly Without a Provider"},
    "disability": {"ar": "دعم ذوي الإعاقة", "en": "People with Disabilities"},
    "unemployed": {"ar": "دعم العاطلين عن العمل", "en": "Unemployment Support"},
}
DOCUMENTS: dict[str, dict[str, str]] = {
    "national_id": {"ar": "الهوية الوطنية", "en": "national ID"},
    "residence_permit": {"ar": "الإقامة السارية", "en": "valid residence permit"},
    "family_register": {"ar": "سجل الأسرة", "en": "family register"},
    "proof_of_income": {"ar": "إثبات الدخل", "en": "proof of income"},
    "bank_account": {"ar": "بيانات الحساب البنكي", "en": "bank account details"},
}
CURRENCY = {"ar": "ريال", "en": "SAR"}


def _named(table: dict[str, dict[str, str]]) -> Any:
    def name(code: str, language: Language) -> str:
        return table.get(code, {}).get(language) or code.replace("_", " ")

    return name


def money(value: str | None, language: Language) -> str:
    if value is None:
        return "-"
    try:
        amount = Decimal(value)
    except InvalidOperation:
        return value
    return f"{amount:,.2f} {CURRENCY[language]}"


@dataclass(frozen=True)
class Sms:
    body: str
    segments: SegmentCount


@dataclass(frozen=True)
class Email:
    subject: str
    text: str
    html: str


class Renderer:
    def __init__(self, *, portal_url: str, template_dir: Path = TEMPLATE_DIR) -> None:
        self._env = Environment(
            loader=FileSystemLoader(template_dir),
            autoescape=select_autoescape(enabled_extensions=("html",), default=False),
            undefined=StrictUndefined,  # a missing field fails the render, not the citizen
            keep_trailing_newline=False,
            auto_reload=False,  # templates are part of the release: compile once, never stat
        )
        self._env.filters.update(program=_named(PROGRAMS), document=_named(DOCUMENTS), money=money)
        self._env.globals["portal_url"] = portal_url.rstrip("/")

    def _render(
        self, template: Template, language: Language, part: str, context: dict[str, Any]
    ) -> str:
        return self._env.get_template(f"{template.value}/{language}.{part}").render(context)

    def sms(self, template: Template, language: Language, context: dict[str, Any]) -> Sms:
        body = self._render(template, language, "sms.txt", context).strip()
        return Sms(body, count_segments(body))

    def email(self, template: Template, language: Language, context: dict[str, Any]) -> Email:
        context = {"name": None, **context}
        subject = " ".join(self._render(template, language, "subject.txt", context).split())
        return Email(
            subject=subject,
            text=self._render(template, language, "email.txt", context).strip() + "\n",
            html=self._render(template, language, "email.html", context),
        )
