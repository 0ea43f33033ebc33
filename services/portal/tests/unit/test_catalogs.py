"""Every text the portal shows comes from the catalogs, and Arabic has each one."""

from __future__ import annotations

import re
from pathlib import Path

from sanad.portal import catalogs, i18n

TEMPLATES = Path(i18n.__file__).parent / "templates"


def test_every_text_in_the_code_and_templates_has_its_arabic_translation() -> None:
    assert catalogs.problems() == []


def test_the_catalogs_compile_and_translate() -> None:
    assert i18n.language("ar").gettext("Sign in") == "تسجيل الدخول"
    assert i18n.language("en").gettext("Sign in") == "Sign in"
    assert i18n.language("xx").code == "ar"  # an unknown language falls back to Arabic


def test_no_template_holds_a_text_outside_the_catalogs() -> None:
    """Text between tags, or in a label/alt/title/aria-label/placeholder attribute, is a
    ``_()`` call, never a literal (numbers, symbols and the language names aside)."""
    allowed = {"English", "العربية"}
    offenders = []
    for template in TEMPLATES.glob("*.html"):
        if template.name == "forms.html":  # macros only: their texts are their arguments
            continue
        text = template.read_text()
        text = re.sub(r"{#.*?#}", "", text, flags=re.S)
        text = re.sub(r"{[{%].*?[%}]}", "", text, flags=re.S)
        for literal in re.findall(r">([^<>]+)<", text):
            stripped = literal.strip()
            if stripped not in allowed and re.search(r"[A-Za-z\u0600-\u06FF]", stripped):
                offenders.append(f"{template.name}: {stripped!r}")
        for attr in re.findall(r'(?:alt|title|aria-label|placeholder)="([^"]+)"', text):
            offenders.append(f"{template.name}: attribute {attr!r}")
    assert offenders == []


def test_amounts_and_dates_follow_the_page_language() -> None:
    i18n.use("en")
    assert i18n.fmt_money("1100") == "SAR1,100.00"  # CLDR en_GB
    assert i18n.fmt_date("2026-11-30") == "30 November 2026"
    i18n.use("ar")
    assert "ر.س" in i18n.fmt_money("1100")
    assert "نوفمبر" in i18n.fmt_date("2026-11-30")
    assert i18n.fmt_money(None) == ""
