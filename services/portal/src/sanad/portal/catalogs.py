"""``python -m sanad.portal.catalogs [update|check]``: the message catalogs kept in step
with the code.

``update`` extracts every text from the templates and the code (``babel.cfg``) and merges it
into ``locale/<lang>/LC_MESSAGES/messages.po`` (new msgids are added empty, texts no longer
used are dropped); then translate the new Arabic entries. ``check`` lists what is missing:
a msgid used but absent from a catalog, or without its Arabic translation (the unit test
runs it). The catalogs are compiled when the portal starts (``i18n.compile_catalog``).
"""

from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

from sanad.portal.i18n import LANGUAGES, LOCALE_DIR

PACKAGE_ROOT = Path(__file__).resolve().parents[3]  # services/portal
METHOD_MAP = [
    ("src/sanad/portal/**.py", "python"),
    ("src/sanad/portal/templates/**.html", "jinja2"),
]
OPTIONS = {
    "src/sanad/portal/**.py": {},
    "src/sanad/portal/templates/**.html": {"extensions": "jinja2.ext.i18n"},
}
KEYWORDS = {"_": None, "gettext": None, "N_": None, "ngettext": (1, 2)}


def extracted() -> Catalog:
    catalog = Catalog(project="sanad-portal")
    for filename, lineno, message, comments, context in extract_from_dir(
        PACKAGE_ROOT, METHOD_MAP, OPTIONS, keywords=KEYWORDS, strip_comment_tags=True
    ):
        catalog.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    return catalog


def po_path(code: str) -> Path:
    return LOCALE_DIR / code / "LC_MESSAGES" / "messages.po"


def read(code: str) -> Catalog:
    with po_path(code).open("rb") as source:
        return read_po(source, locale=code)


def update() -> None:
    template = extracted()
    for code in LANGUAGES:
        path = po_path(code)
        catalog = read(code) if path.exists() else Catalog(locale=code, project="sanad-portal")
        catalog.update(template, no_fuzzy_matching=True)
        catalog.obsolete.clear()
        with path.open("wb") as out:
            write_po(out, catalog, width=100, omit_header=False, sort_output=True)


def problems() -> list[str]:
    """Every msgid the code uses that a catalog lacks, or that Arabic leaves untranslated."""
    found: list[str] = []
    used = [m.id for m in extracted() if m.id]
    for code in LANGUAGES:
        catalog = read(code)
        for msgid in used:
            message = catalog.get(msgid)
            if message is None:
                found.append(f"{code}: missing {msgid!r}")
            elif code == "ar" and not message.string:
                found.append(f"ar: untranslated {msgid!r}")
            elif code == "ar" and message.fuzzy:
                found.append(f"ar: fuzzy {msgid!r}")
    return found


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "check"
    if command == "update":
        update()
    missing = problems()
    for line in missing:
        print(line)
    return 1 if missing and command == "check" else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
