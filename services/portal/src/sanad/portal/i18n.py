"""Languages: message catalogs (gettext .po, compiled when the process starts), the current
request's language, and dates and amounts formatted for it with Babel.

Arabic is the default and reads right to left; English is chosen on a switch the browser
remembers (the ``lang`` cookie). Every text a page shows is a msgid in the templates or
marked with ``N_`` in the code, and each has its Arabic translation in
``locale/ar/LC_MESSAGES/messages.po`` (a unit test fails on a missing one). English msgids
are the English texts, so the English catalog may leave them empty.
"""

from __future__ import annotations

import io
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_currency, format_decimal
from babel.support import Translations

LOCALE_DIR = Path(__file__).parent / "locale"
LANGUAGES = ("ar", "en")
DEFAULT_LANGUAGE = "ar"
COOKIE = "lang"
# Dates and times are shown in the Kingdom's time.
TIMEZONE = ZoneInfo("Asia/Riyadh")


def N_(message: str) -> str:
    """Mark a text for extraction; it is translated where it is shown."""
    return message


@dataclass(frozen=True)
class Language:
    code: str
    direction: str  # "rtl" | "ltr"
    babel_locale: Locale
    translations: Translations

    def gettext(self, message: str) -> str:
        return str(self.translations.gettext(message))

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return str(self.translations.ngettext(singular, plural, n))


def compile_catalog(code: str) -> Translations:
    """The language's .po compiled to a .mo in memory (no build step, no stale .mo)."""
    with (LOCALE_DIR / code / "LC_MESSAGES" / "messages.po").open("rb") as source:
        catalog = read_po(source, locale=code)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(compiled)


@cache
def language(code: str) -> Language:
    if code not in LANGUAGES:
        code = DEFAULT_LANGUAGE
    return Language(
        code=code,
        direction="rtl" if code == "ar" else "ltr",
        babel_locale=Locale.parse("ar_SA" if code == "ar" else "en_GB"),
        translations=compile_catalog(code),
    )


_current: ContextVar[Language | None] = ContextVar("portal_language", default=None)


def use(code: str) -> Language:
    """Make ``code`` the language of the request being handled."""
    chosen = language(code)
    _current.set(chosen)
    return chosen


def current() -> Language:
    return _current.get() or language(DEFAULT_LANGUAGE)


def gettext(message: str) -> str:
    return current().gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return current().ngettext(singular, plural, n)


def _as_datetime(value: str | datetime) -> datetime:
    return datetime.fromisoformat(value) if isinstance(value, str) else value


def fmt_date(value: str | date | datetime | None) -> str:
    if value in (None, ""):
        return ""
    assert value is not None
    if isinstance(value, str):
        value = datetime.fromisoformat(value) if "T" in value else date.fromisoformat(value)
    if isinstance(value, datetime):
        value = value.astimezone(TIMEZONE).date() if value.tzinfo else value.date()
    return format_date(value, format="long", locale=current().babel_locale)


def fmt_datetime(value: str | datetime | None) -> str:
    if value in (None, ""):
        return ""
    assert value is not None
    moment = _as_datetime(value)
    return format_datetime(moment, format="medium", tzinfo=TIMEZONE, locale=current().babel_locale)


def _decimal(value: object) -> Decimal | None:
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


def fmt_money(value: object, currency: str = "SAR") -> str:
    """An amount in the page's language: ``1,100.00 ر.س.‏`` / ``SAR1,100.00``."""
    amount = _decimal(value)
    if value in (None, "") or amount is None:
        return ""
    return format_currency(amount, currency, locale=current().babel_locale)


def fmt_number(value: object) -> str:
    number = _decimal(value)
    if value in (None, "") or number is None:
        return str(value or "")
    return format_decimal(number, locale=current().babel_locale)
