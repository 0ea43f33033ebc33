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

from jinja2 import (
    Environment,
    FileSystemLoader,
    StrictUndefined,
    pass_context,
    select_autoescape,
)
from jinja2 import (
    Template as JinjaTemplate,
)
from jinja2.runtime import Context

from sanad.notifications.domain.planning import Template
from sanad.notifications.domain.segments import SegmentCount, count_segments
from sanad.shared.events.base import Language

TEMPLATE_DIR = Path(__file__).resolve().parent / "templates"

# Names of the catalog's seeded programs, for events that do not carry the names the catalog
# held when deciding (DecisionIssued v1/v2, CardIssued); an unknown code is shown as it is.
PROGRAMS: dict[str, dict[str, str]] = {
    "SSP-DEV": {"ar": "الضمان الاجتماعي المطور", "en": "Developed Social Security"},
    "FOOD-SUPPORT": {"ar": "دعم السلة الغذائية", "en": "Food support"},
    "ELECTRICITY-SUPPORT": {"ar": "دعم فاتورة الكهرباء", "en": "Electricity support"},
    "IQ-SPN": {"ar": "شبكة الحماية الاجتماعية", "en": "Social protection network"},
}
DOCUMENTS: dict[str, dict[str, str]] = {
    "national_id": {"ar": "الهوية الوطنية", "en": "national ID"},
    "residence_permit": {"ar": "الإقامة السارية", "en": "valid residence permit"},
    "family_register": {"ar": "سجل الأسرة", "en": "family register"},
    "proof_of_income": {"ar": "إثبات الدخل", "en": "proof of income"},
    "bank_account": {"ar": "بيانات الحساب البنكي", "en": "bank account details"},
}
CURRENCY = {"ar": "ريال", "en": "SAR"}


@pass_context
def program(context: Context, code: str, language: Language) -> str:
    """The program's name: as the event carried it (DecisionIssued v3), else the table's."""
    carried: dict[str, str] = context.get("program_names") or {}
    return carried.get(language) or str(_named(PROGRAMS)(code, language))


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
        self._env.filters.update(program=program, document=_named(DOCUMENTS), money=money)
        self._env.globals["portal_url"] = portal_url.rstrip("/")
        # Each file's compiled template, looked up once (get_template checks its own cache
        # under a lock and builds the name every time).
        self._compiled: dict[tuple[Template, str, str], JinjaTemplate] = {}

    def _render(
        self, template: Template, language: Language, part: str, context: dict[str, Any]
    ) -> str:
        key = (template, language, part)
        compiled = self._compiled.get(key)
        if compiled is None:
            name = f"{template.value}/{language}.{part}"
            compiled = self._compiled[key] = self._env.get_template(name)
        return compiled.render(context)

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
